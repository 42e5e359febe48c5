//! The `scale` suite: how the central driver copes as worker processes are added.
//!
//! For 1, 2, 4, 8 and 16 worker processes (one thread each) it times two workloads of tiny
//! registered-function tasks, all scoped to the workers so every task crosses a process
//! boundary: `scale_independent` (n `x + 1` tasks, spawned then fetched together) and
//! `scale_tree` (pairwise sums over `leaves` ones). Besides the throughput, each record
//! carries what the driver process itself spent: its CPU time per task over the timed region
//! (`getrusage(RUSAGE_SELF)`, every thread of the driver, none of the workers) and its
//! resident memory afterwards (`VmRSS`).
//!
//! A system is a name and a way to start a context with n workers ([`run_system`]); loopback
//! TCP is `dagger-tcp`. MPI ranks (`dagger-mpi`) cannot be started from inside a process:
//! [`scale_mpi`](super::scale_mpi) runs one `mpirun` job per count, and [`run_count`] in it.

use super::line;
use dagger::{fetch_all, Context, DTask, Options, Scope, WorkerId};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

dagger::register! {
    fn scale_inc(x: u64) -> u64 { x + 1 }
    fn scale_one(_x: u64) -> u64 { 1 }
    fn scale_add(a: u64, b: u64) -> u64 { a + b }
}

/// The worker counts the suite measures.
pub(crate) const COUNTS: [usize; 5] = [1, 2, 4, 8, 16];

/// Starts a context with `n` joined worker processes, or says why it could not.
pub(crate) type Starter<'a> = &'a dyn Fn(usize) -> Result<Context, String>;

/// `n` one-thread worker processes on loopback TCP, started by the driver itself.
fn start_tcp(n: usize) -> Result<Context, String> {
    Context::builder()
        .workers(n)
        .worker_threads(1)
        .try_build()
        .map_err(|e| e.to_string())
}

/// Options that place a task on any worker process, never on the driver.
fn on_workers(ctx: &Context) -> Option<Options> {
    let ws = ctx
        .workers()
        .into_iter()
        .filter(|w| *w != WorkerId::DRIVER)
        .map(Scope::Process);
    Some(Options::new().scope(Scope::union(ws).ok()?))
}

fn independent(ctx: &Context, o: &Options, n: usize) {
    let ts: Vec<DTask<u64>> = (0..n as u64)
        .map(|i| ctx.spawn_registered_with(o, SCALE_INC, (i,)))
        .collect();
    let v = fetch_all(&ts).expect("tasks succeed");
    assert_eq!(v[n - 1], n as u64);
}

fn tree(ctx: &Context, o: &Options, leaves: usize) {
    let mut level: Vec<DTask<u64>> = (0..leaves)
        .map(|_| ctx.spawn_registered_with(o, SCALE_ONE, (0u64,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn_registered_with(o, SCALE_ADD, (&p[0], &p[1])))
            .collect();
    }
    assert_eq!(level[0].fetch().expect("tree succeeds"), leaves as u64);
}

/// CPU time (user + system) of this whole process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage for RUSAGE_SELF.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// This process's resident set (`VmRSS` in `/proc/self/status`), in bytes; 0 if unknown.
fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// One timed run: wall seconds and the driver's CPU seconds over it.
fn timed(f: &mut dyn FnMut()) -> (f64, f64) {
    let (c0, t0) = (process_cpu(), Instant::now());
    f();
    (
        t0.elapsed().as_secs_f64(),
        (process_cpu() - c0).as_secs_f64(),
    )
}

/// A warm-up run, then `reps` timed ones: the record, with the driver's CPU per task taken
/// from the run with the median wall time.
fn record(
    workload: &str,
    system: &str,
    params: Value,
    tasks: usize,
    reps: usize,
    mut f: impl FnMut(),
) -> Value {
    f();
    let mut runs: Vec<(f64, f64)> = (0..reps.max(1)).map(|_| timed(&mut f)).collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (wall, cpu) = runs[runs.len() / 2];
    let s = (wall, runs[0].0, runs[runs.len() - 1].0);
    let mut l = line(workload, system, params, runs.len(), s);
    l["tasks_per_s"] = json!(tasks as f64 / wall);
    l["us_per_task"] = json!(wall * 1e6 / tasks as f64);
    l["driver_cpu_us_per_task"] = json!(cpu * 1e6 / tasks as f64);
    l["driver_cpu_share"] = json!(cpu / wall);
    l["driver_rss_bytes"] = json!(rss_bytes());
    l
}

/// The suite for one system: every count in [`COUNTS`] started with `start`, both workloads.
/// A count that cannot be started is reported on stderr and skipped.
pub(crate) fn run_system(system: &str, start: Starter<'_>, quick: bool, reps: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for workers in COUNTS {
        match start(workers) {
            Ok(ctx) => out.extend(run_count(system, &ctx, quick, reps)),
            Err(e) => eprintln!("{system} with {workers} workers skipped: {e}"),
        }
    }
    summarize(&out);
    out
}

/// Both workloads on one started context (its workers are the count recorded).
pub(crate) fn run_count(system: &str, ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, leaves) = if quick {
        (5_000, 2_048)
    } else {
        (50_000, 32_768)
    };
    let mut out = Vec::new();
    let Some(o) = on_workers(ctx) else {
        eprintln!("{system}: skipped, no worker joined");
        return out;
    };
    let joined = ctx.workers().len() - 1;
    let mut emit = |l: Value| {
        eprintln!("{l}");
        out.push(l);
    };
    emit(record(
        "scale_independent",
        system,
        json!({"n": n, "workers": joined, "worker_threads": 1}),
        n,
        reps,
        || independent(ctx, &o, n),
    ));
    emit(record(
        "scale_tree",
        system,
        json!({"leaves": leaves, "tasks": 2 * leaves - 1, "workers": joined, "worker_threads": 1}),
        2 * leaves - 1,
        reps,
        || tree(ctx, &o, leaves),
    ));
    out
}

/// Prints, per system and workload, throughput at 16 workers over throughput at 2 (the
/// suite's target: at least 0.7).
pub(crate) fn summarize(lines: &[Value]) {
    let at = |sys: &str, w: &str, n: u64| {
        lines
            .iter()
            .find(|l| l["system"] == sys && l["workload"] == w && l["params"]["workers"] == n)
            .and_then(|l| l["tasks_per_s"].as_f64())
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    for l in lines {
        let key = (
            l["system"].as_str().unwrap_or("").to_string(),
            l["workload"].as_str().unwrap_or("").to_string(),
        );
        if seen.contains(&key) {
            continue;
        }
        if let (Some(a), Some(b)) = (at(&key.0, &key.1, 2), at(&key.0, &key.1, 16)) {
            eprintln!(
                "{} {}: 16 workers / 2 workers = {:.2} (target >= 0.7)",
                key.0,
                key.1,
                b / a
            );
        }
        seen.push(key);
    }
}

/// Runs the suite on every system built in: loopback TCP.
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    run_system("dagger-tcp", &start_tcp, quick, reps)
}
