//! The `tasks` suite: tiny `x + 1` tasks, as in `../shared/bench/peers/` (Dask, Ray).
//!
//! Workloads: `tasks_independent` (n tasks spawned, then all fetched), `tasks_chain`
//! (task i = task(i−1) + 1) and `tree_reduce` (pairwise sums over 65 536 leaves). The rayon
//! baseline does the same dynamic work with its own task API: one `scope.spawn` per task
//! into preallocated slots, the chain as nested spawns, the tree as `join`s. The `latency_*`
//! workloads time small interactions: spawn then fetch, spawn then poll, ten then fetch all.

use super::{line, measure};
use dagger::{fetch_all, Context, DTask, Options, Scope, WorkerId};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// `n` independent tiny tasks, spawned then fetched together.
pub(super) fn dagger_independent(ctx: &Context, n: usize) {
    let ts: Vec<DTask<u64>> = (0..n as u64)
        .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
        .collect();
    let v = fetch_all(&ts).expect("tasks succeed");
    assert_eq!(v[n - 1], n as u64);
}

fn rayon_independent(n: usize) {
    let slots: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    rayon::scope(|s| {
        for (i, slot) in slots.iter().enumerate() {
            s.spawn(move |_| slot.store(i as u64 + 1, Ordering::Relaxed));
        }
    });
    assert_eq!(slots[n - 1].load(Ordering::Relaxed), n as u64);
}

/// A chain of `n` tasks, each adding one to the previous one's value.
pub(super) fn dagger_chain(ctx: &Context, n: usize) {
    let mut t = ctx.spawn(|()| 0u64, ());
    for _ in 0..n {
        t = ctx.spawn(|(x,)| x + 1, (t,));
    }
    assert_eq!(t.fetch().expect("chain succeeds"), n as u64);
}

fn rayon_chain(n: usize) {
    fn step<'s>(s: &rayon::Scope<'s>, slots: &'s [AtomicU64], i: usize) {
        let prev = if i == 0 {
            0
        } else {
            slots[i - 1].load(Ordering::Relaxed)
        };
        slots[i].store(prev + 1, Ordering::Relaxed);
        if i + 1 < slots.len() {
            s.spawn(move |s| step(s, slots, i + 1));
        }
    }
    let slots: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    rayon::scope(|s| s.spawn(|s| step(s, &slots, 0)));
    assert_eq!(slots[n - 1].load(Ordering::Relaxed), n as u64);
}

/// Pairwise sums over `leaves` ones (a power of two; `2 * leaves - 1` tasks).
pub(super) fn dagger_tree(ctx: &Context, leaves: usize) {
    let root = dagger::__private::dagger_sched::testing::eager_tree(ctx, leaves);
    assert_eq!(root.fetch().expect("tree succeeds"), leaves as u64);
}

fn rayon_tree(leaves: usize) {
    fn tree(n: usize) -> u64 {
        if n == 1 {
            return 1;
        }
        let (a, b) = rayon::join(|| tree(n / 2), || tree(n - n / 2));
        a + b
    }
    assert_eq!(tree(leaves), leaves as u64);
}

dagger::register! {
    fn inc(x: u64) -> u64 { x + 1 }
    fn one(_x: u64) -> u64 { 1 }
    fn add(a: u64, b: u64) -> u64 { a + b }
}

/// Registered-function versions, placed on the worker processes only (so every task crosses
/// a process boundary: this measures the multi-process path, not the driver's threads).
fn remote_opts(ctx: &Context) -> Options {
    let ws = ctx
        .workers()
        .into_iter()
        .filter(|w| *w != WorkerId::DRIVER)
        .map(Scope::Process);
    Options::new().scope(Scope::union(ws).expect("the cluster has workers"))
}

fn tcp_independent(ctx: &Context, o: &Options, n: usize) {
    let ts: Vec<DTask<u64>> = (0..n as u64)
        .map(|i| ctx.spawn_registered_with(o, INC, (i,)))
        .collect();
    let v = fetch_all(&ts).expect("tasks succeed");
    assert_eq!(v[n - 1], n as u64);
}

fn tcp_chain(ctx: &Context, o: &Options, n: usize) {
    let mut t = ctx.spawn_registered_with(o, ONE, (0u64,));
    for _ in 1..n {
        t = ctx.spawn_registered_with(o, INC, (t,));
    }
    assert_eq!(t.fetch().expect("chain succeeds"), n as u64);
}

fn tcp_tree(ctx: &Context, o: &Options, leaves: usize) {
    let mut level: Vec<DTask<u64>> = (0..leaves)
        .map(|_| ctx.spawn_registered_with(o, ONE, (0u64,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn_registered_with(o, ADD, (&p[0], &p[1])))
            .collect();
    }
    assert_eq!(level[0].fetch().expect("tree succeeds"), leaves as u64);
}

/// The multi-process half of the suite: driver + 2 worker processes on loopback.
pub(crate) fn run_tcp(quick: bool, reps: usize) -> Vec<Value> {
    let ctx = match Context::builder().workers(2).try_build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dagger-tcp2 skipped: {e}");
            return Vec::new();
        }
    };
    let o = remote_opts(&ctx);
    let (n_ind, n_chain, leaves) = if quick {
        (10_000, 1_000, 4_096)
    } else {
        (100_000, 10_000, 65_536)
    };
    let mut out = Vec::new();
    let mut emit = |w: &str, params: Value, tasks: usize, s| {
        let mut l = line(w, "dagger-tcp2", params, reps, s);
        l["tasks_per_s"] = json!(tasks as f64 / s.0);
        l["us_per_task"] = json!(s.0 * 1e6 / tasks as f64);
        eprintln!("{l}");
        out.push(l);
    };
    emit(
        "tasks_independent",
        json!({"n": n_ind, "workers": 2}),
        n_ind,
        measure(reps, || tcp_independent(&ctx, &o, n_ind)),
    );
    emit(
        "tasks_chain",
        json!({"n": n_chain, "workers": 2}),
        n_chain,
        measure(reps, || tcp_chain(&ctx, &o, n_chain)),
    );
    emit(
        "tree_reduce",
        json!({"leaves": leaves, "tasks": 2 * leaves - 1, "workers": 2}),
        2 * leaves - 1,
        measure(reps, || tcp_tree(&ctx, &o, leaves)),
    );
    out
}

/// Runs the suite.
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    let ctx = Context::local();
    let threads = ctx.num_threads();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .ok();
    let (n_ind, n_chain, leaves) = if quick {
        (10_000, 1_000, 4_096)
    } else {
        (100_000, 10_000, 65_536)
    };
    let mut out = super::tasks_core::memory(&ctx, quick);
    let mut emit = |w: &str, sys: &str, params: Value, tasks: usize, s| {
        let mut l = line(w, sys, params, reps, s);
        l["tasks_per_s"] = json!(tasks as f64 / s.0);
        l["us_per_task"] = json!(s.0 * 1e6 / tasks as f64);
        eprintln!("{l}");
        out.push(l);
    };
    let p = json!({"n": n_ind, "threads": threads});
    emit(
        "tasks_independent",
        "dagger-local",
        p.clone(),
        n_ind,
        measure(reps, || dagger_independent(&ctx, n_ind)),
    );
    emit(
        "tasks_independent",
        "rayon",
        p,
        n_ind,
        measure(reps, || rayon_independent(n_ind)),
    );
    let p = json!({"n": n_chain, "threads": threads});
    emit(
        "tasks_chain",
        "dagger-local",
        p.clone(),
        n_chain,
        measure(reps, || dagger_chain(&ctx, n_chain)),
    );
    emit(
        "tasks_chain",
        "rayon",
        p,
        n_chain,
        measure(reps, || rayon_chain(n_chain)),
    );
    let p = json!({"leaves": leaves, "tasks": 2 * leaves - 1, "threads": threads});
    emit(
        "tree_reduce",
        "dagger-local",
        p.clone(),
        2 * leaves - 1,
        measure(reps, || dagger_tree(&ctx, leaves)),
    );
    emit(
        "tree_reduce",
        "rayon",
        p,
        2 * leaves - 1,
        measure(reps, || rayon_tree(leaves)),
    );
    // Per-task cost across sizes: must stay flat.
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000, 1_000_000]
    };
    for &n in sizes {
        let r = if n >= 1_000_000 { reps.min(3) } else { reps };
        emit(
            "tasks_scaling",
            "dagger-local",
            json!({"n": n, "threads": threads}),
            n,
            measure(r, || dagger_independent(&ctx, n)),
        );
    }
    // Latency of small interactions (what batching in the scheduler must not make worse):
    // one task spawned then fetched (the caller blocks), one spawned then polled with
    // `is_ready` (it never blocks), and ten spawned then fetched together.
    let rounds = if quick { 200 } else { 2_000 };
    let p = json!({"rounds": rounds, "threads": threads});
    emit(
        "latency_spawn_fetch",
        "dagger-local",
        p.clone(),
        rounds,
        measure(reps, || spawn_fetch(&ctx, rounds)),
    );
    emit(
        "latency_spawn_poll",
        "dagger-local",
        p.clone(),
        rounds,
        measure(reps, || spawn_poll(&ctx, rounds)),
    );
    emit(
        "latency_batch_of_10",
        "dagger-local",
        p,
        rounds,
        measure(reps, || batches_of_10(&ctx, rounds)),
    );
    out.extend(super::tasks_core::run(&ctx, quick, reps));
    drop(ctx);
    out.extend(run_tcp(quick, reps));
    out
}

/// `rounds` times: spawn one task, fetch it.
fn spawn_fetch(ctx: &Context, rounds: usize) {
    for i in 0..rounds as u64 {
        assert_eq!(
            ctx.spawn(|(x,)| x + 1, (i,))
                .fetch()
                .expect("task succeeds"),
            i + 1
        );
    }
}

/// `rounds` times: spawn one task, spin until it is ready (the caller never blocks).
fn spawn_poll(ctx: &Context, rounds: usize) {
    for i in 0..rounds as u64 {
        let t = ctx.spawn(|(x,)| x + 1, (i,));
        while !t.is_ready() {
            std::hint::spin_loop();
        }
    }
}

/// `rounds` times: spawn ten tasks, fetch them together (`us_per_task` is per batch).
fn batches_of_10(ctx: &Context, rounds: usize) {
    for _ in 0..rounds {
        let ts: Vec<DTask<u64>> = (0..10u64).map(|i| ctx.spawn(|(x,)| x + 1, (i,))).collect();
        assert_eq!(fetch_all(&ts).expect("tasks succeed")[9], 10);
    }
}

/// Profiling overhead: the independent-tasks workload with no subscriber, with the profiler
/// installed but not recording ("profiling off"), and recording, in the same run.
pub(crate) fn run_profiled(quick: bool, reps: usize) -> Vec<Value> {
    let n = if quick { 10_000 } else { 100_000 };
    let ctx = Context::local();
    let params = json!({"n": n, "threads": ctx.num_threads()});
    let base = measure(reps, || dagger_independent(&ctx, n));
    dagger::profile::install_global();
    let off = measure(reps, || dagger_independent(&ctx, n));
    let on = measure(reps, || {
        let (_spans, ()) = dagger::profile::record(|| dagger_independent(&ctx, n));
    });
    let mut out = Vec::new();
    for (system, s) in [
        ("dagger-local", base),
        ("dagger-local+profile-off", off),
        ("dagger-local+profile-on", on),
    ] {
        let mut l = line("tasks_independent", system, params.clone(), reps, s);
        l["tasks_per_s"] = json!(n as f64 / s.0);
        l["overhead_vs_plain"] = json!(s.0 / base.0 - 1.0);
        eprintln!("{l}");
        out.push(l);
    }
    out
}
