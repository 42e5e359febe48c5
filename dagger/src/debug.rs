//! `debug_compute` and its kin (feature `profile`): a computation's spans recorded on the
//! driver and on every worker process, moved onto the driver's clock and merged.
//!
//! The driver side starts the workers' recording, records its own with dagger-profile and
//! collects what the workers recorded; [`ProfileTelemetry`] is the worker side, which
//! [`init`](crate::init) installs in every worker process.

use dagger_core::{Result, WorkerId};
use dagger_profile::Timespan;
use dagger_sched::{Chunk, Context, Telemetry, Thunk};

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
pub fn debug_compute<T: Send + Sync + 'static>(
    ctx: &Context,
    thunk: &Thunk<T>,
) -> (Vec<Timespan>, Result<Chunk<T>>) {
    debug_run(ctx, || thunk.compute(ctx))
}

/// [`debug_compute`] with the reference's `profile = true`: stack samples are collected per
/// span (with dagger-profile's `sampling` feature; without it samples stay empty).
pub fn debug_compute_profiled<T: Send + Sync + 'static>(
    ctx: &Context,
    thunk: &Thunk<T>,
) -> (Vec<Timespan>, Result<Chunk<T>>) {
    debug_run_with(ctx, true, || thunk.compute(ctx))
}

/// Runs `f` while recording every dagger span of this process and of the context's workers.
pub fn debug_run<R>(ctx: &Context, f: impl FnOnce() -> R) -> (Vec<Timespan>, R) {
    debug_run_with(ctx, false, f)
}

fn debug_run_with<R>(ctx: &Context, profile: bool, f: impl FnOnce() -> R) -> (Vec<Timespan>, R) {
    ctx.start_worker_recording();
    let opts = dagger_profile::RecordOptions { profile };
    let (mut events, r) = dagger_profile::record_with(&opts, f);
    for (w, bytes) in ctx.take_worker_spans() {
        if let Some((epoch, spans)) = decode_recording(w, &bytes) {
            let offset = epoch as i64 - dagger_profile::epoch_unix_ns() as i64;
            events.extend(spans.into_iter().map(|t| t.shifted(offset)));
        }
    }
    events.sort_by_key(|t| (t.start_ns, t.finish_ns));
    (events, r)
}

/// A worker's side of [`debug_compute`]: records with dagger-profile's global collector and
/// hands the spans over as JSON with this process's clock epoch.
#[derive(Debug, Default)]
pub struct ProfileTelemetry;

impl Telemetry for ProfileTelemetry {
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

/// What worker `w` recorded, as [`ProfileTelemetry`] hands it over: its clock epoch (Unix
/// ns) and its spans on that clock. `None`, with a warning, when the bytes don't decode.
pub(crate) fn decode_recording(w: WorkerId, bytes: &[u8]) -> Option<(u64, Vec<Timespan>)> {
    match serde_json::from_slice(bytes) {
        Ok(recording) => Some(recording),
        Err(e) => {
            tracing::warn!(target: "dagger", "undecodable spans from worker {w}: {e}");
            None
        }
    }
}
