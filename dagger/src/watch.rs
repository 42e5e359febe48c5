//! The live dashboard from the facade (feature `dashboard`): start one for a builder, the
//! process-wide one `DAGGER_DASHBOARD` asks for, and the worker figures it shows.
//!
//! Two ways to get a dashboard:
//!
//! - [`with_dashboard`]`(builder, addr)` starts one that the caller owns (it stops when
//!   dropped);
//! - [`DashboardExt::dashboard`]`(addr)` on a builder, or `DAGGER_DASHBOARD=addr` in the
//!   driver's environment (read by [`init`](crate::init)), start the *process-wide* one,
//!   which lives as long as the process. [`DashboardExt::env_dashboard`] installs it on a
//!   builder when the environment asked for it.

use dagger_dashboard::{Dashboard, DashboardHandle, Gauges};
use dagger_sched::{Context, ContextBuilder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How often gauge feeds started by this module sample the workers.
pub const GAUGE_PERIOD: Duration = Duration::from_millis(250);

/// Starts a dashboard on `addr` and installs its observer on `builder` (the reference-style
/// `Context::builder().dashboard(addr)`, with a dashboard the caller owns).
pub fn with_dashboard(
    builder: ContextBuilder,
    addr: &str,
) -> dagger_core::Result<(ContextBuilder, Dashboard)> {
    let dash = Dashboard::start(addr)?;
    let b = builder.observer(dash.observer());
    Ok((b, dash))
}

/// The process-wide dashboard, once started.
static GLOBAL: OnceLock<Dashboard> = OnceLock::new();
/// Serialises starting it, so two racing callers bind one address once.
static STARTING: Mutex<()> = Mutex::new(());

/// The process-wide dashboard, if [`DashboardExt::dashboard`] or `DAGGER_DASHBOARD` (read by
/// [`init`](crate::init)) started it.
///
/// ```
/// // Nothing started one in this process.
/// assert!(dagger::global_dashboard().is_none() || std::env::var_os("DAGGER_DASHBOARD").is_some());
/// ```
pub fn global_dashboard() -> Option<&'static Dashboard> {
    GLOBAL.get()
}

/// The process-wide dashboard: the running one (whatever its address: one per process), or
/// a new one on `addr`.
pub fn global_dashboard_on(addr: &str) -> dagger_core::Result<&'static Dashboard> {
    if let Some(d) = GLOBAL.get() {
        return Ok(d);
    }
    let _one = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(d) = GLOBAL.get() {
        return Ok(d);
    }
    let d = Dashboard::start(addr)?;
    Ok(GLOBAL.get_or_init(|| d))
}

/// Starts the process-wide dashboard if `DAGGER_DASHBOARD` asks for one (an address, or
/// `1`/`on` for `127.0.0.1:8787`); [`init`](crate::init) calls it in the driver. A bad value
/// or a busy address is an error; unset or `0`/`off` is `Ok(None)`.
pub fn dashboard_from_env() -> dagger_core::Result<Option<&'static Dashboard>> {
    match Dashboard::env_addr()? {
        Some(addr) => global_dashboard_on(&addr).map(Some),
        None => Ok(None),
    }
}

/// `Context::builder().dashboard(addr)`: the dashboard as a builder option.
///
/// ```
/// use dagger::DashboardExt;
/// let ctx = dagger::Context::builder().threads(1).dashboard("127.0.0.1:0")?.build();
/// let _watch = dagger::watch(&ctx); // worker memory into the memory panel (clusters)
/// ctx.spawn_with(&dagger::Options::new().name("one"), |()| 1, ()).fetch()?;
/// let dash = dagger::global_dashboard().unwrap();
/// println!("open {}", dash.url());
/// # let t0 = std::time::Instant::now();
/// # while dash.state().totals.done < 1 && t0.elapsed().as_secs() < 5 {}
/// assert_eq!(dash.state().names[0].name, "one");
/// # Ok::<(), dagger::Error>(())
/// ```
pub trait DashboardExt: Sized {
    /// Starts the process-wide dashboard on `addr` (or reuses the running one: there is one
    /// per process, the first address wins) and shows this context on it.
    fn dashboard(self, addr: &str) -> dagger_core::Result<Self>;

    /// Shows this context on the process-wide dashboard if one runs (e.g. `DAGGER_DASHBOARD`
    /// was set when [`init`](crate::init) ran); otherwise leaves the builder as it is.
    fn env_dashboard(self) -> Self;
}

impl DashboardExt for ContextBuilder {
    fn dashboard(self, addr: &str) -> dagger_core::Result<Self> {
        Ok(self.observer(global_dashboard_on(addr)?.observer()))
    }

    fn env_dashboard(self) -> Self {
        match global_dashboard() {
            Some(d) => self.observer(d.observer()),
            None => self,
        }
    }
}

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
    let stop = Arc::new(AtomicBool::new(false));
    let (ctx, s) = (ctx.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("dagger-dashboard-feed".into())
        .spawn(move || {
            let gauges = dash.gauges();
            #[cfg_attr(not(feature = "profile"), allow(unused_mut))]
            let mut recording = false;
            while !s.load(Ordering::Acquire) {
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
        .ok();
    GaugeFeed { stop, thread }
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
    use dagger_dashboard::{DashboardHandle, ExternalSpan};
    use dagger_profile::{category, Timespan};

    /// Decodes what each worker recorded (JSON `(epoch_unix_ns, spans)`, as
    /// [`ProfileTelemetry`](crate::ProfileTelemetry) hands it over) and feeds it: `compute`
    /// spans to the task stream, `comm` spans to the transfers panel. Undecodable
    /// recordings are skipped.
    pub(super) fn feed(
        dash: &DashboardHandle,
        recordings: Vec<(dagger_core::WorkerId, bytes::Bytes)>,
    ) {
        let gauges = dash.gauges();
        for (w, bytes) in recordings {
            let Ok((epoch, spans)) = serde_json::from_slice::<(u64, Vec<Timespan>)>(&bytes) else {
                tracing::warn!(target: "dagger", "dashboard: undecodable spans from worker {w}");
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
    let stop = Arc::new(AtomicBool::new(false));
    let (ctx, s) = (ctx.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("dagger-gauges".into())
        .spawn(move || {
            while !s.load(Ordering::Acquire) {
                sample_memory(&ctx, &gauges);
                // Parked rather than slept, so dropping the guard ends it at once.
                std::thread::park_timeout(period);
            }
        })
        .ok();
    GaugeFeed { stop, thread }
}
