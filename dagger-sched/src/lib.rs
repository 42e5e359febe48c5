//! # dagger-sched
//!
//! The scheduler of dagger-rs: the task graph, the executor, [`Context`], the eager API
//! ([`Context::spawn`] → [`DTask`], `fetch`, `wait`, `cancel`, [`fetch_all`],
//! [`Context::sync`]) and the lazy API ([`delayed`] → [`Thunk`], `compute` → [`Chunk`],
//! `collect`).
//!
//! ```
//! use dagger_sched::{delayed, Context};
//! let ctx = Context::local();
//! // eager
//! let a = ctx.spawn(|(x,)| x + x, (2,));
//! let b = ctx.spawn(|(x,)| [x, 1, 2].iter().sum::<i32>(), (2,));
//! let c = ctx.spawn(|(a, b)| a * b, (&a, &b));
//! assert_eq!(c.fetch().unwrap(), 20);
//! // lazy
//! let a = delayed(|(x,)| x + x, (2,));
//! let b = delayed(|(x,)| [x, 1, 2].iter().sum::<i32>(), (2,));
//! let c = delayed(|(a, b)| a * b, (&a, &b));
//! assert_eq!(c.collect(&ctx).unwrap(), 20);
//! ```
//!
//! A lazy thunk is not an eager argument (the reference raises when one is mixed into an
//! eager spawn; here it does not compile):
//!
//! ```compile_fail
//! use dagger_sched::{delayed, Context};
//! let ctx = Context::local();
//! let a = delayed(|(x,)| x + 1, (1i64,));
//! let b = ctx.spawn(|(a,)| a + 1, (&a,));
//! ```

// Modules, bottom to top: each imports only modules listed above it (checked by
// `scripts/check-layers.py`). Blank lines keep `rustfmt` from sorting them.

// The hasher of maps keyed by id counters.
mod id_hash;

// Deep sizes of values, by type (chunk metadata and the placement cost).
mod size;

// Task events and the observers that hear them.
mod observe;

// Stable keys of task lineages (what checkpoints are stored under).
mod lineage_key;

// Where data is and how to reach it: Site, Location, ArgRef, Recompute.
mod site;

// One task: header, typed cell, dependency, parking, the current task.
mod task;

// The per-process thread pool that runs ready tasks.
mod executor;

// Cooperative cancellation from inside a running task.
mod cancel;

// Handles to results: DTask and Chunk.
mod handle;

// Declared accesses as tasks carry them, and the permits taken on their objects.
mod access;

// Task arguments: plain values, handles, lists, meta inputs.
mod args;

// The datadeps planner: declared accesses in, dependencies out (pure).
mod plan;

// Data: values read and written in place; In, Out, InOut.
mod data;

// Task queues: wait_all, bulk, sequential, datadeps regions.
mod queue;

// The driver's side of a cluster and the vocabulary it shares with workers.
mod cluster;

// Durable runs: checkpoint files, the checkpoint store's I/O and counters.
pub mod checkpoint;

// Context: builder, accessors, the eager API.
mod context;

// The lazy API: thunks computed on demand.
mod lazy;

// The worker's serve loop (runs its tasks on a Context of its own).
mod worker;

/// The graphs of the core's overhead benchmarks (the quick example and `cargo xtask bench
/// tasks` share them); not part of the API.
#[doc(hidden)]
pub mod testing;

// The user API.
pub use args::{All, Meta, Val};
pub use cancel::{current_task, is_cancelled, sleep};
pub use cluster::{
    local_piece, pinned_count, registered_names, Pinned, PinnedView, Registered, TransferStats,
};
pub use context::{Context, ContextBuilder};
pub use dagger_core::{Error, Options, Result, Scope, ScopeSpec};
pub use data::{Data, DataMut, DataRef, In, InOut, Out, View};
pub use executor::current_processor;
pub use handle::{fetch_all, Chunk, DTask, FetchAll};
pub use lazy::{
    delayed, delayed_meta, delayed_registered, delayed_registered_with, delayed_with, MetaThunk,
    Thunk,
};
// The former names of `delayed_registered{,_with}`, kept so that old programs compile.
#[allow(deprecated)]
pub use lazy::{delayed_fn, delayed_fn_with};
pub use observe::{set_default_observer, Observer, TaskEvent, TaskEventKind};
pub use site::Site;
pub use size::{register_size, size_of_value};
pub use worker::myid;

// The argument traits: the bounds of `spawn`, `delayed` and their kin, for code generic
// over what it passes.
pub use args::{Arg, Args, IntoArg, IntoArgs, ValuesOf};
pub use lazy::{IntoLazyArg, IntoLazyArgs, IntoMetaArgs, LazyArg, LazyArgs, LazyValuesOf};

// Process-wide extension points, installed once per process (the `dagger` facade installs
// TCP, the profiler's telemetry and the spilling result store; `dagger::init` calls `serve`
// in a worker process).
pub use cluster::{
    live_value, postcard_codec, set_default_transport, set_prelaunched_workers,
    set_result_store_factory, set_telemetry, MemoryResults, ResultStoreFactory, Telemetry,
    TransportFactory, WorkerProgram,
};
pub use worker::serve;

// Plumbing, exported at these paths because sibling crates and macro expansions name them:
// `register!` expands to `Registration`, `invoke` and `ArgValue`; crates that add argument
// kinds (dagger-shard's sharded values, dagger-array's lazy graph) implement `Arg`/`LazyArg`
// with `Dependency`, `AnyThunk` and `Memo`; the rest is what registered-function arguments
// travel as. Not part of the user API.
#[doc(hidden)]
pub use cluster::{
    invoke, ArgValue, DecodeArgs, LineageArg, LiveInvoke, Registration, RemoteArg, RemoteArgs,
};
#[doc(hidden)]
pub use lazy::{AnyThunk, Memo, ThunkArg};

/// Streaming stages on worker processes: the per-process hub of edges that cross processes,
/// and what a stage for a worker is made of (plumbing for `dagger-stream`).
#[doc(hidden)]
pub mod stream_wire {
    pub use crate::cluster::{
        batch_items, BatchBuf, Hub, InEdge, InMsg, OnEnd, OutEdge, OutSpec, Returns, SendStop,
        SpecArg, StageSpec, StageStats,
    };
}
#[doc(hidden)]
pub use site::{ArgRef, ItemRef, Recompute};
#[doc(hidden)]
pub use task::Dependency;

/// The datadeps vocabulary for crates that add objects of their own (a DArray block, a
/// pinned `mutable`): what an argument declares, the lock it is taken through, and the
/// region's pure planner.
pub mod datadeps {
    pub use crate::access::{take_permit, Declared, ObjectLock};
    pub use crate::data::{new_object_id, Tracked, View};
    pub use crate::plan::{Planner, Preds};
    pub use dagger_core::{Access, Extent, Mode, ObjectId};
}
#[doc(hidden)]
pub use cluster::PinnedAccess;
#[doc(hidden)]
pub use data::{Immutable, ReadArg, WriteArg};

/// Items the [`register!`] macro expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::cluster::{
        arity, decode_arg, invoke, missing_arg, ArgValue, LiveArg, LiveRet, ViaClone, ViaCodec,
        ViaEncoded, ViaLive,
    };
    pub use bytes::Bytes;
    pub use dagger_core::LiveValue;
    pub use inventory;
    pub use paste::paste;
}
