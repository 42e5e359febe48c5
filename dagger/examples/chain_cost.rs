//! Where the time of a 10⁴-task dependent chain on driver + 2 workers goes (the
//! `tasks_chain` / `dagger-tcp2` figure of `cargo xtask bench tasks`): the same chain of
//! registered functions, scoped to the worker processes, timed in two phases (spawning
//! every link, then fetching the last), for profiling with `perf record -g`. Each line also
//! gives the frames of runs the workers read and of completions they wrote in that rep
//! (`TransferStats::run_frames`, `done_frames`): 1–3 run frames for 10⁴ links means the
//! driver's writer hardly ran while the chain was spawned, and the workers started late.
//!
//! Run with `cargo run --release -p dagger --example chain_cost -- [reps] [n]`
//! (`DAGGER_FORWARD=0` for the chain without forwarding).

use dagger::{Context, Options, Scope, WorkerId};
use std::time::Instant;

dagger::register! {
    /// The first link.
    fn one(_x: u64) -> u64 { 1 }
    /// Every other link.
    fn inc(x: u64) -> u64 { x + 1 }
}

fn main() -> dagger::Result<()> {
    // In a worker process this never returns.
    dagger::init();
    let mut args = std::env::args().skip(1);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let ctx = Context::builder().workers(2).try_build()?;
    let ids: Vec<WorkerId> = ctx
        .workers()
        .into_iter()
        .filter(|w| *w != WorkerId::DRIVER)
        .collect();
    let o = Options::new().scope(Scope::union(ids.iter().map(|w| Scope::Process(*w)))?);
    // Frames of runs read and of completions written, summed over the workers: how well
    // each side batches (one frame a task means one wake-up a task).
    let frames = || -> dagger::Result<(u64, u64)> {
        let mut f = (0, 0);
        for w in &ids {
            let t = ctx.worker_transfers(*w)?;
            f = (f.0 + t.run_frames, f.1 + t.done_frames);
        }
        Ok(f)
    };
    let mut totals = Vec::with_capacity(reps);
    for _ in 0..reps {
        let f0 = frames()?;
        let t0 = Instant::now();
        let mut t = ctx.spawn_registered_with(&o, ONE, (0u64,));
        for _ in 1..n {
            t = ctx.spawn_registered_with(&o, INC, (t,));
        }
        let spawned = t0.elapsed();
        let v = t.fetch()?;
        let total = t0.elapsed();
        assert_eq!(v, n as u64);
        let f1 = frames()?;
        println!(
            "spawn {:.2} ms  fetch {:.2} ms  total {:.2} ms  run frames {}  done frames {}",
            spawned.as_secs_f64() * 1e3,
            (total - spawned).as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            f1.0 - f0.0,
            f1.1 - f0.1
        );
        totals.push(total.as_secs_f64());
    }
    totals.sort_by(f64::total_cmp);
    println!("median {:.2} ms", totals[totals.len() / 2] * 1e3);
    Ok(())
}
