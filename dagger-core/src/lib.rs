//! # dagger-core
//!
//! The vocabulary of dagger-rs and every trait through which the system is extended.
//! This crate depends on no sibling: schedulers, transports, stores and array libraries
//! all speak in the types defined here.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`ids`] | [`WorkerId`], [`TaskId`], [`ChunkId`], [`NodeId`] |
//! | [`processor`] | [`ProcessorId`], [`ProcessorKind`] and the [`Processor`] trait |
//! | [`scope`] | the [`Scope`] algebra (`constrain`, `is_subset`) and the [`scope()`](scope::ScopeSpec) builder |
//! | [`options`] | task [`Options`] |
//! | [`error`] | the one [`Error`] type |
//! | [`transport`] | the [`Transport`] trait (frames between processes) |
//! | [`store`] | the [`ChunkStore`] trait (bytes at rest) |
//! | [`codec`] | the [`Codec`] trait (values ↔ bytes) |
//! | [`partition`] | the [`Partitioning`] trait (splitting an index space into blocks) |
//!
//! ```
//! use dagger_core::{Scope, ProcessorId};
//! let t = ProcessorId::thread(2.into(), 1);
//! let s = Scope::Default.constrain(&Scope::Exact(t));
//! assert_eq!(s, Scope::Exact(t));
//! ```
#![warn(missing_docs)]

pub mod codec;
pub mod error;
pub mod ids;
pub mod options;
pub mod partition;
pub mod processor;
pub mod scope;
pub mod store;
pub mod transport;

pub use codec::Codec;
pub use error::{Error, Failure, Result};
pub use ids::{ChunkId, NodeId, TaskId, WorkerId};
pub use options::Options;
pub use partition::Partitioning;
pub use processor::{Processor, ProcessorId, ProcessorInfo, ProcessorKind};
pub use scope::{Scope, ScopeSpec, Selector};
pub use store::{AnyValue, ChunkStore, LiveValue, ResultStats, ResultStore, StoreKey, ValueCodec};
pub use transport::{Connection, FrameReceiver, FrameSender, Transport, TransportListener};
