//! Feeding a dashboard from a context's worker processes: their memory gauges and, while a
//! browser watches, their task spans and transfers.

use super::start::global_dashboard;
use dagger_dashboard::{DashboardHandle, Gauges};
use dagger_sched::Context;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often gauge feeds started by this module sample the workers.
pub const GAUGE_PERIOD: Duration = Duration::from_millis(250);

/// Feeds the process-wide dashboard from `ctx`'s workers (see [`feed_dashboard`]); `None`
/// if no process-wide dashboard runs. Stops when dropped.
pub fn watch(ctx: &Context) -> Option<GaugeFeed> {
    global_dashboard().map(|d| feed_dashboard(ctx, d.handle(), GAUGE_PERIOD))
}

/// Feeds `dash` from `ctx`'s worker processes until the returned guard is dropped: every
/// `period` each worker's memory in use and spilled bytes and, while a browser watches
/// (and with the `profile` feature), what the workers record: their task executions go to
/// the task stream (the driver's own tasks are there already) and their fetches of data from
/// peers to the transfers panel (count per pair of workers; bytes once the scheduler's
/// transfer spans carry them).
///
/// Recording on workers costs a little per remote task, so it is on only while someone
/// watches. It uses the same worker recording as [`debug_compute`](crate::debug_compute):
/// don't run both on one context at once.
pub fn feed_dashboard(ctx: &Context, dash: DashboardHandle, period: Duration) -> GaugeFeed {
    let ctx = ctx.clone();
    GaugeFeed::spawn("dagger-dashboard-feed", move |stop| {
        let gauges = dash.gauges();
        #[cfg_attr(not(feature = "profile"), allow(unused_mut))]
        let mut recording = false;
        while !stop.load(Ordering::Acquire) {
            sample_memory(&ctx, &gauges);
            #[cfg(feature = "profile")]
            {
                if recording {
                    spans::feed(&dash, ctx.take_worker_spans());
                }
                recording = dash.watched();
                if recording {
                    ctx.start_worker_recording();
                }
            }
            std::thread::park_timeout(period);
        }
        if recording {
            // Stop the workers' recording; what they hold is no longer wanted.
            let _ = ctx.take_worker_spans();
        }
    })
}

/// Each live worker's memory in use and spilled bytes, onto `gauges`.
fn sample_memory(ctx: &Context, gauges: &Gauges) {
    for w in ctx.live_workers().into_iter().skip(1) {
        if let Ok(st) = ctx.worker_stats(w) {
            gauges.set_memory(w, st.memory_bytes, st.spilled_bytes);
        }
    }
}

/// Worker recordings into the dashboard.
#[cfg(feature = "profile")]
mod spans {
    use crate::debug::decode_recording;
    use dagger_dashboard::{DashboardHandle, ExternalSpan};
    use dagger_profile::category;

    /// Feeds what each worker recorded: `compute` spans to the task stream, `comm` spans to
    /// the transfers panel. Undecodable recordings are skipped.
    pub(super) fn feed(
        dash: &DashboardHandle,
        recordings: Vec<(dagger_core::WorkerId, bytes::Bytes)>,
    ) {
        let gauges = dash.gauges();
        for (w, bytes) in recordings {
            let Some((epoch, spans)) = decode_recording(w, &bytes) else {
                continue;
            };
            let mut out = Vec::new();
            for t in spans {
                if t.category == category::COMPUTE {
                    out.push(ExternalSpan {
                        processor: t.timeline,
                        task: t.id,
                        name: t.name,
                        start_unix_ns: epoch.saturating_add(t.start_ns),
                        end_unix_ns: epoch.saturating_add(t.finish_ns),
                        ok: true,
                    });
                } else if t.category == category::COMM {
                    if let (Some(from), Some(to)) = (t.from, t.to) {
                        let id = |x: u64| dagger_core::WorkerId(x.min(u32::MAX as u64) as u32);
                        gauges.record_transfer(id(from), id(to), t.bytes);
                    }
                }
            }
            dash.add_spans(out);
        }
    }
}

/// Stops feeding gauges when dropped.
#[derive(Debug)]
pub struct GaugeFeed {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GaugeFeed {
    /// Runs `body` on a thread of its own, which it ends when the flag it gets is set (by
    /// the guard's drop, which also unparks it).
    fn spawn(name: &str, body: impl FnOnce(&AtomicBool) + Send + 'static) -> GaugeFeed {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&s))
            .ok();
        GaugeFeed { stop, thread }
    }
}

impl Drop for GaugeFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Every `period`, sets each live worker's memory in use and spilled bytes on `gauges`, until
/// the returned guard is dropped. Sampling keeps it off the tasks' path.
///
/// Memory only: [`feed_dashboard`] also feeds the task stream and transfers from workers.
pub fn feed_gauges(ctx: &Context, gauges: Gauges, period: Duration) -> GaugeFeed {
    let ctx = ctx.clone();
    GaugeFeed::spawn("dagger-gauges", move |stop| {
        while !stop.load(Ordering::Acquire) {
            sample_memory(&ctx, &gauges);
            // Parked rather than slept, so dropping the guard ends it at once.
            std::thread::park_timeout(period);
        }
    })
}
