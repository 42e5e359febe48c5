//! The reference's "keeping memory use in check": `A + Aᵀ` on an array several times larger
//! than a configured memory limit, through `save`/`load` and the workers' spilling pool.
//!
//! By default it starts worker processes (re-executions of this program, hence
//! `dagger::init()` first in `main`) whose results live in a pool bounded by a memory limit
//! (1 GiB in total, split between the workers) that spills least recently used blocks to a
//! temporary directory. A is generated on the workers, saved, loaded, `A + Aᵀ` is computed and
//! saved, and a sample of elements is checked against A read back. It prints the peak resident
//! memory of every process (driver and workers) and their sum, and each worker pool's peak and
//! spilled bytes.
//!
//! ```text
//! cargo run --release --example out_of_core [n] [block] [--workers W] [--limit BYTES] [--local]
//! ```
//!
//! `save` and `load` are registered kernels: each block is read and written by a worker,
//! and every block task runs on a view of the context restricted to the workers
//! (`ctx.with_workers`), so the driver holds no block at all. Measured at 20000² f64 with a
//! 1 GiB limit (2 shared cores, release), summed peak RSS: 4000² blocks, 1 worker: 7 MiB
//! driver + 1494 MiB worker = 1500 MiB (44 s); 2000² blocks, 1 worker: 7 + 1167 = 1174 MiB
//! (32 s); 2000² blocks, 2 workers of 512 MiB: 7 + 716 + 708 = 1431 MiB (28 s). A worker's
//! RSS above its pool is the blocks its running tasks are making or spilling (two threads):
//! smaller blocks, less of it.
//!
//! Defaults: 12000² f64 in 3000² blocks (1.07 GiB of A), 1 worker, a 1 GiB limit
//! (`DAGGER_OOC_LIMIT` also sets it). `--local` runs on `Context::local()` (one process, no
//! pool: memory is bounded only by the order blocks are scheduled in), as the reference did.

use dagger::array::{ArithOp, Blocks, DArray};
use dagger::memory::{own_peak_rss, peak_rss, WorkerPeaks};
use dagger::Context;
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: f64 = (1u64 << 20) as f64;

/// The peak RSS of this process and of every worker process so far, for the phase lines.
fn peaks_so_far(ctx: &Context) -> String {
    let mut s = format!("driver {:.0} MiB", own_peak_rss() as f64 / MIB);
    for w in ctx.other_workers() {
        if let Some(pid) = ctx.worker_pid(w) {
            let hwm = peak_rss(pid) as f64 / MIB;
            s.push_str(&format!(", worker {} {hwm:.0} MiB", w.0));
        }
    }
    s
}

struct Args {
    n: usize,
    block: usize,
    workers: usize,
    limit: u64,
    local: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        n: 12_000,
        block: 3_000,
        workers: 1,
        limit: std::env::var("DAGGER_OOC_LIMIT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1 << 30),
        local: false,
    };
    let mut positional = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--local" => a.local = true,
            "--workers" => a.workers = it.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--limit" => {
                a.limit = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.limit);
            }
            other => positional.extend(other.parse::<usize>().ok()),
        }
    }
    a.n = positional.first().copied().unwrap_or(a.n);
    a.block = positional.get(1).copied().unwrap_or(a.block);
    a.workers = a.workers.max(1);
    a
}

/// Generates, saves, loads, adds the transpose, saves, and checks a sample of elements.
fn run(ctx: &Context, dir: &Path, n: usize, b: usize) -> dagger::Result<()> {
    let (a_path, s_path) = (dir.join("A"), dir.join("ApAt"));
    let t0 = Instant::now();
    DArray::<f64>::rand_seeded(&Blocks::new([b, b])?, &[n, n], 7)?
        .save(&a_path)
        .collect(ctx)?;
    println!(
        "saved A in {:.1} s; peak RSS so far: {}",
        t0.elapsed().as_secs_f64(),
        peaks_so_far(ctx)
    );

    let t1 = Instant::now();
    let a = DArray::<f64>::load(&a_path)?;
    a.arith(&a.transpose()?, ArithOp::Add)?
        .save(&s_path)
        .collect(ctx)?;
    println!(
        "saved A + Aᵀ in {:.1} s; peak RSS so far: {}",
        t1.elapsed().as_secs_f64(),
        peaks_so_far(ctx)
    );

    // s[i, j] == a[i, j] + a[j, i] on a few elements spread over the blocks (each check reads
    // only the blocks it needs).
    let s = DArray::<f64>::load(&s_path)?;
    let a = DArray::<f64>::load(&a_path)?;
    let sample = [
        (0, n - 1),
        (n - 1, 0),
        (n / 2, n / 3),
        (1, 1),
        (n - 1, n / 2 + 1),
    ];
    for (i, j) in sample {
        let got = s.get(&[i, j])?.collect(ctx)?;
        let want = a.get(&[i, j])?.collect(ctx)? + a.get(&[j, i])?.collect(ctx)?;
        if got != want {
            return Err(dagger::Error::Argument(format!(
                "(A + Aᵀ)[{i}, {j}] = {got}, want {want}"
            )));
        }
    }
    println!(
        "(A + Aᵀ)[i, j] == A[i, j] + A[j, i] on {} elements ✓",
        sample.len()
    );
    Ok(())
}

fn main() -> dagger::Result<()> {
    dagger::init();
    let args = parse_args();
    let (n, b) = (args.n, args.block);
    let dir = std::env::temp_dir().join(format!("dagger-ooc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let gib = (n * n * 8) as f64 / (1u64 << 30) as f64;
    println!("A: {n}×{n} f64 in {b}×{b} blocks = {gib:.2} GiB");

    let result = if args.local {
        let r = run(&Context::local(), &dir, n, b);
        println!(
            "peak RSS {:.0} MiB (one process, no pool)",
            own_peak_rss() as f64 / MIB
        );
        r
    } else {
        run_cluster(&args, &dir)
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_cluster(args: &Args, dir: &Path) -> dagger::Result<()> {
    let per_worker = args.limit / args.workers as u64;
    let spill = dir.join("spill");
    std::fs::create_dir_all(&spill)?;
    println!(
        "{} worker process(es), memory limit {:.0} MiB each ({:.0} MiB in total)",
        args.workers,
        per_worker as f64 / MIB,
        args.limit as f64 / MIB
    );
    let ctx = Context::builder()
        .threads(1)
        .workers(args.workers)
        .worker_threads(2)
        // Also fixes glibc's mmap threshold in the workers, so blocks the pool frees or
        // spills go back to the system (see `worker_memory_limit`).
        .worker_memory_limit(per_worker)
        .worker_spill_dir(&spill)
        .try_build()?;
    let peaks = WorkerPeaks::watch(&ctx, Duration::from_millis(50));
    // Every block task on a worker process: the workers' pools bound what they hold, the
    // driver has no pool (the driver-side steps, save's metadata and the element checks,
    // still run here).
    let wctx = ctx.with_workers(&ctx.other_workers())?;
    let t = Instant::now();
    let r = run(&wctx, dir, args.n, args.block);
    let dt = t.elapsed().as_secs_f64();
    let workers = peaks.finish();
    let driver = own_peak_rss();
    println!("total {dt:.1} s; peak RSS per process:");
    println!(
        "  driver (pid {}): {:.0} MiB",
        std::process::id(),
        driver as f64 / MIB
    );
    let mut sum = driver;
    for w in &workers {
        sum += w.peak_rss;
        println!(
            "  worker {} (pid {}): {:.0} MiB; pool peak {:.0} MiB, at most {:.0} MiB spilled",
            w.worker.0,
            w.pid,
            w.peak_rss as f64 / MIB,
            w.pool_peak as f64 / MIB,
            w.max_spilled as f64 / MIB
        );
    }
    println!(
        "  sum: {:.0} MiB for {:.0} MiB of data (limit {:.0} MiB)",
        sum as f64 / MIB,
        (2 * args.n * args.n * 8) as f64 / MIB,
        args.limit as f64 / MIB
    );
    drop(wctx);
    drop(ctx);
    r
}
