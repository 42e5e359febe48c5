//! The `datadeps` suite: what a datadeps region and a bulk queue cost per task, each against
//! plain spawns of the same tasks in the same run.
//!
//! - `datadeps_independent`: n tasks, each `InOut` on its own small object (`Data<u64>`,
//!   `+= 1`), in one region (`dagger-datadeps`), against the same bodies spawned plainly with
//!   the object passed as a value (`dagger-spawn`: same lock, same increment, no plan).
//! - `spawn_bulk`: n tiny `x + 1` tasks submitted in one `spawn_bulk` (`dagger-bulk`) against
//!   n single spawns (`dagger-spawn`), each then fetched together.
//!
//! Every line carries `tasks_per_s` and `ratio_vs_spawn` (its rate over the plain one's).

use super::{line, measure};
use dagger::{fetch_all, Context, DTask, Data, DataMut, InOut, Val};
use serde_json::{json, Value};

fn datadeps_independent(ctx: &Context, objs: &[Data<u64>]) {
    ctx.datadeps(|| {
        for o in objs {
            ctx.spawn(|(mut x,): (DataMut<u64>,)| *x += 1, (InOut(o),));
        }
    })
    .expect("region succeeds");
}

fn spawn_independent(ctx: &Context, objs: &[Data<u64>]) {
    let ts: Vec<DTask<()>> = objs
        .iter()
        .map(|o| ctx.spawn(|(x,)| x.write(|x: &mut u64| *x += 1), (Val(o.clone()),)))
        .collect();
    fetch_all(&ts).expect("tasks succeed");
}

fn bulk(ctx: &Context, n: usize) {
    let ts: Vec<DTask<u64>> = ctx.spawn_bulk(|| {
        (0..n as u64)
            .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
            .collect()
    });
    let v = fetch_all(&ts).expect("tasks succeed");
    assert_eq!(v[n - 1], n as u64);
}

/// Runs the suite.
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    let ctx = Context::local();
    let threads = ctx.num_threads();
    let n = if quick { 10_000 } else { 100_000 };
    let mut out = Vec::new();
    let mut pair = |workload: &str, sys: &str, a: (f64, f64, f64), b: (f64, f64, f64)| {
        let p = json!({"n": n, "threads": threads});
        let plain = n as f64 / b.0;
        for (system, s) in [(sys, a), ("dagger-spawn", b)] {
            let mut l = line(workload, system, p.clone(), reps, s);
            let rate = n as f64 / s.0;
            l["tasks_per_s"] = json!(rate);
            l["us_per_task"] = json!(s.0 * 1e6 / n as f64);
            l["ratio_vs_spawn"] = json!(rate / plain);
            eprintln!("{l}");
            out.push(l);
        }
    };
    let objs: Vec<Data<u64>> = (0..n).map(|_| Data::new(0u64)).collect();
    // Alternate the two so that the machine's drift hits both alike.
    let a = measure(reps, || datadeps_independent(&ctx, &objs));
    let b = measure(reps, || spawn_independent(&ctx, &objs));
    pair("datadeps_independent", "dagger-datadeps", a, b);
    let a = measure(reps, || bulk(&ctx, n));
    let b = measure(reps, || super::tasks::dagger_independent(&ctx, n));
    pair("spawn_bulk", "dagger-bulk", a, b);
    out
}
