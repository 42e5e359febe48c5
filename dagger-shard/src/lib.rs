//! # dagger-shard
//!
//! Pinned mutable state for dagger-rs: the reference's `@mutable` and `Shard`.
//!
//! Tasks are normally pure: they read their inputs and return a new value. Some codes want a
//! counter, a partial-reduction buffer or a cache that many tasks update in place. This crate
//! gives such state a home:
//!
//! | item | what it is |
//! | --- | --- |
//! | [`mutable()`] / [`mutable_with`] + [`MutableOptions`] | one value, constructed on its target processor and never copied; every task that takes it runs within its scope |
//! | [`Mutable`] | the handle to such a value (a pinned chunk) |
//! | [`shard_with`] / [`shard()`] + [`ShardOptions`] | one piece per worker, or per thread processor, each constructed where it lives |
//! | [`Shard`] | the handle: a task taking it receives the piece local to where it runs; [`Shard::map`] runs once per piece |
//! | [`mutable_on`], [`mutable_in`], [`shard_on`] + [`RemoteShard`] | the same on worker processes, with a registered constructor returning a `Pinned<T>` |
//! | [`bench`](mod@bench) | the shard-vs-mutex benchmark (`bench_shard`) |
//!
//! Everything is phrased per worker and per processor (a piece per `WorkerId`, or per thread
//! processor, read from the context's universe), so the same API covers remote workers once
//! the scheduler runs tasks there; today constructors are closures, which run only in the
//! process that made them, so a selection naming another worker fails with a
//! `SchedulingError` from its constructor task.
//!
//! Values are shared, not copied: a piece lives in an `Arc<T>` and tasks receive a clone of
//! that `Arc`, so `T` must be `Send + Sync` and use interior mutability (atomics, a `Mutex`).
//!
//! ```
//! use dagger_sched::{fetch_all, Context};
//! use dagger_shard::{shard_with, ShardOptions};
//! use std::sync::atomic::{AtomicI64, Ordering};
//!
//! let ctx = Context::builder().threads(2).build();
//! // A local counter for each thread processor.
//! let cs = shard_with(&ctx, ShardOptions::new().per_thread(true), || AtomicI64::new(0)).unwrap();
//! // Add 1 to whichever counter is local to the task, 1000 times.
//! let ts: Vec<_> = (0..1000)
//!     .map(|_| ctx.spawn(|(c,)| { c.fetch_add(1, Ordering::Relaxed); }, (&cs,)))
//!     .collect();
//! fetch_all(&ts).unwrap();
//! // One task per piece reads its counter; the results are reduced here.
//! let parts = cs.map(&ctx, |c| c.load(Ordering::Relaxed));
//! assert_eq!(fetch_all(&parts).unwrap().iter().sum::<i64>(), 1000);
//! ```
// Bottom to top: each module imports only from the ones listed before it.
// Checking and scoping targets: workers, processors, their scopes.
mod target;
// `mutable`: one pinned value.
mod mutable;
// `Shard`: a pinned piece per worker or per thread processor.
mod shard;
// The same on worker processes, with registered constructors.
mod remote;
// The shard-vs-mutex benchmark.
pub mod bench;

pub use mutable::{mutable, mutable_with, Mutable, MutableArg, MutableOptions};
pub use remote::{mutable_in, mutable_on, shard_on, RemoteShard};
pub use shard::{shard_with, Shard, ShardArg, ShardOptions};
// The former form of `shard_with` (options after the closure), kept so old programs compile.
#[allow(deprecated)]
pub use shard::shard;
