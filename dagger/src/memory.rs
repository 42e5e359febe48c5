//! Memory: how big values are ([`size_of_value`], [`register_size`], which the memory
//! limits of result pools count with), and the peaks of a context's worker processes,
//! watched in the background while a computation runs ([`WorkerPeaks`]): each worker's
//! highest resident set, its result pool's peak and the most bytes it held spilled at once —
//! what an out-of-core run reports against its memory limit.
//!
//! A worker's resident peak must be read while the process lives, and a pool's spilled bytes
//! are a current figure, so both are polled and the maxima kept.

use dagger_core::WorkerId;
use dagger_sched::Context;
pub use dagger_sched::{register_size, size_of_value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One worker process's peaks so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerPeak {
    /// The worker.
    pub worker: WorkerId,
    /// Its operating-system process id (0 if unknown).
    pub pid: u32,
    /// Its highest resident set size (VmHWM), in bytes; 0 where that cannot be read.
    pub peak_rss: u64,
    /// Its result pool's peak bytes in memory.
    pub pool_peak: u64,
    /// The most bytes its pool held spilled at once.
    pub max_spilled: u64,
}

/// Polls every worker process of a context (not the driver) until finished or dropped.
///
/// ```
/// use dagger::memory::{own_peak_rss, WorkerPeaks};
/// use std::time::Duration;
/// let ctx = dagger::Context::builder().threads(1).build(); // no worker processes
/// let peaks = WorkerPeaks::watch(&ctx, Duration::from_millis(10));
/// assert!(peaks.finish().is_empty());
/// assert!(cfg!(not(target_os = "linux")) || own_peak_rss() > 0);
/// ```
#[derive(Debug)]
pub struct WorkerPeaks {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<WorkerPeak>>>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerPeaks {
    /// Starts polling `ctx`'s worker processes every `every`.
    pub fn watch(ctx: &Context, every: Duration) -> WorkerPeaks {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (c, s, out) = (ctx.clone(), stop.clone(), seen.clone());
        let thread = std::thread::Builder::new()
            .name("dagger-worker-peaks".into())
            .spawn(move || loop {
                // A last sample after `stop`, so `finish` sees the end of the run.
                let last = s.load(Ordering::SeqCst);
                let now = sample(&c);
                if let Ok(mut o) = out.lock() {
                    merge_peaks(&mut o, now);
                }
                if last {
                    return;
                }
                std::thread::sleep(every);
            })
            .ok();
        WorkerPeaks { stop, seen, thread }
    }

    /// The peaks seen so far.
    pub fn so_far(&self) -> Vec<WorkerPeak> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops polling (after one last sample) and returns the peaks.
    pub fn finish(mut self) -> Vec<WorkerPeak> {
        self.stop_and_join();
        self.so_far()
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WorkerPeaks {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Every worker process's figures now.
fn sample(ctx: &Context) -> Vec<WorkerPeak> {
    ctx.other_workers()
        .into_iter()
        .map(|w| {
            let pid = ctx.worker_pid(w).unwrap_or(0);
            let stats = ctx.worker_stats(w).unwrap_or_default();
            WorkerPeak {
                worker: w,
                pid,
                peak_rss: if pid == 0 { 0 } else { peak_rss(pid) },
                pool_peak: stats.peak_memory_bytes,
                max_spilled: stats.spilled_bytes,
            }
        })
        .collect()
}

/// Keeps the maxima of `now` in `seen` (matched by worker; new workers are added): how the
/// samples of [`WorkerPeaks`] are folded, for a caller that samples peaks itself.
///
/// ```
/// use dagger::ids::WorkerId;
/// use dagger::memory::{merge_peaks, WorkerPeak};
/// let p = |rss| WorkerPeak { worker: WorkerId(2), pid: 7, peak_rss: rss, ..Default::default() };
/// let mut seen = vec![p(10)];
/// merge_peaks(&mut seen, vec![p(8)]);
/// assert_eq!(seen, vec![p(10)]);
/// ```
pub fn merge_peaks(seen: &mut Vec<WorkerPeak>, now: Vec<WorkerPeak>) {
    for n in now {
        match seen.iter_mut().find(|s| s.worker == n.worker) {
            Some(s) => {
                s.pid = if n.pid == 0 { s.pid } else { n.pid };
                s.peak_rss = s.peak_rss.max(n.peak_rss);
                s.pool_peak = s.pool_peak.max(n.pool_peak);
                s.max_spilled = s.max_spilled.max(n.max_spilled);
            }
            None => seen.push(n),
        }
    }
}

/// The highest resident set size (VmHWM) of process `pid`, in bytes; 0 when it cannot be
/// read (the process is gone, or this is not Linux).
pub fn peak_rss(pid: u32) -> u64 {
    vm_hwm(&pid.to_string())
}

/// This process's highest resident set size so far, in bytes (0 where it cannot be read).
pub fn own_peak_rss() -> u64 {
    vm_hwm("self")
}

fn vm_hwm(proc_name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{proc_name}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}
