//! # dagger
//!
//! The facade of dagger-rs, a Rust implementation of the model of Julia's Dagger.jl:
//! directed acyclic graphs of tasks on threads, processes and machines. Depend on this crate
//! and enable the features you need; every item is re-exported from the crate that owns it.
//!
//! ```
//! use dagger::{delayed, Context};
//! let ctx = Context::local();
//! let p = delayed(|(x,)| x + 1, (42,));
//! let q = delayed(|(p,)| p * 2, (&p,));
//! assert_eq!(q.collect(&ctx).unwrap(), 86);
//! ```
#![warn(missing_docs)]

pub use dagger_core::{
    codec, error, ids, options, partition, processor, scope, store, transport, ChunkId, ChunkStore,
    Codec, Error, Failure, NodeId, Options, Partitioning, Processor, ProcessorId, ProcessorInfo,
    ProcessorKind, Result, Scope, ScopeSpec, Selector, StoreKey, TaskId, Transport, WorkerId,
};
pub use dagger_sched::*;
