//! The out-of-core workload of the `arrays` suite: `A + Aᵀ` through `save`/`load` on an array
//! larger than what stays in memory, in two variants, each in a process of its own so its
//! peak resident memory is its own:
//!
//! - `dagger-local`: `Context::local()`, one process and no pool (memory is bounded only by the
//!   order blocks are scheduled in);
//! - `dagger-workers-pool`: worker processes whose results live in a spilling pool under a
//!   memory limit (1 GiB in total, split between the workers); the figure is the sum of the
//!   peak RSS of every process (driver and workers), with the per-process breakdown, the
//!   pools' peak and spilled bytes.
//!
//! `cargo xtask bench ooc` runs both (one child process each); the child runs the variant
//! named by `DAGGER_OOC_VARIANT`. `DAGGER_OOC_WORKERS` (default 1), `DAGGER_OOC_LIMIT`
//! (bytes, default 1 GiB), `DAGGER_OOC_N` and `DAGGER_OOC_BLOCK` change the pool variant's
//! set-up.

use super::line;
use dagger::array::{ArithOp, Blocks, DArray};
use dagger::{Context, WorkerId};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WORKLOAD: &str = "out_of_core_a_plus_at";
const VARIANT_ENV: &str = "DAGGER_OOC_VARIANT";

/// Peak resident memory (VmHWM) of process `pid` (`"self"` for this one), in bytes; 0 when
/// it cannot be read.
fn vm_hwm_bytes(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Saves a seeded `n`² A in `b`² blocks, then times load → `A + Aᵀ` → save. Returns
/// (seconds to generate and save A, seconds for `A + Aᵀ`).
fn a_plus_at(ctx: &Context, dir: &Path, n: usize, b: usize) -> dagger::Result<(f64, f64)> {
    let (a_path, s_path) = (dir.join("A"), dir.join("ApAt"));
    let t0 = Instant::now();
    DArray::<f64>::rand_seeded(&Blocks::new([b, b])?, &[n, n], 7)?
        .save(&a_path)
        .collect(ctx)?;
    let t1 = Instant::now();
    let a = DArray::<f64>::load(&a_path)?;
    a.arith(&a.transpose()?, ArithOp::Add)?
        .save(&s_path)
        .collect(ctx)?;
    let done = t1.elapsed().as_secs_f64();
    // One element checked against its definition (reads three blocks).
    let (s, a) = (DArray::<f64>::load(&s_path)?, DArray::<f64>::load(&a_path)?);
    let (i, j) = (n / 3, n - 1);
    let got = s.get(&[i, j])?.collect(ctx)?;
    let want = a.get(&[i, j])?.collect(ctx)? + a.get(&[j, i])?.collect(ctx)?;
    if got != want {
        return Err(dagger::Error::Argument(format!(
            "(A + Aᵀ)[{i}, {j}] = {got}, want {want}"
        )));
    }
    Ok(((t1 - t0).as_secs_f64(), done))
}

fn temp_dir(tag: &str) -> dagger::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("dagger-ooc-bench-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn sizes(quick: bool) -> (usize, usize) {
    let (n, b) = if quick {
        (4_000, 1_000)
    } else {
        (20_000, 4_000)
    };
    (env_or("DAGGER_OOC_N", n), env_or("DAGGER_OOC_BLOCK", b))
}

fn error_line(system: &str, e: impl std::fmt::Display) -> Value {
    json!({"workload": WORKLOAD, "system": system, "error": e.to_string()})
}

/// The local variant, in this process.
fn run_local(quick: bool) -> Value {
    let (n, b) = sizes(quick);
    let run = || -> dagger::Result<(f64, f64)> {
        let dir = temp_dir("local")?;
        let r = a_plus_at(&Context::local(), &dir, n, b);
        let _ = std::fs::remove_dir_all(&dir);
        r
    };
    match run() {
        Ok((gen, dt)) => {
            let mut l = line(
                WORKLOAD,
                "dagger-local",
                json!({"n": n, "block": b, "data_bytes": 2 * n * n * 8}),
                1,
                (dt, dt, dt),
            );
            l["peak_rss_bytes"] = json!(vm_hwm_bytes("self"));
            l["mb_per_s"] = json!((3 * n * n * 8) as f64 / dt / 1e6);
            l["generate_save_s"] = json!(gen);
            l
        }
        Err(e) => error_line("dagger-local", e),
    }
}

/// Per worker while the pool variant runs: pid, the highest VmHWM seen, the pool's peak
/// memory bytes and the most bytes it held spilled at once.
#[derive(Clone, Debug, Default)]
struct WorkerWatch {
    id: u32,
    pid: u32,
    peak_rss: u64,
    pool_peak: u64,
    max_spilled: u64,
}

/// Polls every worker every 50 ms until `stop` is set (workers' VmHWM must be read while
/// they are alive; the pool's spilled bytes are a current figure, so the maximum is kept).
fn watch(ctx: Context, stop: Arc<AtomicBool>, out: Arc<Mutex<Vec<WorkerWatch>>>) {
    let ws: Vec<WorkerId> = ctx.workers().into_iter().filter(|w| w.0 != 1).collect();
    loop {
        let last = stop.load(Ordering::SeqCst);
        let now: Vec<WorkerWatch> = ws
            .iter()
            .map(|&w| {
                let pid = ctx.worker_pid(w).unwrap_or(0);
                let s = ctx.worker_stats(w).unwrap_or_default();
                WorkerWatch {
                    id: w.0,
                    pid,
                    peak_rss: vm_hwm_bytes(&pid.to_string()),
                    pool_peak: s.peak_memory_bytes,
                    max_spilled: s.spilled_bytes,
                }
            })
            .collect();
        if let Ok(mut o) = out.lock() {
            if o.is_empty() {
                *o = now;
            } else {
                for (old, new) in o.iter_mut().zip(now) {
                    old.peak_rss = old.peak_rss.max(new.peak_rss);
                    old.pool_peak = old.pool_peak.max(new.pool_peak);
                    old.max_spilled = old.max_spilled.max(new.max_spilled);
                }
            }
        }
        if last {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pool variant, with its worker processes (re-executions of this binary).
fn run_pool(quick: bool) -> Value {
    const SYSTEM: &str = "dagger-workers-pool";
    let (n, b) = sizes(quick);
    let workers: usize = env_or("DAGGER_OOC_WORKERS", 1usize).max(1);
    let limit: u64 = env_or("DAGGER_OOC_LIMIT", 1u64 << 30);
    let per_worker = limit / workers as u64;
    let run = || -> dagger::Result<(f64, f64, Vec<WorkerWatch>)> {
        let dir = temp_dir("pool")?;
        let spill = dir.join("spill");
        std::fs::create_dir_all(&spill)?;
        let ctx = Context::builder()
            .threads(1)
            .workers(workers)
            .worker_threads(2)
            .worker_memory_limit(per_worker)
            .worker_spill_dir(&spill)
            // A fixed 1 MiB mmap threshold: glibc's dynamic one would keep freed blocks in
            // the heap (resident) after the first big free (see the out_of_core example).
            .worker_env("MALLOC_MMAP_THRESHOLD_", "1048576")
            .try_build()?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let watcher = {
            let (ctx, stop, seen) = (ctx.clone(), stop.clone(), seen.clone());
            std::thread::spawn(move || watch(ctx, stop, seen))
        };
        // Every block task on a worker (in a pool); the driver keeps only the metadata steps.
        let on_workers: Vec<WorkerId> = ctx.workers().into_iter().filter(|w| w.0 != 1).collect();
        let r = ctx
            .with_workers(&on_workers)
            .and_then(|wctx| a_plus_at(&wctx, &dir, n, b));
        stop.store(true, Ordering::SeqCst);
        let _ = watcher.join();
        drop(ctx);
        let _ = std::fs::remove_dir_all(&dir);
        let (gen, dt) = r?;
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        Ok((gen, dt, seen))
    };
    match run() {
        Ok((gen, dt, seen)) => {
            let driver = vm_hwm_bytes("self");
            let sum = driver + seen.iter().map(|w| w.peak_rss).sum::<u64>();
            let mut l = line(
                WORKLOAD,
                SYSTEM,
                json!({"n": n, "block": b, "data_bytes": 2 * n * n * 8, "workers": workers,
                       "memory_limit_bytes": limit, "memory_limit_per_worker_bytes": per_worker}),
                1,
                (dt, dt, dt),
            );
            l["peak_rss_bytes"] = json!(sum);
            l["peak_rss_per_process"] = json!({
                "driver": driver,
                "workers": seen.iter().map(|w| json!({
                    "worker": w.id, "pid": w.pid, "peak_rss_bytes": w.peak_rss,
                })).collect::<Vec<_>>(),
            });
            l["pool_peak_bytes"] = json!(seen.iter().map(|w| w.pool_peak).max().unwrap_or(0));
            l["spilled_bytes"] = json!(seen.iter().map(|w| w.max_spilled).sum::<u64>());
            l["mb_per_s"] = json!((3 * n * n * 8) as f64 / dt / 1e6);
            l["generate_save_s"] = json!(gen);
            l
        }
        Err(e) => error_line(SYSTEM, e),
    }
}

/// `xtask bench ooc`: in a child started by [`run_in_child`] (`DAGGER_OOC_VARIANT` set), runs
/// that variant here; otherwise runs both variants, each in a child of its own.
pub fn run(quick: bool) -> Vec<Value> {
    match std::env::var(VARIANT_ENV).as_deref() {
        Ok("local") => vec![run_local(quick)],
        Ok("pool") => vec![run_pool(quick)],
        _ => run_in_child(quick),
    }
}

/// Runs each variant in a child process (`xtask bench ooc` with `DAGGER_OOC_VARIANT`) and
/// returns their lines.
pub fn run_in_child(quick: bool) -> Vec<Value> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for variant in ["local", "pool"] {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["bench", "ooc"]).env(VARIANT_ENV, variant);
        if quick {
            cmd.arg("--quick");
        }
        match cmd.stderr(std::process::Stdio::inherit()).output() {
            Ok(out) => lines.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok()),
            ),
            Err(e) => lines.push(error_line(variant, e)),
        }
    }
    lines
}
