//! # dagger
//!
//! The facade of dagger-rs, a Rust implementation of the model of Julia's Dagger.jl:
//! directed acyclic graphs of tasks on threads, processes and machines. Depend on this crate
//! and enable the features you need.
//!
//! ```
//! use dagger::{delayed, Context};
//! let ctx = Context::local();
//! let p = delayed(|(x,)| x + 1, (42,));
//! let q = delayed(|(p,)| p * 2, (&p,));
//! assert_eq!(q.collect(&ctx).unwrap(), 86);
//! ```
//!
//! ## What it re-exports
//!
//! The root holds what programs use: [`Context`] and its builder, the eager API
//! ([`Context::spawn`] → [`DTask`], [`fetch_all`], [`All`], [`Val`]), the lazy API
//! ([`delayed`] → [`Thunk`] → [`Chunk`]), task [`Options`] and [`Scope`]s, the one [`Error`],
//! [`register!`] for functions other processes run, [`init`] for `main`, and with feature
//! `shard` the pinned mutable state ([`mutable`], [`Shard`]). Everything else is in a module
//! named for its topic:
//!
//! | module | what it holds | from |
//! | --- | --- | --- |
//! | [`ids`], [`processor`], [`scope`], [`error`], [`codec`], [`partition`] | the vocabulary | `dagger-core` |
//! | [`args`] | the traits behind argument tuples and `fetch_all` | `dagger-sched` |
//! | [`observe`] | observers of task events | `dagger-sched` |
//! | [`remote`] | registered functions, remote arguments, live and pinned values | `dagger-sched` |
//! | [`memory`] | value sizes, worker memory peaks | `dagger-sched` + this crate |
//! | [`transport`] | the `Transport` trait; TCP and in-process transports (`tcp`) | `dagger-core` + `dagger-transport` |
//! | [`storage`] | the `ChunkStore`/`ResultStore` traits; stores, codecs, the spilling pool (`disk`) | `dagger-core` + `dagger-storage` |
//! | [`cluster`] | worker processes: what [`init`] installs and runs | `dagger-sched` + this crate |
//! | [`checkpoint`] | durable runs: lineage keys, checkpoint files, restore counters | `dagger-sched` + `dagger-storage` |
//! | `profile` (feature `profile`) | timespans, summaries, traces, pictures | `dagger-profile` |
//! | `shard` (feature `shard`) | pinned mutable state | `dagger-shard` |
//! | `array` (feature `array`) | blocked dense and sparse arrays | `dagger-array` |
//! | `dashboard` (feature `dashboard`) | the live web dashboard | `dagger-dashboard` + this crate |
//!
//! ## What it adds
//!
//! A little code of its own, where crates meet: [`init`] (the process model: a worker
//! process serves, a driver installs TCP), [`debug_compute`] and its kin (spans recorded on
//! the driver and every worker, on one clock), [`memory::WorkerPeaks`], the spilling result
//! store [`storage::PoolResults`], [`transport::TcpTransport`], and the dashboard's set-up
//! and feeds (`with_dashboard`, `DashboardExt`, `dashboard::watch`).
//!
//! Paths of earlier versions (`dagger::WorkerPeaks`, `dagger::transports`, `dagger::store`,
//! the scheduler's plumbing at the root) still compile; they are hidden from these pages.

// The crate's modules, bottom to top: a module imports only from modules above it in this list.
// Worker processes' memory peaks, polled; value sizes.
pub mod memory;
// Argument and result traits of `spawn`, `delayed` and `fetch_all`.
pub mod args;
// Observers of task events.
pub mod observe;
// Registered functions, remote arguments, live and pinned values.
pub mod remote;
// One transport module: the trait and, with `tcp`, the transports and `TcpTransport`.
pub mod transport;
// One storage module: the traits and, with `disk`, the stores, pool and `PoolResults`.
pub mod storage;
// `debug_compute` & co and the worker side of recording, `ProfileTelemetry`.
#[cfg(feature = "profile")]
mod debug;
// The live dashboard: the crate, its set-up for builders, and feeds from workers.
#[cfg(feature = "dashboard")]
pub mod dashboard;
// Worker processes: the factories and entry points `init` uses.
pub mod cluster;
// Durable runs: checkpoint and restore task results (and, with `disk`, a store for them).
pub mod checkpoint;
// `init()`, the first line of every program's `main`.
#[cfg(feature = "tcp")]
mod init;

pub use dagger_core::{codec, error, ids, partition, processor, scope};
pub use dagger_core::{Error, Options, Result, Scope, ScopeSpec, WorkerId};
/// Datadeps regions' vocabulary: views, declared accesses, the planner.
pub use dagger_sched::datadeps;
pub use dagger_sched::{
    current_processor, current_task, delayed, delayed_meta, delayed_registered,
    delayed_registered_with, delayed_with, fetch_all, is_cancelled, myid, register, sleep, All,
    Chunk, Context, ContextBuilder, DTask, Data, DataMut, DataRef, In, InOut, Meta, Out, Thunk,
    Val, WorkerProgram,
};

#[cfg(feature = "profile")]
pub use debug::{debug_compute, debug_compute_profiled, debug_run};
#[cfg(feature = "tcp")]
pub use init::init;

/// Profiling (feature `profile`): the `dagger-profile` crate.
#[cfg(feature = "profile")]
pub use dagger_profile as profile;

/// Pinned mutable state (feature `shard`): the `dagger-shard` crate.
#[cfg(feature = "shard")]
pub use dagger_shard as shard;
#[cfg(feature = "shard")]
pub use dagger_shard::{
    mutable, mutable_in, mutable_on, mutable_with, shard_on, shard_with, Mutable, MutableOptions,
    Shard, ShardOptions,
};

/// Blocked dense and sparse arrays (feature `array`): the `dagger-array` crate.
#[cfg(feature = "array")]
pub use dagger_array as array;

/// Dense linear algebra (feature `linalg`): the `dagger-linalg` crate.
#[cfg(feature = "linalg")]
pub use dagger_linalg as linalg;

/// Streaming tasks (feature `stream`): the `dagger-stream` crate (`ctx.streaming(|s| ...)`
/// with `dagger::stream::StreamingExt` in scope).
#[cfg(feature = "stream")]
pub use dagger_stream as stream;

#[cfg(feature = "dashboard")]
#[doc(inline)]
pub use dashboard::{with_dashboard, DashboardExt};

/// Wire-level plumbing of remote tasks, for code that implements its own remote argument
/// types or entry points; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use dagger_core;
    pub use dagger_sched;
    pub use dagger_sched::{
        invoke, ArgRef, ArgValue, DecodeArgs, ItemRef, LineageArg, LiveInvoke, Memo, Recompute,
        Registration,
    };
}

// Paths of earlier versions, kept compiling and hidden from the docs: the scheduler's whole
// root, the names the root had from dagger-core, and the modules since merged or renamed.
#[doc(hidden)]
pub use dagger_core::{
    options, store, ChunkId, ChunkStore, Codec, Failure, NodeId, Partitioning, Processor,
    ProcessorId, ProcessorInfo, ProcessorKind, ResultStats, ResultStore, Selector, StoreKey,
    TaskId, Transport,
};
#[doc(hidden)]
pub use dagger_sched::*;
#[cfg(feature = "shard")]
#[doc(hidden)]
pub use dagger_shard::RemoteShard;
#[cfg(feature = "tcp")]
#[doc(hidden)]
pub use dagger_transport as transports;
#[cfg(feature = "dashboard")]
#[doc(hidden)]
pub use dashboard::{
    dashboard_from_env, feed_dashboard, feed_gauges, global_dashboard, global_dashboard_on, watch,
    GaugeFeed, GAUGE_PERIOD,
};
#[cfg(feature = "profile")]
#[doc(hidden)]
pub use debug::ProfileTelemetry;
#[doc(hidden)]
pub use memory::{own_peak_rss, peak_rss, WorkerPeak, WorkerPeaks};
#[cfg(feature = "disk")]
#[doc(hidden)]
pub use storage::PoolResults;
#[cfg(feature = "tcp")]
#[doc(hidden)]
pub use transport::TcpTransport;

/// The examples of `docs/from-dagger-jl.md` (Dagger.jl's array API beside dagger-rs's), run
/// as this crate's doc tests.
#[cfg(all(doctest, feature = "array"))]
#[doc = include_str!("../../docs/from-dagger-jl.md")]
pub struct FromDaggerJl;
