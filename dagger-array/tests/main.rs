//! The integration tests of dagger-array, one module per former test binary, so they link
//! once, and in [`unit`] the crate's former unit tests (the crate has no unit-test binary).
//! A test that owns process-wide state (`release.rs` asserts on the live-bytes counter,
//! which the others move) re-runs this binary on itself alone ([`alone`]).

#[path = "main/alone.rs"]
mod alone;
#[path = "main/behaviours.rs"]
mod behaviours;
#[path = "main/cyclic.rs"]
mod cyclic;
#[path = "main/datadeps_blocks.rs"]
mod datadeps_blocks;
#[path = "main/datadeps_updates.rs"]
mod datadeps_updates;
#[path = "main/fft.rs"]
mod fft;
#[path = "main/fusion_sort.rs"]
mod fusion_sort;
#[path = "main/operators.rs"]
mod operators;
#[path = "main/permute.rs"]
mod permute;
#[path = "main/release.rs"]
mod release;
#[path = "main/stencil.rs"]
mod stencil;
#[path = "main/stencil_kernel.rs"]
mod stencil_kernel;
#[path = "main/store_io.rs"]
mod store_io;
#[path = "main/structure.rs"]
mod structure;
#[path = "main/unit/mod.rs"]
mod unit;
