//! `cargo xtask bench scale --transport mpi`: the scale suite with MPI ranks as the workers.
//!
//! MPI ranks are started by the launcher, not by the driver, so each worker count is its own
//! job: this process builds the xtask binary with `--features mpi` (as
//! [`tasks_mpi`](super::tasks_mpi) does) and, for every count W in
//! [`COUNTS`](super::scale::COUNTS), runs it as W + 1 ranks under
//! `mpirun --oversubscribe --allow-run-as-root` with `DAGGER_THREADS=1` (one-thread workers,
//! as over TCP). In the job, rank 0 drives: it times both workloads on its W ranks
//! (`system=dagger-mpi`), then on W loopback TCP worker processes it starts itself
//! (`system=dagger-tcp`, while the MPI ranks idle), so each count has both systems measured
//! on the same machine within seconds of each other. This process gathers every job's records and prints the 16 / 2
//! ratios.

use super::scale;
use serde_json::Value;

/// Runs the suite (one count inside an MPI job, else every count as its own job).
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    if super::tasks_mpi::in_mpi_job() {
        return in_job(quick, reps);
    }
    match launch(quick, reps) {
        Ok(l) => {
            scale::summarize(&l);
            l
        }
        Err(e) => {
            eprintln!("bench scale --transport mpi: {e}");
            std::process::exit(1);
        }
    }
}

fn launch(quick: bool, reps: usize) -> Result<Vec<Value>, String> {
    let bin = super::tasks_mpi::build_with_mpi()?;
    let reps = reps.to_string();
    let mut args = vec!["bench", "scale", "--transport", "mpi", "--reps", &reps];
    if quick {
        args.push("--quick");
    }
    let mut out = Vec::new();
    for workers in scale::COUNTS {
        match super::tasks_mpi::mpirun(&bin, workers + 1, &[("DAGGER_THREADS", "1")], &args) {
            Ok(l) => out.extend(l),
            Err(e) => eprintln!("dagger-mpi with {workers} workers skipped: {e}"),
        }
    }
    Ok(out)
}

#[cfg(not(feature = "mpi"))]
fn in_job(_quick: bool, _reps: usize) -> Vec<Value> {
    eprintln!("this xtask was built without --features mpi");
    std::process::exit(1);
}

#[cfg(feature = "mpi")]
fn in_job(quick: bool, reps: usize) -> Vec<Value> {
    use dagger::Context;
    use std::sync::Arc;
    // Rank 0 (the others never get here: `dagger::init` made them workers).
    let workers = dagger::transport::mpi::launched_by_mpi()
        .map_or(1, |j| j.size.saturating_sub(1) as usize)
        .max(1);
    let mut out = Vec::new();
    // The first cluster built gets the MPI ranks. It stays up while the baseline runs: its
    // ranks exiting now would wait in `MPI_Finalize` for rank 0, with a deadline.
    let mpi = Context::builder()
        .workers(workers)
        .worker_threads(1)
        .try_build();
    match &mpi {
        Ok(ctx) => out.extend(scale::run_count("dagger-mpi", ctx, quick, reps)),
        Err(e) => eprintln!("dagger-mpi with {workers} workers skipped: {e}"),
    }
    // On rank 0 `dagger::init` made MPI the default transport: TCP is asked for by name.
    let tcp = Context::builder()
        .transport(Arc::new(dagger::transport::TcpTransport))
        .workers(workers)
        .worker_threads(1)
        .try_build();
    match tcp {
        Ok(ctx) => out.extend(scale::run_count("dagger-tcp", &ctx, quick, reps)),
        Err(e) => eprintln!("dagger-tcp with {workers} workers skipped: {e}"),
    }
    drop(mpi);
    out
}
