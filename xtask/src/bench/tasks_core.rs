//! The core's overhead records of issue 25: `lazy_tree` (a tree of closures built with
//! `delayed` and run with `collect`, beside the same tree spawned eagerly), `lazy_dag_failing`
//! (the same lazy tree with 40 % of its leaves failing, by `Err` and by panicking: per node the
//! `Err` tree must cost no more than the succeeding tree) and `tasks_memory` (bytes per pending task, measured from outside as RSS).

use super::{line, measure};
use dagger::__private::dagger_sched::testing;
use dagger::{Context, DTask};
use serde_json::{json, Value};

/// The eager tree (as `tree_reduce`), checked.
fn eager_tree(ctx: &Context, leaves: usize) {
    assert_eq!(
        testing::eager_tree(ctx, leaves)
            .fetch()
            .expect("tree succeeds"),
        leaves as u64
    );
}

/// The lazy tree: built and collected, checked.
fn lazy_tree(ctx: &Context, leaves: usize) {
    let root = testing::lazy_tree(leaves);
    assert_eq!(root.collect(ctx).expect("tree succeeds"), leaves as u64);
}

/// The lazy tree whose leaves fail when `fail(i)` (by `Err`, or with `panics` by
/// panicking), built and collected: whether the root succeeded.
fn lazy_tree_failing(ctx: &Context, leaves: usize, fail: fn(u64) -> bool, panics: bool) -> bool {
    testing::failing_lazy_tree(leaves, fail, panics)
        .collect(ctx)
        .is_ok()
}

/// The resident set size of this process, in bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `n` tasks waiting behind one gate task that has not finished: RSS growth over `n`.
fn pending_memory(ctx: &Context, n: usize) -> Option<f64> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let gate = ctx.spawn(
        move |()| {
            let _ = rx.recv();
            0u64
        },
        (),
    );
    let before = rss_bytes()?;
    let ts: Vec<DTask<u64>> = (0..n).map(|_| ctx.spawn(|(g,)| g + 1, (&gate,))).collect();
    let after = rss_bytes()?;
    let _ = tx.send(());
    let v = dagger::fetch_all(&ts).expect("tasks succeed");
    assert_eq!(v.len(), n);
    Some(after.saturating_sub(before) as f64 / n as f64)
}

/// Runs the records.
pub(crate) fn run(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let threads = ctx.num_threads();
    let leaves = if quick { 4_096 } else { 65_536 };
    let tasks = 2 * leaves - 1;
    let mut out = Vec::new();
    let p = json!({"leaves": leaves, "tasks": tasks, "threads": threads});
    for (w, sys, s) in [
        (
            "lazy_tree",
            "dagger-local",
            measure(reps, || eager_tree(ctx, leaves)),
        ),
        (
            "lazy_tree",
            "dagger-lazy",
            measure(reps, || lazy_tree(ctx, leaves)),
        ),
    ] {
        let mut l = line(w, sys, p.clone(), reps, s);
        l["tasks_per_s"] = json!(tasks as f64 / s.0);
        eprintln!("{l}");
        out.push(l);
    }
    // The same DAG succeeding, and with 40 % of its leaves failing: by returning `Err`
    // (the record the target is set on), and by panicking (panics are silenced while it
    // runs: the hook's printing is not the scheduler's failure path).
    let fail = |i: u64| i % 10 < 4;
    let ok = measure(reps, || {
        assert!(lazy_tree_failing(ctx, leaves, |_| false, false))
    });
    let bad = measure(reps, || {
        assert!(!lazy_tree_failing(ctx, leaves, fail, false))
    });
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let panicking = measure(reps, || {
        assert!(!lazy_tree_failing(ctx, leaves, fail, true))
    });
    std::panic::set_hook(hook);
    for (sys, s) in [
        ("dagger-lazy", ok),
        ("dagger-lazy-40pct-failing", bad),
        ("dagger-lazy-40pct-panicking", panicking),
    ] {
        let mut l = line("lazy_dag_failing", sys, p.clone(), reps, s);
        l["tasks_per_s"] = json!(tasks as f64 / s.0);
        eprintln!("{l}");
        out.push(l);
    }
    out
}

/// The `tasks_memory` record. Run it first in the process: memory freed by earlier
/// workloads stays resident in the allocator and would hide the growth.
pub(crate) fn memory(ctx: &Context, quick: bool) -> Vec<Value> {
    let n = if quick { 100_000 } else { 1_000_000 };
    let Some(b) = pending_memory(ctx, n) else {
        return Vec::new();
    };
    let l = json!({
        "workload": "tasks_memory", "system": "dagger-local",
        "params": {"n": n, "threads": ctx.num_threads()}, "bytes_per_task": b,
    });
    eprintln!("{l}");
    vec![l]
}
