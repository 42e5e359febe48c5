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
use dagger::{Context, WorkerPeaks};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const WORKLOAD: &str = "out_of_core_a_plus_at";
const VARIANT_ENV: &str = "DAGGER_OOC_VARIANT";

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
        Ok((generate, dt)) => {
            let mut l = line(
                WORKLOAD,
                "dagger-local",
                json!({"n": n, "block": b, "data_bytes": 2 * n * n * 8}),
                1,
                (dt, dt, dt),
            );
            l["peak_rss_bytes"] = json!(dagger::own_peak_rss());
            l["mb_per_s"] = json!((3 * n * n * 8) as f64 / dt / 1e6);
            l["generate_save_s"] = json!(generate);
            l
        }
        Err(e) => error_line("dagger-local", e),
    }
}

/// The pool variant, with its worker processes (re-executions of this binary).
fn run_pool(quick: bool) -> Value {
    const SYSTEM: &str = "dagger-workers-pool";
    let (n, b) = sizes(quick);
    let workers: usize = env_or("DAGGER_OOC_WORKERS", 1usize).max(1);
    let limit: u64 = env_or("DAGGER_OOC_LIMIT", 1u64 << 30);
    let per_worker = limit / workers as u64;
    let run = || -> dagger::Result<(f64, f64, Vec<dagger::WorkerPeak>)> {
        let dir = temp_dir("pool")?;
        let spill = dir.join("spill");
        std::fs::create_dir_all(&spill)?;
        let ctx = Context::builder()
            .threads(1)
            .workers(workers)
            .worker_threads(2)
            .worker_memory_limit(per_worker)
            .worker_spill_dir(&spill)
            .try_build()?;
        let peaks = WorkerPeaks::watch(&ctx, Duration::from_millis(50));
        // Every block task on a worker (in a pool); the driver keeps only the metadata steps.
        let r = ctx
            .with_workers(&ctx.other_workers())
            .and_then(|wctx| a_plus_at(&wctx, &dir, n, b));
        let seen = peaks.finish();
        drop(ctx);
        let _ = std::fs::remove_dir_all(&dir);
        let (generate, dt) = r?;
        Ok((generate, dt, seen))
    };
    match run() {
        Ok((generate, dt, seen)) => {
            let driver = dagger::own_peak_rss();
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
                    "worker": w.worker.0, "pid": w.pid, "peak_rss_bytes": w.peak_rss,
                })).collect::<Vec<_>>(),
            });
            l["pool_peak_bytes"] = json!(seen.iter().map(|w| w.pool_peak).max().unwrap_or(0));
            l["spilled_bytes"] = json!(seen.iter().map(|w| w.max_spilled).sum::<u64>());
            l["mb_per_s"] = json!((3 * n * n * 8) as f64 / dt / 1e6);
            l["generate_save_s"] = json!(generate);
            l
        }
        Err(e) => error_line(SYSTEM, e),
    }
}

/// `xtask bench ooc`: in a child started by [`run_in_child`] (`DAGGER_OOC_VARIANT` set), runs
/// that variant here; otherwise runs both variants, each in a child of its own.
pub(crate) fn run(quick: bool) -> Vec<Value> {
    match std::env::var(VARIANT_ENV).as_deref() {
        Ok("local") => vec![run_local(quick)],
        Ok("pool") => vec![run_pool(quick)],
        _ => run_in_child(quick),
    }
}

/// Runs each variant in a child process (`xtask bench ooc` with `DAGGER_OOC_VARIANT`) and
/// returns their lines.
pub(crate) fn run_in_child(quick: bool) -> Vec<Value> {
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
