//! Benchmark suites. Each returns JSON lines in the shared format (DESIGN.md, "Benchmarks").

pub(crate) mod arrays;
pub(crate) mod arrays_stencil;
pub(crate) mod dashboard;
pub(crate) mod datadeps;
pub(crate) mod linalg;
pub(crate) mod measure;
pub(crate) mod ooc;
pub(crate) mod scale;
// `scale --transport mpi`: one mpirun job per worker count.
pub(crate) mod scale_mpi;
pub(crate) mod streaming;
pub(crate) mod tasks;
// Lazy trees, pending-task memory and failing DAGs: the core's overheads.
pub(crate) mod tasks_core;
// `tasks --transport mpi`: the same tasks over MPI ranks and TCP workers.
pub(crate) mod tasks_mpi;

use serde_json::{json, Value};
use std::time::Instant;

/// Times `f` once as a warm-up and then `reps` times; returns (median, min, max) seconds.
pub(crate) fn measure(reps: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    let mut t: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

/// One result line.
pub(crate) fn line(
    workload: &str,
    system: &str,
    params: Value,
    reps: usize,
    s: (f64, f64, f64),
) -> Value {
    json!({
        "workload": workload, "system": system, "params": params,
        "median_s": s.0, "min_s": s.1, "max_s": s.2, "reps": reps,
    })
}
