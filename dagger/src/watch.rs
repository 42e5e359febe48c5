//! Live numbers for the dashboard (feature `dashboard`): what each worker holds, sampled.

use dagger_dashboard::{Dashboard, Gauges};
use dagger_sched::{Context, ContextBuilder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Starts a dashboard on `addr` and installs its observer on `builder` (the reference-style
/// `Context::builder().dashboard(addr)`).
pub fn with_dashboard(
    builder: ContextBuilder,
    addr: &str,
) -> dagger_core::Result<(ContextBuilder, Dashboard)> {
    let dash = Dashboard::start(addr).map_err(|e| dagger_core::Error::Io(e.to_string()))?;
    let b = builder.observer(dash.observer());
    Ok((b, dash))
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
            let _ = t.join();
        }
    }
}

/// Every `period`, sets each live worker's memory in use and spilled bytes on `gauges`, until
/// the returned guard is dropped. Sampling keeps it off the tasks' path.
pub fn feed_gauges(ctx: &Context, gauges: Gauges, period: Duration) -> GaugeFeed {
    let stop = Arc::new(AtomicBool::new(false));
    let (ctx, s) = (ctx.clone(), stop.clone());
    let thread = std::thread::Builder::new()
        .name("dagger-gauges".into())
        .spawn(move || {
            while !s.load(Ordering::Acquire) {
                for w in ctx.live_workers().into_iter().skip(1) {
                    if let Ok(st) = ctx.worker_stats(w) {
                        gauges.set_memory(w, st.memory_bytes, st.spilled_bytes);
                    }
                }
                std::thread::sleep(period);
            }
        })
        .ok();
    GaugeFeed { stop, thread }
}
