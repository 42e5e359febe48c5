//! What a datadeps region and a bulk queue cost per task against plain spawns: the quick
//! loop behind `cargo xtask bench datadeps` (same workloads, no JSON, dagger-sched alone).
//!
//! `cargo run --release -p dagger-sched --example queue_cost [n] [reps] [mode]`: without a
//! mode, both pairs' rates; `cpu`, `phases`, `region-phases`: where the time goes; `region`,
//! `spawn-objs`, `bulk`, `plain`: one workload `reps` times (for `perf`).

use dagger_sched::{fetch_all, Context, DTask, Data, DataMut, InOut, Val};
use std::time::Instant;

/// The median of `reps` timed runs of `f` (after one warm-up), in seconds.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        f();
        t.push(t0.elapsed().as_secs_f64());
    }
    let mid = t.len() / 2;
    *t.select_nth_unstable_by(mid, f64::total_cmp).1
}

/// CPU time of the calling thread, in µs (robust to other processes taking the cores).
fn thread_cpu_us() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; the clock exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1e6 + t.tv_nsec as f64 / 1e3
}

/// Summed (on-CPU, waiting-for-CPU) ns of this process's pool threads (`dagger-*`).
fn pool_sched() -> (f64, f64) {
    let mut on = 0.0;
    let mut wait = 0.0;
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if !comm.starts_with("dagger") {
            continue;
        }
        let st = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
        let v: Vec<f64> = st
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 2 {
            on += v[0];
            wait += v[1];
        }
    }
    (on, wait)
}

/// Voluntary context switches of the calling thread so far (each a park).
fn parks() -> u64 {
    std::fs::read_to_string("/proc/thread-self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let which = args.next().unwrap_or_default();
    let ctx = Context::local();
    let objs: Vec<Data<u64>> = (0..n).map(|_| Data::new(0u64)).collect();
    let rate = |s: f64| n as f64 / s / 1e6;
    let region = || {
        ctx.datadeps(|| {
            for o in &objs {
                ctx.spawn(|(mut x,): (DataMut<u64>,)| *x += 1, (InOut(o),));
            }
        })
        .expect("region succeeds")
    };
    let spawn_objs = || {
        let ts: Vec<DTask<()>> = objs
            .iter()
            .map(|o| ctx.spawn(|(x,)| x.write(|x: &mut u64| *x += 1), (Val(o.clone()),)))
            .collect();
        fetch_all(&ts).expect("tasks succeed");
    };
    let bulk = || {
        let ts: Vec<DTask<u64>> = ctx.spawn_bulk(|| {
            (0..n as u64)
                .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
                .collect()
        });
        fetch_all(&ts).expect("tasks succeed");
    };
    let plain = || {
        let ts: Vec<DTask<u64>> = (0..n as u64)
            .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
            .collect();
        fetch_all(&ts).expect("tasks succeed");
    };
    match which.as_str() {
        // One workload `reps` times, for `perf stat` / `perf record`.
        "region" => return (0..reps).for_each(|_| region()),
        "spawn-objs" => return (0..reps).for_each(|_| spawn_objs()),
        "bulk" => return (0..reps).for_each(|_| bulk()),
        "plain" => return (0..reps).for_each(|_| plain()),
        "cpu" => {
            // The spawning thread's CPU time per task while spawning: a region's spawns, a
            // bulk's, plain spawns (min over reps: the cleanest run).
            let (mut r, mut b, mut p) = (f64::MAX, f64::MAX, f64::MAX);
            for _ in 0..reps {
                let mut t = 0.0;
                ctx.datadeps(|| {
                    let c0 = thread_cpu_us();
                    for o in &objs {
                        ctx.spawn(|(mut x,): (DataMut<u64>,)| *x += 1, (InOut(o),));
                    }
                    t = thread_cpu_us() - c0;
                })
                .expect("region succeeds");
                r = r.min(t / n as f64);
                let ts: Vec<DTask<u64>> = ctx.spawn_bulk(|| {
                    let c0 = thread_cpu_us();
                    let ts = (0..n as u64)
                        .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
                        .collect();
                    t = thread_cpu_us() - c0;
                    ts
                });
                fetch_all(&ts).expect("tasks succeed");
                drop(ts);
                b = b.min(t / n as f64);
                let c0 = thread_cpu_us();
                let ts: Vec<DTask<u64>> = (0..n as u64)
                    .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
                    .collect();
                p = p.min((thread_cpu_us() - c0) / n as f64);
                fetch_all(&ts).expect("tasks succeed");
            }
            println!("spawning thread µs/task: region {r:.3} bulk {b:.3} plain {p:.3}");
            return;
        }
        "region-phases" => {
            for _ in 0..reps {
                let t0 = Instant::now();
                let mut t1 = t0;
                ctx.datadeps(|| {
                    for o in &objs {
                        ctx.spawn(|(mut x,): (DataMut<u64>,)| *x += 1, (InOut(o),));
                    }
                    t1 = Instant::now();
                })
                .expect("region succeeds");
                let t2 = Instant::now();
                let us = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e6 / n as f64;
                let t3 = Instant::now();
                spawn_objs();
                let t4 = Instant::now();
                println!(
                    "region spawn {:.3} close {:.3} µs/task | spawn-objs {:.3}",
                    us(t0, t1),
                    us(t1, t2),
                    us(t3, t4)
                );
            }
            return;
        }
        "phases" => {
            // Where the time of one bulk and one plain run goes, on the spawning thread.
            for _ in 0..reps {
                let t0 = Instant::now();
                let mut t1 = t0;
                let ts: Vec<DTask<u64>> = ctx.spawn_bulk(|| {
                    let ts = (0..n as u64)
                        .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
                        .collect();
                    t1 = Instant::now();
                    ts
                });
                let t2 = Instant::now();
                let c2 = thread_cpu_us();
                let s2 = pool_sched();
                let p2 = parks();
                fetch_all(&ts).expect("tasks succeed");
                let p3 = parks();
                let s3 = pool_sched();
                print!("(parks {}) ", p3 - p2);
                let c3 = thread_cpu_us();
                print!(
                    "(pool on-cpu {:.3} runq-wait {:.3}) ",
                    (s3.0 - s2.0) / 1e3 / n as f64,
                    (s3.1 - s2.1) / 1e3 / n as f64
                );
                let t3 = Instant::now();
                drop(ts);
                let t4 = Instant::now();
                print!("(fetch cpu {:.3}) ", (c3 - c2) / n as f64);
                let us = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e6 / n as f64;
                print!(
                    "bulk spawn {:.3} launch {:.3} fetch {:.3} drop {:.3} µs/task | ",
                    us(t0, t1),
                    us(t1, t2),
                    us(t2, t3),
                    us(t3, t4)
                );
                let t0 = Instant::now();
                let ts: Vec<DTask<u64>> = (0..n as u64)
                    .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
                    .collect();
                let t1 = Instant::now();
                fetch_all(&ts).expect("tasks succeed");
                let t2 = Instant::now();
                drop(ts);
                let t3 = Instant::now();
                println!(
                    "plain spawn {:.3} fetch {:.3} drop {:.3}",
                    us(t0, t1),
                    us(t1, t2),
                    us(t2, t3)
                );
            }
            return;
        }
        _ => {}
    }
    let (a, b) = (median(reps, region), median(reps, spawn_objs));
    println!(
        "datadeps_independent: region {:.2} M/s, spawn {:.2} M/s, ratio {:.2}",
        rate(a),
        rate(b),
        b / a
    );
    let (a, b) = (median(reps, bulk), median(reps, plain));
    println!(
        "spawn_bulk: bulk {:.2} M/s, spawn {:.2} M/s, ratio {:.2}",
        rate(a),
        rate(b),
        b / a
    );
}
