//! [`Kernel`]: a serializable description of every named block operation, and the generic
//! functions that run one on its input blocks.
//!
//! A block task of a named operation is "run kernel `k` on these input blocks": `k` travels
//! to whichever process runs the task (as a plain argument), the blocks come from where they
//! live, and [`run()`] / [`run_partial`] do the work. The registered entry points per element
//! type (one per arity) are in [`crate::remote`]; operations that take a user closure stay
//! closures and run in the driver process.
//!
//! This module only gathers its parts, bottom to top:
//!
//! | part | what it holds |
//! | --- | --- |
//! | [`program`] | the fused program ([`Program`], [`Op`], [`Fused`]) and running it over tiles |
//! | [`named`] | the vocabulary: [`Kernel`] and [`Moments`] |
//! | [`set`] | [`KernelSet`]: the types of one element type's registered entry points |
//! | [`interpret`] | the interpreter: [`run()`], [`run_partial`], [`run_compare`], [`run_moments`] |

pub mod interpret;
pub mod named;
pub mod program;
pub mod set;

pub use interpret::{combine_moments, run, run_compare, run_moments, run_partial};
pub use named::{Kernel, Moments};
pub use program::{Fused, Op, Program};
pub use set::KernelSet;
