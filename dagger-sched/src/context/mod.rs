//! [`Context`]: the handle to a running scheduler, and the eager API (`spawn`).
//!
//! Modules, bottom to top (each blank-line separated, so formatting keeps the order):

// The value and the scheduler state its clones share.
pub(crate) mod state;

// How a context is configured and started.
mod builder;

// What a context tells and does besides spawning.
mod accessors;

// The eager API: spawning closures and registered functions.
mod spawn;

// Checkpointed tasks: restore at spawn, write after success.
mod durable;

// Task queues: datadeps regions, bulk, sequential, wait_all and sync.
mod queues;

pub use builder::ContextBuilder;
pub use state::Context;
