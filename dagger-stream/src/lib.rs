//! # dagger-stream
//!
//! Streaming tasks (Dagger.jl's `spawn_streaming`): long-lived stages that pass a stream of
//! values along bounded, batched edges, with back-pressure, order kept per edge, fan-out,
//! fan-in, and teardown of the whole pipeline when a stage fails or the region is
//! cancelled.
//!
//! ```
//! use dagger_sched::Context;
//! use dagger_stream::StreamingExt;
//! let ctx = Context::local();
//! let sum = ctx
//!     .streaming(|s| {
//!         let src = s.source(0..100_000u64);
//!         let a = s.spawn(|(x, k)| x + k, (&src, 1u64)); // a constant argument
//!         let b = s.spawn(|(x,)| x * 2, (&a,));
//!         s.fold(&b, 0u64, |acc, x| acc + x)
//!     })
//!     .unwrap();
//! assert_eq!(sum.fetch().unwrap(), (1..=100_000u64).map(|x| 2 * x).sum::<u64>());
//! ```

// Modules, bottom to top: each imports only modules listed above it (checked by
// `scripts/check-layers.py`). Blank lines keep `rustfmt` from sorting them.

// Per-stage options: buffers, batch size, name, bound on evaluations.
mod options;

// The region's shared state: cancel flag, root cause, running stages.
mod control;

// One edge: a bounded channel of batches with a count of its items.
mod edge;

// Edges that cross a process: the driver's ends, through its streaming hub.
mod wire;

// A stage's fan-out: batches gathered for every consumer and sent together.
mod output;

// The handle to a stage: StreamTask.
mod handle;

// Stage arguments: streams and constants, and tuples of them.
mod input;

// One stage running: Step, its loop, its result.
mod stage;

// The region: spawning stages, launching and awaiting them.
mod region;

// Registered stages, here or placed on worker processes.
mod workers;

pub use control::{is_cancelled, running_stages, Canceller};
pub use handle::StreamTask;
pub use input::{Input, Inputs, RemoteStreamArg, RemoteStreamArgs, StreamArg, StreamArgs};
pub use options::StreamOptions;
pub use region::{streaming, streaming_with, Streaming, StreamingExt};
pub use stage::{finish, IntoStep, Step};
pub use workers::running_stages_on;

/// The types the argument traits name; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::control::Control;
    pub use crate::edge::{EdgeRx, Next};
    pub use crate::input::{Const, StreamIn, Unwired, Wiring};
    pub use crate::wire::RemoteRx;
}
