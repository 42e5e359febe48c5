//! # dagger-core
//!
//! The vocabulary of dagger-rs and every trait through which the system is extended.
//! This crate depends on no sibling: schedulers, transports, stores and array libraries
//! all speak in the types defined here.
//!
//! Its modules form a stack, listed from the bottom up: each imports only from the ones
//! listed before it.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`ids`] | [`WorkerId`], [`TaskId`], [`ChunkId`], [`NodeId`] |
//! | [`error`] | the one [`Error`] type |
//! | [`access`] | what a datadeps task declares: [`Access`] = [`ObjectId`] + [`Extent`] + [`Mode`] |
//! | [`processor`] | [`ProcessorId`], [`ProcessorKind`] and the [`Processor`] trait |
//! | [`scope`] | the [`Scope`] algebra (`constrain`, `is_subset`) and the [`scope()`](scope::ScopeSpec) builder |
//! | [`options`] | task [`Options`] |
//! | [`codec`] | the [`Codec`] trait (values ↔ bytes) |
//! | [`partition`] | the [`Partitioning`] trait (splitting an index space into blocks) |
//! | [`store`] | the [`ChunkStore`] trait (bytes at rest) and the [`ResultStore`] trait (a worker's results) |
//! | [`transport`] | the [`Transport`] trait (frames between processes) |
//!
//! ```
//! use dagger_core::{Scope, ProcessorId};
//! let t = ProcessorId::thread(2.into(), 1);
//! let s = Scope::Default.constrain(&Scope::Exact(t));
//! assert_eq!(s, Scope::Exact(t));
//! ```
// Bottom to top: each module imports only from the ones listed before it.
// Plain ids: workers, tasks, chunks, nodes.
pub mod ids;
// The one error type (names ids).
pub mod error;
// Declared accesses: objects, extents, modes.
pub mod access;
// Processors and their kinds.
pub mod processor;
// Scopes: where a task may run.
pub mod scope;
// Task options (a scope, a name, flags).
pub mod options;
// Values to bytes and back.
pub mod codec;
// Splitting an index space into blocks.
pub mod partition;
// Bytes at rest, and a worker's results.
pub mod store;
// Frames between processes.
pub mod transport;

pub use access::{Access, Extent, Mode, ObjectId};
pub use codec::Codec;
pub use error::{Error, Failure, Result};
pub use ids::{ChunkId, NodeId, TaskId, WorkerId};
pub use options::Options;
pub use partition::Partitioning;
pub use processor::{Processor, ProcessorId, ProcessorInfo, ProcessorKind};
pub use scope::{Scope, ScopeSpec, Selector};
pub use store::{AnyValue, ChunkStore, LiveValue, ResultStats, ResultStore, StoreKey, ValueCodec};
pub use transport::{Connection, FrameReceiver, FrameSender, Transport, TransportListener};

// ---- Tests of the public API (written as a user writes them, `use dagger_core::…`). ----

#[cfg(test)]
extern crate self as dagger_core;

#[cfg(test)]
mod tests;
