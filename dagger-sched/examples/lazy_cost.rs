//! What a lazy computation costs per task against the same graph spawned eagerly, and
//! what a pending task costs in memory: the quick loop behind `cargo xtask bench tasks`'
//! `lazy_tree`, `lazy_dag_failing` and `tasks_memory` records (dagger-sched alone, so a
//! release build is minutes, not the whole workspace).
//!
//! `cargo run --release -p dagger-sched --example lazy_cost [leaves] [reps] [pending] [lazy|failing|panicking]`
//! (`lazy`: only the lazy tree, `reps` times, for a profiler; `failing`: only the tree with
//! 40 % of its leaves returning `Err`; `panicking`: the same leaves panicking).

use dagger_sched::{delayed, fetch_all, Context, DTask, Thunk};
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

fn eager_tree(ctx: &Context, leaves: usize) {
    let mut level: Vec<DTask<u64>> = (0..leaves).map(|_| ctx.spawn(|()| 1u64, ())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn(|(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    assert_eq!(level[0].fetch().unwrap(), leaves as u64);
}

/// The lazy tree; leaves for which `fail` holds fail, by returning `Err` or, with
/// `panics`, by panicking. Returns whether the root succeeded.
fn lazy_tree(ctx: &Context, leaves: usize, fail: fn(u64) -> bool, panics: bool) -> bool {
    let mut level: Vec<Thunk<u64>> = (0..leaves as u64)
        .map(|i| {
            if panics {
                delayed(
                    move |(i,)| {
                        if fail(i) {
                            panic!("leaf {i} fails");
                        }
                        1u64
                    },
                    (i,),
                )
            } else {
                Thunk::try_delayed(
                    move |(i,)| if fail(i) { Err("leaf fails") } else { Ok(1u64) },
                    (i,),
                )
            }
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| delayed(|(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    level[0].collect(ctx).is_ok()
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

fn main() {
    let mut a = std::env::args().skip(1);
    let leaves: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(65_536);
    let reps: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    let pending: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let ctx = Context::local();
    match a.next().as_deref() {
        Some("lazy") => {
            // Only the lazy tree, for a profiler.
            for _ in 0..reps {
                assert!(lazy_tree(&ctx, leaves, |_| false, false));
            }
            return;
        }
        Some(w @ ("failing" | "panicking")) => {
            // Only the lazy tree with 40 % of its leaves failing, for a profiler.
            std::panic::set_hook(Box::new(|_| {}));
            for _ in 0..reps {
                assert!(!lazy_tree(&ctx, leaves, |i| i % 10 < 4, w == "panicking"));
            }
            return;
        }
        _ => {}
    }
    let tasks = (2 * leaves - 1) as f64;
    let e = median(reps, || eager_tree(&ctx, leaves));
    let l = median(reps, || assert!(lazy_tree(&ctx, leaves, |_| false, false)));
    let f = median(reps, || {
        assert!(!lazy_tree(&ctx, leaves, |i| i % 10 < 4, false))
    });
    std::panic::set_hook(Box::new(|_| {}));
    let p = median(reps, || {
        assert!(!lazy_tree(&ctx, leaves, |i| i % 10 < 4, true))
    });
    let _ = std::panic::take_hook();
    println!(
        "tree {leaves} leaves: eager {:.3} M/s, lazy {:.3} M/s ({:.2}x eager), lazy 40% failing (Err) {:.3} M/s ({:.2}x succeeding), 40% panicking {:.3} M/s ({:.2}x)",
        tasks / e / 1e6,
        tasks / l / 1e6,
        e / l,
        tasks / f / 1e6,
        l / f,
        tasks / p / 1e6,
        l / p
    );
    for n in [10_000usize, 1_000_000] {
        let t = median(reps.min(3), || {
            let ts: Vec<DTask<u64>> = (0..n as u64)
                .map(|i| ctx.spawn(|(x,)| x + 1, (i,)))
                .collect();
            assert_eq!(fetch_all(&ts).unwrap()[n - 1], n as u64);
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
        "pending {pending}: {:.0} bytes/task",
        after.saturating_sub(before) as f64 / pending as f64
    );
}
