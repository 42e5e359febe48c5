//! `Shard`: the reference's examples, behaviour C36 in its local form, the distributed
//! histogram of Dagger.jl's tests, and every error case.

use crate::common::{ctx, thread};
use dagger_core::{Error, Options, ProcessorId, ProcessorKind, Scope, WorkerId};
use dagger_sched::{current_processor, fetch_all, Context};
use dagger_shard::{shard_with, ShardOptions};
use proptest::prelude::*;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

fn increment(ctx: &Context, cs: &dagger_shard::Shard<AtomicI64>, n: usize) {
    let ts: Vec<_> = (0..n)
        .map(|_| ctx.spawn(|(c,)| c.fetch_add(1, Ordering::Relaxed), (cs,)))
        .collect();
    fetch_all(&ts).unwrap();
}

/// The reference's example: `cs = @shard Threads.Atomic{Int}(0)`, 1000 `atomic_add!(cs, 1)`,
/// the sum over pieces is 1000 — both ways the reference sums.
#[test]
fn counters_sum_to_one_thousand() {
    let ctx = ctx(3);
    let cs = shard_with(&ctx, ShardOptions::new(), || AtomicI64::new(0)).unwrap();
    increment(&ctx, &cs, 1000);
    // sum(fetch.(map(ctr->ctr[], cs)))
    let mapped = cs.map(&ctx, |c| c.load(Ordering::SeqCst));
    assert_eq!(fetch_all(&mapped).unwrap().iter().sum::<i64>(), 1000);
    // sum(map(ctr->fetch(ctr)[], cs))
    let fetched: i64 = cs
        .iter()
        .map(|c| c.fetch().unwrap().load(Ordering::SeqCst))
        .sum();
    assert_eq!(fetched, 1000);
}

/// C36: one piece per worker, whose processor is that worker's OS processor and whose scope is
/// `ProcessScope(w)`; every piece holds the constructed type.
#[test]
fn c36_one_piece_per_worker() {
    let ctx = ctx(2);
    let cs = shard_with(&ctx, ShardOptions::new(), || AtomicI64::new(0)).unwrap();
    assert_eq!(cs.len(), 1);
    assert!(!cs.is_empty());
    for c in &cs {
        let p = c.processor();
        assert_eq!(p.kind, ProcessorKind::Os);
        assert!(ctx.processors().iter().any(|i| i.id == p));
        assert_eq!(c.scope(), &Scope::Process(p.worker));
        assert_eq!(
            c.chunk().type_name(),
            std::any::type_name::<Arc<AtomicI64>>()
        );
    }
    increment(&ctx, &cs, 1000);
    let total: i64 = cs
        .iter()
        .map(|c| c.with(|v| v.load(Ordering::SeqCst)).unwrap())
        .sum();
    assert_eq!(total, 1000);
}

/// C36 `per_thread=true`: pieces keyed by thread processor, each with an exact scope, each
/// constructed on its own thread; a task receives the piece of the thread it runs on.
#[test]
fn c36_per_thread_pieces() {
    let ctx = ctx(3);
    let cs = shard_with(&ctx, ShardOptions::new().per_thread(true), || {
        (AtomicI64::new(0), current_processor())
    })
    .unwrap();
    let expect: Vec<_> = (1..=3).map(|t| thread(&ctx, t)).collect();
    assert_eq!(cs.processors().collect::<Vec<_>>(), expect);
    for c in &cs {
        let p = c.processor();
        assert_eq!(p.kind, ProcessorKind::Thread);
        assert!(ctx.processors().iter().any(|i| i.id == p.parent()));
        assert_eq!(c.scope(), &Scope::Exact(p));
        assert_eq!(c.fetch().unwrap().1, Some(p), "constructed on its thread");
        assert_eq!(cs.get(p).map(|m| m.processor()), Some(p));
    }
    let ts: Vec<_> = (0..1000)
        .map(|_| {
            ctx.spawn(
                |(c,)| {
                    c.0.fetch_add(1, Ordering::Relaxed);
                    (current_processor(), Arc::as_ptr(&c) as usize)
                },
                (&cs,),
            )
        })
        .collect();
    let ran = fetch_all(&ts).unwrap();
    for (p, ptr) in &ran {
        // ok: tasks run on thread processors
        let piece = cs.get(p.unwrap()).unwrap();
        assert_eq!(Arc::as_ptr(&piece.fetch().unwrap()) as usize, *ptr);
    }
    // Each counter counted exactly the tasks its thread ran.
    for c in &cs {
        let here = ran
            .iter()
            .filter(|(p, _)| *p == Some(c.processor()))
            .count();
        assert_eq!(c.fetch().unwrap().0.load(Ordering::SeqCst), here as i64);
    }
    let parts = cs.map(&ctx, |c| c.0.load(Ordering::SeqCst));
    assert_eq!(fetch_all(&parts).unwrap().iter().sum::<i64>(), 1000);
}

/// A per-thread task pinned to a thread always gets that thread's piece.
#[test]
fn pinned_tasks_get_their_threads_piece() {
    let ctx = ctx(2);
    let cs = shard_with(&ctx, ShardOptions::new().per_thread(true), || {
        AtomicI64::new(0)
    })
    .unwrap();
    let t2 = thread(&ctx, 2);
    let ts: Vec<_> = (0..50)
        .map(|_| {
            ctx.spawn_with(
                Options::new().scope(Scope::Exact(t2)),
                |(c,)| c.fetch_add(1, Ordering::Relaxed),
                (&cs,),
            )
        })
        .collect();
    fetch_all(&ts).unwrap();
    assert_eq!(
        cs.get(t2).unwrap().fetch().unwrap().load(Ordering::SeqCst),
        50
    );
    let t1 = thread(&ctx, 1);
    assert_eq!(
        cs.get(t1).unwrap().fetch().unwrap().load(Ordering::SeqCst),
        0
    );
}

/// `map` runs once per piece, on that piece's processor.
#[test]
fn map_runs_once_per_piece_where_it_lives() {
    let ctx = ctx(3);
    let cs = shard_with(&ctx, ShardOptions::new().per_thread(true), || {
        AtomicI64::new(0)
    })
    .unwrap();
    let on = cs.map(&ctx, |c| {
        c.fetch_add(1, Ordering::SeqCst);
        current_processor()
    });
    let on: Vec<_> = fetch_all(&on).unwrap().into_iter().flatten().collect();
    assert_eq!(on, cs.processors().collect::<Vec<_>>());
    assert!(cs
        .iter()
        .all(|c| c.fetch().unwrap().load(Ordering::SeqCst) == 1));
}

/// The `procs` and `workers` keywords.
#[test]
fn procs_and_workers_keywords() {
    let ctx = ctx(2);
    let w = ctx.worker_id();
    let by_proc = shard_with(
        &ctx,
        ShardOptions::new().procs([ProcessorId::os(w)]),
        || 0u8,
    )
    .unwrap();
    assert_eq!(
        by_proc.processors().collect::<Vec<_>>(),
        vec![ProcessorId::os(w)]
    );
    assert_eq!(by_proc.iter().next().unwrap().scope(), &Scope::Process(w));

    let by_worker = shard_with(&ctx, ShardOptions::new().workers([1]), || 0u8).unwrap();
    assert_eq!(
        by_worker.processors().collect::<Vec<_>>(),
        vec![ProcessorId::os(w)]
    );
    assert_eq!(by_worker.iter().next().unwrap().scope(), &Scope::Process(w));

    let t2 = thread(&ctx, 2);
    let one = shard_with(&ctx, ShardOptions::new().procs([t2, t2]), || 0u8).unwrap();
    assert_eq!(one.len(), 1, "duplicates collapse");
    assert_eq!(one.iter().next().unwrap().scope(), &Scope::Exact(t2));

    let per_worker_threads = shard_with(
        &ctx,
        ShardOptions::new().workers([1]).per_thread(true),
        || 0u8,
    )
    .unwrap();
    assert_eq!(per_worker_threads.len(), 2);
}

/// With a hand-picked set of pieces, a task may land where there is none: it fails with a
/// SchedulingError naming the processor, and a task on a covered processor succeeds. A
/// thread without its own piece falls back to its worker's.
#[test]
fn nearest_piece_or_a_clear_error() {
    let ctx = ctx(2);
    let (t1, t2) = (thread(&ctx, 1), thread(&ctx, 2));
    let cs = shard_with(&ctx, ShardOptions::new().procs([t1]), || AtomicI64::new(0)).unwrap();
    let on = |t| {
        ctx.spawn_with(
            Options::new().scope(Scope::Exact(t)),
            |(c,)| c.fetch_add(1, Ordering::SeqCst),
            (&cs,),
        )
        .fetch()
    };
    assert_eq!(on(t1).unwrap(), 0);
    let e = on(t2).unwrap_err();
    assert!(e.is_scheduling(), "{e}");
    assert!(e.to_string().contains("ThreadProc(w1, 2)"), "{e}");

    let mixed = shard_with(
        &ctx,
        ShardOptions::new().procs([ProcessorId::os(ctx.worker_id()), t1]),
        || AtomicI64::new(0),
    )
    .unwrap();
    assert_eq!(
        mixed.piece_for(t2).unwrap().processor(),
        ProcessorId::os(WorkerId(1))
    );
    assert_eq!(mixed.piece_for(t1).unwrap().processor(), t1);
}

#[test]
fn error_cases() {
    let ctx = ctx(2);
    let w = ctx.worker_id();
    let arg = |o: ShardOptions, what: &str| match shard_with(&ctx, o, || 1 + 1) {
        Err(Error::Argument(m)) => m,
        Err(e) => panic!("{what}: expected ArgumentError, got {e}"),
        Ok(_) => panic!("{what}: expected ArgumentError, got a shard"),
    };
    let os = ProcessorId::os(w);
    let m = arg(
        ShardOptions::new().procs([os]).workers([1]),
        "procs+workers",
    );
    assert!(m.contains("can't mix procs and workers"), "{m}");
    let m = arg(
        ShardOptions::new().procs([os]).per_thread(true),
        "procs+per_thread",
    );
    assert!(m.contains("can't mix procs and per_thread"), "{m}");
    let m = arg(ShardOptions::new().procs([]), "procs=[]");
    assert_eq!(m, "Cannot create empty Shard");
    let m = arg(ShardOptions::new().workers(Vec::<u32>::new()), "workers=[]");
    assert_eq!(m, "Cannot create empty Shard");
    let m = arg(ShardOptions::new().workers([4]), "unknown worker");
    assert!(m.contains("w4"), "{m}");
    let m = arg(
        ShardOptions::new().procs([thread(&ctx, 9)]),
        "unknown processor",
    );
    assert!(m.contains("ThreadProc(w1, 9)"), "{m}");
    match shard_with(&ctx, ShardOptions::new(), || -> u8 { panic!("bad piece") }) {
        Err(e) => assert!(e.to_string().contains("bad piece"), "{e}"),
        Ok(_) => panic!("panicking constructor built a shard"),
    }
}

/// A histogram whose bins grow on demand, guarded by a lock (Dagger.jl's "Distributed
/// Histogram" test): 100 pushes of 5.2 into the local pieces, the merged copies sum to 520.
#[test]
fn distributed_histogram() {
    #[derive(Clone, Debug, Default)]
    struct Histogram {
        bins: Vec<f64>,
    }
    impl Histogram {
        const START: f64 = 0.0;
        const WIDTH: f64 = 1.0;
        const MAX_BINS: usize = 100;
        fn push(&mut self, v: f64) -> Result<(), String> {
            let idx = ((v - Self::START) / Self::WIDTH).floor();
            if !(0.0..Self::MAX_BINS as f64).contains(&idx) {
                return Err(format!("{v}: exhausted allowed number of bins"));
            }
            let idx = idx as usize;
            if self.bins.len() <= idx {
                self.bins.resize(idx + 1, 0.0);
            }
            self.bins[idx] += v;
            Ok(())
        }
        fn merge(mut self, o: &Histogram) -> Histogram {
            if self.bins.len() < o.bins.len() {
                self.bins.resize(o.bins.len(), 0.0);
            }
            for (a, b) in self.bins.iter_mut().zip(&o.bins) {
                *a += b;
            }
            self
        }
    }
    for per_thread in [false, true] {
        let ctx = ctx(2);
        let hs = shard_with(&ctx, ShardOptions::new().per_thread(per_thread), || {
            Mutex::new(Histogram::default())
        })
        .unwrap();
        let ts: Vec<_> = (0..100)
            .map(|_| ctx.try_spawn(|(h,)| h.lock().unwrap().push(5.2), (&hs,)))
            .collect();
        fetch_all(&ts).unwrap();
        let copies = fetch_all(&hs.map(&ctx, |h| h.lock().unwrap().clone())).unwrap();
        let merged = copies.iter().fold(Histogram::default(), Histogram::merge);
        let total: f64 = merged.bins.iter().sum();
        assert!((total - 5.2 * 100.0).abs() < 1e-9, "{total}");
        assert_eq!(merged.bins.len(), 6);
        // Out-of-range values fail their task.
        let bad = ctx.try_spawn(|(h,)| h.lock().unwrap().push(1e6), (&hs,));
        assert!(bad.fetch().unwrap_err().to_string().contains("exhausted"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Increments are never lost nor double counted, whatever the threads and piece layout.
    #[test]
    fn increments_add_up(threads in 1usize..=3, n in 0usize..300, per_thread in any::<bool>()) {
        let ctx = ctx(threads);
        let cs = shard_with(&ctx, ShardOptions::new().per_thread(per_thread), || AtomicI64::new(0)).unwrap();
        prop_assert_eq!(cs.len(), if per_thread { threads } else { 1 });
        increment(&ctx, &cs, n);
        let total: i64 = cs.iter().map(|c| c.fetch().unwrap().load(Ordering::SeqCst)).sum();
        prop_assert_eq!(total, n as i64);
    }

    /// Any list of processors gives one piece per distinct processor, or an ArgumentError for
    /// an empty list or a processor the context does not have.
    #[test]
    fn procs_selection(picks in proptest::collection::vec(0u32..5, 0..6)) {
        let ctx = ctx(2);
        let procs: Vec<ProcessorId> = picks
            .iter()
            .map(|&i| if i == 0 { ProcessorId::os(ctx.worker_id()) } else { thread(&ctx, i) })
            .collect();
        let r = shard_with(&ctx, ShardOptions::new().procs(procs.clone()), || 0u8);
        if procs.is_empty() || picks.iter().any(|&i| i > 2) {
            prop_assert!(matches!(r, Err(Error::Argument(_))));
        } else {
            let mut want = procs;
            want.sort();
            want.dedup();
            prop_assert_eq!(r.unwrap().processors().collect::<Vec<_>>(), want);
        }
    }
}

/// A task taking a per-thread shard and a value pinned to one thread runs on that thread
/// (the shard adds no constraint) and receives that thread's piece; the lazy API works too.
#[test]
fn shard_follows_other_constraints() {
    let ctx = ctx(3);
    let t3 = thread(&ctx, 3);
    let cs = shard_with(&ctx, ShardOptions::new().per_thread(true), || {
        AtomicI64::new(0)
    })
    .unwrap();
    let pin = dagger_shard::mutable_with(
        &ctx,
        dagger_shard::MutableOptions::new().processor(t3),
        || (),
    )
    .unwrap();
    let ts: Vec<_> = (0..30)
        .map(|_| ctx.spawn(|(c, _p)| c.fetch_add(1, Ordering::SeqCst), (&cs, &pin)))
        .collect();
    fetch_all(&ts).unwrap();
    assert_eq!(
        cs.get(t3).unwrap().fetch().unwrap().load(Ordering::SeqCst),
        30
    );
    let lazy = dagger_sched::delayed(
        |(c, _p)| {
            c.fetch_add(1, Ordering::SeqCst);
            current_processor()
        },
        (&cs, &pin),
    );
    assert_eq!(lazy.collect(&ctx).unwrap(), Some(t3));
}
