//! What a lazy computation costs per task against the same graph spawned eagerly, what
//! independent tasks cost per task from 10⁴ to 10⁶, and what a pending task costs in
//! memory: the quick loop behind `cargo xtask bench tasks`' `lazy_tree`, `lazy_dag_failing`,
//! `tasks_scaling` and `tasks_memory` records (dagger-sched alone, so a release build is
//! minutes, not the whole workspace). The graphs are the bench's own
//! ([`dagger_sched::testing`]).
//!
//! `cargo run --release -p dagger-sched --example lazy_cost [leaves] [reps] [pending] [mode]`
//! with `mode` one of, for a profiler: `eager` (only the eager tree, `reps` times), `lazy`
//! (only the lazy tree), `failing` (only the lazy tree with 40 % of its leaves returning
//! `Err`), `panicking` (the same leaves panicking), `scaling` (`leaves` independent tasks,
//! spawned, fetched and dropped, each phase timed).

use dagger_sched::testing::{eager_tree, failing_lazy_tree, lazy_tree};
use dagger_sched::{fetch_all, Context, DTask};
use std::time::Instant;

/// The median of `reps` timed runs of `f` (after one warm-up), in seconds.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .collect();
    let mid = t.len() / 2;
    *t.select_nth_unstable_by(mid, f64::total_cmp).1
}

/// 40 % of the leaves fail, as in the issue.
fn forty_percent(i: u64) -> bool {
    i % 10 < 4
}

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// `n` independent tasks, spawned then fetched together; the phases' cost per task, in ns.
fn independent(ctx: &Context, n: usize) -> [f64; 3] {
    let t0 = Instant::now();
    let ts: Vec<DTask<u64>> = (0..n as u64)
        .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
        .collect();
    let t1 = Instant::now();
    let v = fetch_all(&ts).unwrap();
    assert_eq!(v[n - 1], n as u64);
    let t2 = Instant::now();
    drop(ts);
    drop(v);
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e9 / n as f64;
    [per(t1 - t0), per(t2 - t1), per(t2.elapsed())]
}

fn main() {
    let mut a = std::env::args().skip(1);
    let leaves: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(65_536);
    let reps: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let pending: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let ctx = Context::local();
    let fails = |panics| {
        failing_lazy_tree(leaves, forty_percent, panics)
            .collect(&ctx)
            .is_err()
    };
    // A mode runs one workload `reps` times, for a profiler.
    match a.next().as_deref() {
        Some("eager") => {
            for _ in 0..reps {
                assert_eq!(eager_tree(&ctx, leaves).fetch().unwrap(), leaves as u64);
            }
            return;
        }
        Some("lazy") => {
            for _ in 0..reps {
                assert_eq!(lazy_tree(leaves).collect(&ctx).unwrap(), leaves as u64);
            }
            return;
        }
        Some(w @ ("failing" | "panicking")) => {
            std::panic::set_hook(Box::new(|_| {}));
            for _ in 0..reps {
                assert!(fails(w == "panicking"));
            }
            return;
        }
        Some("scaling") => {
            for _ in 0..reps {
                let [s, f, d] = independent(&ctx, leaves);
                println!("independent {leaves}: spawn {s:.0} fetch {f:.0} drop {d:.0} ns/task");
            }
            return;
        }
        _ => {}
    }
    let tasks = (2 * leaves - 1) as f64;
    let e = median(reps, || {
        assert_eq!(eager_tree(&ctx, leaves).fetch().unwrap(), leaves as u64)
    });
    let l = median(reps, || {
        assert_eq!(lazy_tree(leaves).collect(&ctx).unwrap(), leaves as u64)
    });
    let ok = median(reps, || {
        assert!(failing_lazy_tree(leaves, |_| false, false)
            .collect(&ctx)
            .is_ok())
    });
    let f = median(reps, || assert!(fails(false)));
    std::panic::set_hook(Box::new(|_| {}));
    let p = median(reps, || assert!(fails(true)));
    let _ = std::panic::take_hook();
    println!(
        "tree {leaves} leaves: eager {:.3} M/s, lazy {:.3} M/s ({:.2}x eager); fallible leaves: all Ok {:.3} M/s, 40% Err {:.3} M/s ({:.2}x all Ok), 40% panicking {:.3} M/s ({:.2}x)",
        tasks / e / 1e6,
        tasks / l / 1e6,
        e / l,
        tasks / ok / 1e6,
        tasks / f / 1e6,
        ok / f,
        tasks / p / 1e6,
        ok / p
    );
    for n in [10_000usize, 1_000_000] {
        let t = median(reps.min(3), || {
            independent(&ctx, n);
        });
        println!("independent {n}: {:.1} ns/task", t * 1e9 / n as f64);
    }
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let gate = ctx.spawn(
        move |()| {
            let _ = rx.recv();
            0u64
        },
        (),
    );
    let before = rss_bytes();
    let ts: Vec<DTask<u64>> = (0..pending)
        .map(|_| ctx.spawn(|(g,)| g + 1, (&gate,)))
        .collect();
    let after = rss_bytes();
    let _ = tx.send(());
    assert_eq!(fetch_all(&ts).unwrap().len(), pending);
    println!(
        "pending {pending}: {:.0} bytes/task (run first in a fresh process: freed memory hides growth)",
        after.saturating_sub(before) as f64 / pending as f64
    );
}
