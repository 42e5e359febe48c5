//! Release of intermediate results, `persist`/`cache`, and placement.

use dagger_core::Options;
use dagger_sched::{delayed, delayed_with, Context, DTask};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A value that counts its own drops.
#[derive(Clone)]
struct Tracked(u64, Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn intermediates_are_released_once_no_task_or_handle_needs_them() {
    let ctx = Context::builder().threads(2).build();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let a = ctx.spawn(move |()| Tracked(1, d), ());
    let gate = Arc::new(AtomicUsize::new(0));
    let g = gate.clone();
    // b waits for a and for a gate task, so it stays pending after a has finished.
    let gate_task = ctx.spawn(
        move |()| {
            while g.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        },
        (),
    );
    let b = ctx.spawn(|(x, ()): (Tracked, ())| x.0 + 1, (&a, &gate_task));
    a.wait();
    drop(a); // the user's handle is gone, but b is pending: the value must stay
    std::thread::sleep(Duration::from_millis(20));
    let held = drops.load(Ordering::SeqCst);
    gate.store(1, Ordering::SeqCst);
    assert_eq!(b.fetch().unwrap(), 2);
    // b's body dropped its clone; the stored original goes when b's argument handle does.
    let t0 = std::time::Instant::now();
    while drops.load(Ordering::SeqCst) < held + 2 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(held, 0, "released while a pending task still needed it");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        2,
        "the clone passed to b and the stored value"
    );
}

#[test]
fn lazy_intermediates_are_released_after_compute_unless_persisted() {
    let ctx = Context::builder().threads(2).build();
    for persist in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let opts = Options::new().persist(persist);
        let a = delayed_with(opts, move |()| Tracked(3, d.clone()), ());
        let b = delayed(|(x,): (Tracked,)| x.0 * 2, (&a,));
        assert_eq!(b.collect(&ctx).unwrap(), 6);
        // one drop for the clone b received; the stored value only when not persisted
        let expect = if persist { 1 } else { 2 };
        assert_eq!(drops.load(Ordering::SeqCst), expect, "persist={persist}");
        drop(a);
        drop(b);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn cache_reuses_a_result_persist_does_not() {
    let ctx = Context::builder().threads(2).build();
    for (opts, runs_expected) in [
        (Options::new().cache(true), 1),
        (Options::new().persist(true), 2),
        (Options::new(), 2),
    ] {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let a = delayed_with(
            opts.clone(),
            move |()| {
                r.fetch_add(1, Ordering::SeqCst);
                7
            },
            (),
        );
        let b = delayed(|(x,)| x + 1, (&a,));
        assert_eq!(b.collect(&ctx).unwrap(), 8);
        assert_eq!(b.collect(&ctx).unwrap(), 8);
        assert_eq!(runs.load(Ordering::SeqCst), runs_expected, "{opts:?}");
    }
}

#[test]
fn shared_thunks_run_once_per_computation() {
    let ctx = Context::builder().threads(2).build();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let a = delayed(
        move |()| {
            r.fetch_add(1, Ordering::SeqCst);
            1
        },
        (),
    );
    let b = delayed(|(a,)| a + 1, (&a,));
    let c = delayed(|(a,)| a + 2, (&a,));
    let d = delayed(|(a, b, c)| a + b + c, (&a, &b, &c));
    assert_eq!(d.collect(&ctx).unwrap(), 1 + 2 + 3);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn equal_independent_tasks_spread_over_all_threads() {
    // Dagger.jl #663 put every task on one worker; queue pressure must spread them.
    let ctx = Context::builder().threads(2).build();
    let ts: Vec<DTask<()>> = (0..8)
        .map(|_| ctx.spawn(|()| std::thread::sleep(Duration::from_millis(30)), ()))
        .collect();
    let mut per: HashMap<_, usize> = HashMap::new();
    for t in &ts {
        *per.entry(t.chunk().unwrap().processor()).or_default() += 1;
    }
    assert_eq!(per.len(), 2, "{per:?}");
    assert!(per.values().all(|&n| (3..=5).contains(&n)), "{per:?}");
}

#[test]
fn pinned_tasks_spread_over_their_allowed_threads() {
    use dagger_core::{ProcessorId, Scope, ScopeSpec, WorkerId};
    let ctx = Context::builder().threads(3).build();
    let two = ctx
        .scope(&ScopeSpec::new().worker(1).threads([2, 3]))
        .unwrap();
    let ts: Vec<DTask<()>> = (0..6)
        .map(|_| {
            ctx.spawn_with(
                Options::new().scope(two.clone()),
                |()| std::thread::sleep(Duration::from_millis(30)),
                (),
            )
        })
        .collect();
    let mut per: HashMap<_, usize> = HashMap::new();
    for t in &ts {
        *per.entry(t.chunk().unwrap().processor()).or_default() += 1;
    }
    assert!(
        !per.contains_key(&ProcessorId::thread(WorkerId(1), 1)),
        "{per:?}"
    );
    assert_eq!(per.len(), 2, "{per:?}");
    let _ = Scope::Any;
}

#[test]
fn dependent_chain_stays_on_one_thread() {
    // The task a result makes ready runs next on the same thread (depth-first).
    let ctx = Context::builder().threads(2).build();
    let mut t = ctx.spawn(|()| 0u64, ());
    let first = t.clone();
    for _ in 0..200 {
        t = ctx.spawn(|(x,)| x + 1, (t,));
    }
    assert_eq!(t.fetch().unwrap(), 200);
    assert_eq!(
        t.chunk().unwrap().processor(),
        first.chunk().unwrap().processor()
    );
}

/// A thunk gives its task to the last of its consumers a computation spawns and lets go of
/// its slot then (not at the walk's end): consumers outside the computation, consumers gone,
/// a consumer taking it twice, and computations overlapping on other threads must all still
/// find it where they need it.
#[test]
fn a_thunk_is_found_by_every_consumer_whatever_its_other_consumers_do() {
    let ctx = Context::builder().threads(2).build();
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let a = delayed(
        move |()| {
            r.fetch_add(1, Ordering::SeqCst);
            10u64
        },
        (),
    );
    // A consumer that goes before anything is computed: it no longer counts.
    drop(delayed(|(a,)| a + 100, (&a,)));
    let twice = delayed(|(x, y)| x + y, (&a, &a));
    let b = delayed(|(a,)| a + 1, (&a,));
    let outside = delayed(|(a,)| a + 2, (&a,)); // never part of the first computation
    assert_eq!(twice.collect(&ctx).unwrap(), 20);
    assert_eq!(b.collect(&ctx).unwrap(), 11);
    let both = delayed(|(t, b, o)| t + b + o, (&twice, &b, &outside));
    assert_eq!(both.collect(&ctx).unwrap(), 20 + 11 + 12);
    assert_eq!(runs.load(Ordering::SeqCst), 3, "once per computation");
    // Overlapping computations of one shared graph, from several threads at once.
    let leaves: Vec<_> = (0..64u64).map(|i| delayed(move |()| i, ())).collect();
    let mut level = leaves;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| delayed(|(x, y)| x + y, (&p[0], &p[1])))
            .collect();
    }
    let root = level.pop().unwrap();
    let side = delayed(|(r,)| r * 2, (&root,));
    std::thread::scope(|s| {
        for k in 0..4 {
            let (ctx, root, side) = (&ctx, &root, &side);
            s.spawn(move || {
                for _ in 0..20 {
                    if k % 2 == 0 {
                        assert_eq!(root.collect(ctx).unwrap(), 63 * 64 / 2);
                    } else {
                        assert_eq!(side.collect(ctx).unwrap(), 63 * 64);
                    }
                }
            });
        }
    });
}
