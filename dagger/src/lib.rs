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

/// Profiling (feature `profile`): see the `dagger-profile` crate.
#[cfg(feature = "profile")]
pub use dagger_profile as profile;

/// Storage (feature `disk`): see the `dagger-storage` crate.
#[cfg(feature = "disk")]
pub use dagger_storage as storage;
#[cfg(feature = "disk")]
mod results;
pub use dagger_core::{ResultStats, ResultStore};
#[cfg(feature = "disk")]
pub use results::PoolResults;

mod peaks;
pub use peaks::{own_peak_rss, peak_rss, WorkerPeak, WorkerPeaks};

/// Transports (feature `tcp`): see the `dagger-transport` crate.
#[cfg(feature = "tcp")]
pub use dagger_transport as transports;

/// Pinned mutable state (feature `shard`): see the `dagger-shard` crate.
#[cfg(feature = "shard")]
pub use dagger_shard as shard;
#[cfg(feature = "shard")]
pub use dagger_shard::{
    mutable, mutable_in, mutable_on, mutable_with, shard_on, Mutable, MutableOptions, RemoteShard,
    Shard, ShardOptions,
};

/// Blocked dense and sparse arrays (feature `array`): see the `dagger-array` crate.
#[cfg(feature = "array")]
pub use dagger_array as array;

/// The live dashboard (feature `dashboard`): see the `dagger-dashboard` crate.
#[cfg(feature = "dashboard")]
pub use dagger_dashboard as dashboard;
#[cfg(feature = "dashboard")]
mod watch;
#[cfg(feature = "dashboard")]
pub use watch::{
    dashboard_from_env, feed_dashboard, feed_gauges, global_dashboard, global_dashboard_on, watch,
    with_dashboard, DashboardExt, GaugeFeed, GAUGE_PERIOD,
};

#[cfg(feature = "tcp")]
mod process;
#[cfg(feature = "tcp")]
pub use process::{init, TcpTransport};

/// Computes `thunk` while recording every dagger span, as the reference's `debug_compute`:
/// returns the timespans and the result. On a cluster the workers record too and their
/// spans are moved onto this process's clock and merged in.
///
/// ```
/// use dagger::{debug_compute, delayed, Context};
/// let ctx = Context::builder().threads(2).build();
/// let a = delayed(|(x,)| x * 2, (21i64,));
/// let (events, result) = debug_compute(&ctx, &a);
/// assert_eq!(result.unwrap().collect().unwrap(), 42);
/// assert!(events.iter().any(|e| e.category == "compute"));
/// println!("{}", dagger::profile::summarize_events(&events));
/// ```
#[cfg(feature = "profile")]
pub fn debug_compute<T: Send + Sync + 'static>(
    ctx: &Context,
    thunk: &Thunk<T>,
) -> (Vec<dagger_profile::Timespan>, Result<Chunk<T>>) {
    debug_run(ctx, || thunk.compute(ctx))
}

/// [`debug_compute`] with the reference's `profile = true`: stack samples are collected per
/// span (with dagger-profile's `sampling` feature; without it samples stay empty).
#[cfg(feature = "profile")]
pub fn debug_compute_profiled<T: Send + Sync + 'static>(
    ctx: &Context,
    thunk: &Thunk<T>,
) -> (Vec<dagger_profile::Timespan>, Result<Chunk<T>>) {
    debug_run_with(ctx, true, || thunk.compute(ctx))
}

/// Runs `f` while recording every dagger span of this process and of the context's workers.
#[cfg(feature = "profile")]
pub fn debug_run<R>(ctx: &Context, f: impl FnOnce() -> R) -> (Vec<dagger_profile::Timespan>, R) {
    debug_run_with(ctx, false, f)
}

#[cfg(feature = "profile")]
fn debug_run_with<R>(
    ctx: &Context,
    profile: bool,
    f: impl FnOnce() -> R,
) -> (Vec<dagger_profile::Timespan>, R) {
    ctx.start_worker_recording();
    let opts = dagger_profile::RecordOptions { profile };
    let (mut events, r) = dagger_profile::record_with(&opts, f);
    for (_, bytes) in ctx.take_worker_spans() {
        match serde_json::from_slice::<(u64, Vec<dagger_profile::Timespan>)>(&bytes) {
            Ok((epoch, spans)) => {
                let offset = epoch as i64 - dagger_profile::epoch_unix_ns() as i64;
                events.extend(spans.into_iter().map(|t| t.shifted(offset)));
            }
            Err(e) => tracing::warn!(target: "dagger", "undecodable worker spans: {e}"),
        }
    }
    events.sort_by_key(|t| (t.start_ns, t.finish_ns));
    (events, r)
}

/// A worker's side of [`debug_compute`]: records with dagger-profile's global collector and
/// hands the spans over as JSON with this process's clock epoch.
#[cfg(feature = "profile")]
#[derive(Debug, Default)]
pub struct ProfileTelemetry;

#[cfg(feature = "profile")]
impl dagger_sched::Telemetry for ProfileTelemetry {
    fn start(&self) {
        dagger_profile::install_global();
        let _ = dagger_profile::global().take();
        dagger_profile::global().start();
    }

    fn take(&self) -> bytes::Bytes {
        let c = dagger_profile::global();
        c.stop();
        let spans = c.take();
        serde_json::to_vec(&(dagger_profile::epoch_unix_ns(), spans))
            .unwrap_or_default()
            .into()
    }
}
