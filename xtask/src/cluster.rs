//! `cargo xtask cluster`: a local scheduler with worker processes, and how to join it.

use dagger::Context;
use std::time::{Duration, Instant};

/// Starts the cluster and serves until interrupted (or for `seconds`).
pub(crate) fn run(workers: usize, listen: &str, cookie: Option<String>, seconds: Option<u64>) {
    let mut b = Context::builder().workers(workers).listen(listen);
    if let Some(c) = &cookie {
        b = b.cookie(c);
    }
    let ctx = match b.try_build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("could not start the cluster: {e}");
            std::process::exit(1);
        }
    };
    let addr = ctx.cluster_addr().unwrap_or_default();
    let cookie = ctx.cookie().unwrap_or_default();
    println!(
        "dagger scheduler listening on {addr} with {} workers: {:?}",
        workers,
        ctx.workers()
    );
    println!("join another process (same executable; its main calls dagger::init()):");
    println!("  DAGGER_SCHEDULER={addr} DAGGER_COOKIE={cookie} ./your-program");
    println!("(ssh: run that line on the other machine; Slurm: srun with those variables; Kubernetes: see deploy/)");
    let t0 = Instant::now();
    let mut seen = ctx.workers().len();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = ctx.workers();
        if now.len() != seen {
            println!("workers: {now:?}");
            seen = now.len();
        }
        if seconds.is_some_and(|s| t0.elapsed() >= Duration::from_secs(s)) {
            break;
        }
    }
}
