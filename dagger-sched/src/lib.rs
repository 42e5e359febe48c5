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
#![warn(missing_docs)]

mod args;
mod cancel;
mod cluster;
mod context;
mod executor;
mod handle;
mod lazy;
mod observe;
mod size;
mod sync;
mod task;

pub use args::{All, Arg, Args, Dependency, IntoArg, IntoArgs, Val, ValuesOf};
pub use cancel::{current_task, is_cancelled, sleep};
pub use cluster::{
    invoke, live_value, local_piece, myid, pinned_count, postcard_codec, registered_names, serve,
    set_default_transport, set_result_store_factory, set_telemetry, ArgRef, ArgValue, DecodeArgs,
    ItemRef, LineageArg, LiveInvoke, MemoryResults, Pinned, Recompute, Registered, Registration,
    RemoteArg, RemoteArgs, ResultStoreFactory, Site, Telemetry, TransportFactory, WorkerProgram,
};
pub use context::{Context, ContextBuilder};
pub use dagger_core::{Error, Options, Result, Scope, ScopeSpec};
pub use executor::current_processor;
pub use handle::{fetch_all, Chunk, DTask, FetchAll};
pub use lazy::{
    delayed, delayed_fn, delayed_fn_with, delayed_meta, delayed_with, AnyThunk, IntoLazyArg,
    IntoLazyArgs, IntoMetaArgs, LazyArg, LazyArgs, LazyValuesOf, Memo, Meta, MetaThunk, Thunk,
};
pub use observe::{set_default_observer, Observer, TaskEvent, TaskEventKind};
pub use size::{register_size, size_of_value};

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
