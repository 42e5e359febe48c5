//! The shard benchmark: many tiny tasks that each increment a counter, through a per-thread
//! [`Shard`] of atomic counters (`dagger-shard`) versus through one
//! `Mutex<u64>` that every task takes (`dagger-mutex`), measured in the same run.
//!
//! The mutex is passed as a plain `Arc<Mutex<u64>>` (a value the scheduler places nowhere in
//! particular), so the comparison is the cost of the shard's per-task piece lookup against
//! every thread contending for one lock.

use crate::shard::{shard_with, Shard, ShardOptions};
use dagger_core::{Error, Result};
use dagger_sched::{Context, DTask};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Runs the benchmark and returns one JSON object per system, with the keys `workload`,
/// `system`, `params`, `median_s`, `min_s`, `max_s`, `reps` and `tasks_per_s`.
///
/// `quick` shrinks the run (10 000 tasks, 3 repetitions instead of 100 000 and 5) for a smoke
/// test. Each run also checks that the counters add up, and panics if they do not: a benchmark
/// that loses increments measures nothing.
///
/// ```
/// let lines = dagger_shard::bench::bench_shard(true);
/// assert_eq!(lines.len(), 2);
/// assert_eq!(lines[0]["system"], "dagger-shard");
/// assert!(lines[1]["tasks_per_s"].as_f64().unwrap() > 0.0);
/// ```
pub fn bench_shard(quick: bool) -> Vec<Value> {
    let (tasks, reps) = if quick { (10_000, 3) } else { (100_000, 5) };
    match run(tasks, reps) {
        Ok(lines) => lines,
        // ok: the benchmark builds all its inputs itself; a failure is a bug to surface.
        Err(e) => panic!("shard benchmark failed: {e}"),
    }
}

fn run(tasks: usize, reps: usize) -> Result<Vec<Value>> {
    let ctx = Context::local();
    let counters: Shard<AtomicU64> =
        shard_with(&ctx, ShardOptions::new().per_thread(true), || {
            AtomicU64::new(0)
        })?;
    let lock = Arc::new(Mutex::new(0u64));

    // One untimed round each warms the threads and the allocator.
    let (mut shard_s, mut mutex_s) = (Vec::new(), Vec::new());
    for rep in 0..=reps {
        let t = time(|| {
            (0..tasks)
                .map(|_| {
                    ctx.spawn(
                        |(c,)| {
                            c.fetch_add(1, Ordering::Relaxed);
                        },
                        (&counters,),
                    )
                })
                .collect()
        })?;
        let m = time(|| {
            (0..tasks)
                .map(|_| {
                    ctx.spawn(
                        |(m,)| {
                            // A poisoned lock still holds a valid count.
                            let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
                            *g += 1;
                        },
                        (lock.clone(),),
                    )
                })
                .collect()
        })?;
        if rep > 0 {
            shard_s.push(t);
            mutex_s.push(m);
        }
    }

    let expected = (tasks * (reps + 1)) as u64;
    let sharded: u64 = counters
        .iter()
        .map(|c| c.with(|v| v.load(Ordering::Relaxed)))
        .sum::<Result<u64>>()?;
    let locked = *lock.lock().unwrap_or_else(|p| p.into_inner());
    if sharded != expected || locked != expected {
        return Err(Error::User(format!(
            "lost increments: shard {sharded}, mutex {locked}, expected {expected}"
        )));
    }

    let params = json!({ "tasks": tasks, "threads": ctx.num_threads(), "pieces": counters.len() });
    Ok(vec![
        line("dagger-shard", &params, tasks, shard_s),
        line("dagger-mutex", &params, tasks, mutex_s),
    ])
}

/// Seconds to spawn the tasks `spawn` returns and wait for every one.
fn time(spawn: impl FnOnce() -> Vec<DTask<()>>) -> Result<f64> {
    let start = Instant::now();
    let ts = spawn();
    for t in &ts {
        t.fetch()?;
    }
    Ok(start.elapsed().as_secs_f64())
}

fn line(system: &str, params: &Value, tasks: usize, mut secs: Vec<f64>) -> Value {
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    json!({
        "workload": "shard_increment",
        "system": system,
        "params": params,
        "median_s": median,
        "min_s": secs[0],
        "max_s": secs[secs.len() - 1],
        "reps": secs.len(),
        "tasks_per_s": tasks as f64 / median,
    })
}
