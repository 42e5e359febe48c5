//! A driver and two worker processes on this machine, as Julia's `addprocs(2)`.
//!
//! Run with `cargo run --release --example cluster` (from the workspace root).
//!
//! `main` calls [`dagger::init`] first: the driver returns from it at once, while the two
//! re-executions of this same binary that `workers(2)` starts find the scheduler's address in
//! their environment, serve tasks, and exit when the driver is done. Only registered
//! functions (declared with [`dagger::register!`]) can run in another process, so the task
//! bodies below are registered; each reports the worker it ran on ([`dagger::myid`]).

use dagger::{fetch_all, Context, Options, Scope, ScopeSpec, WorkerId};
use std::time::Instant;

dagger::register! {
    /// Squares `x` and says where that happened.
    fn square(x: i64) -> (i64, u32) {
        (x * x, dagger::myid().0)
    }
    /// Adds two partial results (value, worker) and says where the addition happened.
    fn combine(a: (i64, u32), b: (i64, u32)) -> (i64, u32) {
        (a.0 + b.0, dagger::myid().0)
    }
    /// The worker id and OS process id of whoever runs it.
    fn whoami(_tag: u32) -> String {
        format!("worker {} is pid {}", dagger::myid(), std::process::id())
    }
}

fn main() -> dagger::Result<()> {
    // First line of every dagger program: in a worker process this never returns.
    dagger::init();

    let t0 = Instant::now();
    let ctx = Context::builder()
        .threads(2)
        .workers(2)
        .worker_threads(2)
        .try_build()?;
    println!(
        "cluster up in {:.0} ms: workers {:?} (the driver is {})",
        t0.elapsed().as_secs_f64() * 1e3,
        ctx.workers(),
        dagger::myid()
    );

    // One task pinned to each process: the processes really are different.
    for w in ctx.workers() {
        let scope = ctx.scope(&ScopeSpec::new().worker(w.0))?;
        let t = ctx.spawn_registered_with(Options::new().scope(scope), WHOAMI, (w.0,));
        println!("  {}", t.fetch()?);
    }

    // A small DAG: eight squares spread over the cluster, then a tree of additions. The
    // leaves may run anywhere but the driver, so the work visibly leaves this process.
    let remote = Scope::union(
        ctx.workers()
            .into_iter()
            .filter(|w| *w != WorkerId::DRIVER)
            .map(Scope::Process),
    )?;
    let leaf = Options::new().scope(remote);
    let leaves: Vec<_> = (1..=8i64)
        .map(|x| ctx.spawn_registered_with(&leaf, SQUARE, (x,)))
        .collect();
    let mut level = leaves.clone();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| ctx.spawn_registered(COMBINE, (&pair[0], &pair[1])))
            .collect();
    }
    let (total, root_worker) = level[0].fetch()?;

    println!("sum of squares 1..=8 = {total} (expected 204)");
    for (x, (sq, w)) in (1..=8).zip(fetch_all(&leaves)?) {
        let chunk = leaves[x - 1].chunk()?;
        println!(
            "  square({x}) = {sq:>2} ran on w{w}; its chunk lives on {}",
            chunk.owner()
        );
    }
    println!("  the final addition ran on w{root_worker}");

    let mut per_worker = std::collections::BTreeMap::<u32, usize>::new();
    for (_, w) in fetch_all(&leaves)? {
        *per_worker.entry(w).or_default() += 1;
    }
    println!("leaves per worker: {per_worker:?}");
    if total != 204 {
        return Err(dagger::Error::Argument(format!(
            "wrong sum {total}, expected 204"
        )));
    }
    println!("done in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(())
}
