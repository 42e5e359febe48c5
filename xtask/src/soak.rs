//! `cargo xtask soak --minutes N`: random DAGs on 3 worker processes with periodic worker
//! kills (SIGKILL) and restarts. Prints tasks run, recoveries, wrong results (must be 0) and
//! driver/worker RSS over time (must be flat), then the RSS slope over the run's second half.

use dagger::{All, Context, DTask, Options, Scope, WorkerId};
use std::time::{Duration, Instant};

dagger::register! {
    fn soak_node(i: u64, inputs: Vec<u64>) -> u64 {
        inputs.into_iter().fold(i.wrapping_mul(0x9e37_79b9_7f4a_7c15), u64::wrapping_add)
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// The least-squares slope, in KiB per minute, of `(seconds, KiB)` samples taken at or after
/// half of `total_s`: the first half holds the warm-up (allocator pools, caches filling), and
/// what is left to see after it is growth that never stops.
fn second_half_slope(samples: &[(f64, u64)], total_s: f64) -> Option<f64> {
    let tail: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(t, _)| *t >= total_s / 2.0)
        .map(|&(t, kib)| (t / 60.0, kib as f64))
        .collect();
    let n = tail.len() as f64;
    if tail.len() < 2 {
        return None;
    }
    let (mt, mk) = (
        tail.iter().map(|p| p.0).sum::<f64>() / n,
        tail.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let var: f64 = tail.iter().map(|p| (p.0 - mt) * (p.0 - mt)).sum();
    let cov: f64 = tail.iter().map(|p| (p.0 - mt) * (p.1 - mk)).sum();
    (var > 0.0).then(|| cov / var)
}

/// A small xorshift generator: deterministic DAG shapes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs the soak; returns the number of wrong results.
pub(crate) fn run(minutes: f64, kill_every_s: f64) -> u64 {
    let ctx = match Context::builder()
        .threads(1)
        .workers(3)
        .worker_threads(1)
        .heartbeat_timeout(Duration::from_secs(3))
        .allowed_failures(10)
        .try_build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("could not start the cluster: {e}");
            return 1;
        }
    };
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let (mut tasks, mut kills, mut wrong, mut dags) = (0u64, 0u64, 0u64, 0u64);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut last_kill = Instant::now();
    let mut last_report = Instant::now();
    let t0 = Instant::now();
    let (mut driver_rss, mut worker_rss) = (Vec::new(), Vec::new());
    println!(
        "{:>8} {:>10} {:>6} {:>6} {:>12} {:>12}",
        "t (s)", "tasks", "kills", "wrong", "driver KiB", "workers KiB"
    );
    while Instant::now() < deadline {
        let live = ctx.live_workers();
        let remote: Vec<Scope> = live
            .iter()
            .filter(|w| **w != WorkerId::DRIVER)
            .map(|w| Scope::Process(*w))
            .collect();
        let Ok(scope) = Scope::union(remote) else {
            let _ = ctx.add_workers(1);
            continue;
        };
        let o = Options::new().scope(scope);
        let n = 100 + (rng.next() % 200) as usize;
        let mut expect: Vec<u64> = Vec::with_capacity(n);
        let mut handles: Vec<DTask<u64>> = Vec::with_capacity(n);
        for i in 0..n {
            let fan = if i == 0 { 0 } else { (rng.next() % 4) as usize };
            let ins: Vec<usize> = (0..fan).map(|_| (rng.next() % i as u64) as usize).collect();
            let e = ins.iter().map(|&j| expect[j]).fold(
                (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                u64::wrapping_add,
            );
            expect.push(e);
            let deps = All(ins.iter().map(|&j| handles[j].clone()).collect());
            handles.push(ctx.spawn_registered_with(&o, SOAK_NODE, (i as u64, deps)));
            if last_kill.elapsed().as_secs_f64() >= kill_every_s {
                let victims: Vec<WorkerId> = ctx
                    .live_workers()
                    .into_iter()
                    .filter(|w| *w != WorkerId::DRIVER)
                    .collect();
                if let Some(&v) = victims.get((rng.next() as usize) % victims.len().max(1)) {
                    if let Some(pid) = ctx.worker_pid(v) {
                        // SAFETY: a worker process this driver started.
                        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                        kills += 1;
                    }
                }
                let _ = ctx.add_workers(1);
                last_kill = Instant::now();
            }
        }
        for (h, e) in handles.iter().zip(&expect) {
            match h.fetch() {
                Ok(v) if v == *e => {}
                other => {
                    wrong += 1;
                    eprintln!("wrong result: {other:?}, expected {e}");
                }
            }
        }
        tasks += n as u64;
        dags += 1;
        if last_report.elapsed() >= Duration::from_secs(5) {
            let workers: u64 = ctx
                .live_workers()
                .iter()
                .filter_map(|w| ctx.worker_pid(*w))
                .map(rss_kib)
                .sum();
            let (t, driver) = (t0.elapsed().as_secs_f64(), rss_kib(std::process::id()));
            println!("{t:>8.1} {tasks:>10} {kills:>6} {wrong:>6} {driver:>12} {workers:>12}");
            driver_rss.push((t, driver));
            worker_rss.push((t, workers));
            last_report = Instant::now();
        }
    }
    let total_s = t0.elapsed().as_secs_f64();
    let (driver_slope, workers_slope) = (
        second_half_slope(&driver_rss, total_s),
        second_half_slope(&worker_rss, total_s),
    );
    let shown = |s: Option<f64>| s.map_or("n/a".to_string(), |s| format!("{s:+.1}"));
    // Not a 6-number row: scripts that read the rows skip it.
    println!(
        "# RSS slope over the second half (KiB/min): driver {} workers {}",
        shown(driver_slope),
        shown(workers_slope)
    );
    println!(
        "{}",
        serde_json::json!({"soak_minutes": minutes, "dags": dags, "tasks": tasks, "worker_kills": kills,
            "wrong_results": wrong, "driver_rss_kib": rss_kib(std::process::id()),
            "driver_slope_kib_per_min": driver_slope, "workers_slope_kib_per_min": workers_slope})
    );
    wrong
}

#[cfg(test)]
mod tests {
    use super::second_half_slope;

    #[test]
    fn the_slope_ignores_the_warm_up_half_and_reads_kib_per_minute() {
        // A steep warm-up over the first 5 minutes, then 10 KiB a minute.
        let mut samples: Vec<(f64, u64)> =
            (0..10).map(|m| (m as f64 * 30.0, 1000 + m * 500)).collect();
        samples.extend((0..=10).map(|m| (300.0 + m as f64 * 30.0, 10_000 + m * 5)));
        let slope = second_half_slope(&samples, 600.0).unwrap();
        assert!((slope - 10.0).abs() < 1e-9, "slope {slope}");
        assert_eq!(second_half_slope(&samples[..3], 600.0), None);
    }
}
