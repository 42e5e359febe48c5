//! `mutable`: the reference's examples (mutation-and-sharding, data-management), behaviour
//! C35 in its local form, and every error case.

use crate::common::{ctx, thread};
use dagger_core::{Error, Options, ProcessorId, Scope, ScopeSpec, WorkerId};
use dagger_sched::{current_processor, fetch_all};
use dagger_shard::{mutable, mutable_with, MutableOptions};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

fn assert_scheduling(e: &Error, what: &str) {
    assert!(
        e.is_scheduling(),
        "{what}: expected a SchedulingError, got {e}"
    );
}

/// Seed example: an atomic counter pinned to a thread, incremented from many tasks, every one
/// of which runs on that thread.
#[test]
fn counter_pinned_to_a_thread_runs_every_task_there() {
    let ctx = ctx(3);
    let t2 = thread(&ctx, 2);
    let x = mutable_with(&ctx, MutableOptions::new().processor(t2), || {
        (AtomicI64::new(0), current_processor())
    })
    .unwrap();
    assert_eq!(x.processor(), t2);
    assert_eq!(x.scope(), &Scope::Exact(t2));
    assert_eq!(x.owner(), ctx.worker_id());
    // Constructed on the target.
    assert_eq!(x.fetch().unwrap().1, Some(t2));
    let ts: Vec<_> = (0..60)
        .map(|_| {
            ctx.spawn(
                |(x,)| {
                    x.0.fetch_add(3, Ordering::SeqCst);
                    current_processor()
                },
                (&x,),
            )
        })
        .collect();
    assert!(fetch_all(&ts).unwrap().iter().all(|p| *p == Some(t2)));
    assert_eq!(x.fetch().unwrap().0.load(Ordering::SeqCst), 180);
}

/// Seed example with `worker=1`: scope `ProcessScope(w1)`, any thread of worker 1 may run it.
#[test]
fn counter_pinned_to_worker_one() {
    let ctx = ctx(2);
    let w = WorkerId(1);
    let x = mutable_with(&ctx, MutableOptions::new().worker(1), || AtomicI64::new(0)).unwrap();
    assert_eq!(x.processor(), ProcessorId::os(w));
    assert_eq!(x.scope(), &Scope::Process(w));
    let ts: Vec<_> = (0..100)
        .map(|_| {
            ctx.spawn(
                |(x,)| {
                    x.fetch_add(1, Ordering::SeqCst);
                    current_processor()
                },
                (&x,),
            )
        })
        .collect();
    for p in fetch_all(&ts).unwrap() {
        assert_eq!(p.map(|p| p.worker), Some(w));
    }
    assert_eq!(x.with(|v| v.load(Ordering::SeqCst)).unwrap(), 100);
}

/// `fetch(@spawn single=1 atomic_add!(x, 3))` → SchedulingException: the same task forced
/// onto another thread's exact scope fails, and says why.
#[test]
fn forcing_a_task_elsewhere_is_a_scheduling_error() {
    let ctx = ctx(2);
    let x = mutable_with(
        &ctx,
        MutableOptions::new().processor(thread(&ctx, 1)),
        || AtomicI64::new(0),
    )
    .unwrap();
    let elsewhere = ctx.scope(&ScopeSpec::new().worker(1).thread(2)).unwrap();
    let bad = ctx.spawn_with(
        Options::new().scope(elsewhere),
        |(x,)| x.fetch_add(3, Ordering::SeqCst),
        (&x,),
    );
    let e = bad.fetch().unwrap_err();
    assert_scheduling(&e, "forced task");
    let msg = e.root_cause().to_string();
    assert!(
        msg.contains("Current scope and argument Chunk scope are not compatible:"),
        "{msg}"
    );
    // A dependent fails too, naming the root cause.
    let dep = ctx.spawn(|(v,)| v + 1, (&bad,));
    assert_scheduling(&dep.fetch().unwrap_err(), "dependent");
    // Nothing ran.
    assert_eq!(x.fetch().unwrap().load(Ordering::SeqCst), 0);
    // A compatible task scope (the whole process) still runs, on the pinned thread.
    let ok = ctx.spawn_with(
        Options::new().scope(Scope::Process(ctx.worker_id())),
        |(x,)| {
            x.fetch_add(3, Ordering::SeqCst);
            current_processor()
        },
        (&x,),
    );
    assert_eq!(ok.fetch().unwrap(), Some(thread(&ctx, 1)));
}

/// C35, local form: `x = @mutable worker=w Ref{Int}()`; a task setting `x[] = myid()` returns
/// `w`; with another process's scope it is a SchedulingError. "Both directions" are the two
/// threads here (pinned to 1, asked for 2; pinned to 2, asked for 1).
#[test]
fn c35_mutable_pinning() {
    let ctx = ctx(2);
    let x = mutable_with(&ctx, MutableOptions::new().worker(1), || AtomicU32::new(0)).unwrap();
    let update = |(x,): (Arc<AtomicU32>,)| {
        // ok: tasks always run on a thread processor
        let me = current_processor().unwrap().worker.get();
        x.store(me, Ordering::SeqCst);
        me
    };
    assert_eq!(ctx.spawn(update, (&x,)).fetch().unwrap(), 1);
    assert_eq!(x.fetch().unwrap().load(Ordering::SeqCst), 1);
    let other = ctx.spawn_with(
        Options::new().scope(Scope::Process(WorkerId(2))),
        update,
        (&x,),
    );
    assert_scheduling(&other.fetch().unwrap_err(), "other process");

    for (home, away) in [(1, 2), (2, 1)] {
        let x = mutable_with(
            &ctx,
            MutableOptions::new().processor(thread(&ctx, home)),
            || AtomicU32::new(0),
        )
        .unwrap();
        let ran = ctx.spawn(|(_x,)| current_processor(), (&x,));
        assert_eq!(ran.fetch().unwrap(), Some(thread(&ctx, home)));
        let bad = ctx.spawn_with(
            Options::new().scope(Scope::Exact(thread(&ctx, away))),
            update,
            (&x,),
        );
        assert_scheduling(&bad.fetch().unwrap_err(), "other thread");
    }
}

/// data-management: `@mutable scope=Dagger.scope(worker=1, threads=[3,4]) rand(100)` — here
/// threads 2 and 3 of a three-thread context.
#[test]
fn explicit_scope_of_two_threads() {
    let ctx = ctx(3);
    let s = ctx
        .scope(&ScopeSpec::new().worker(1).threads([2, 3]))
        .unwrap();
    let x = mutable_with(&ctx, MutableOptions::new().scope(s.clone()), || {
        let v: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        (Mutex::new(v), current_processor())
    })
    .unwrap();
    assert_eq!(x.scope(), &s);
    assert_eq!(x.processor(), ProcessorId::os(ctx.worker_id()));
    let allowed = [Some(thread(&ctx, 2)), Some(thread(&ctx, 3))];
    // Constructed within the scope.
    assert!(allowed.contains(&x.fetch().unwrap().1));
    let ts: Vec<_> = (0..40)
        .map(|i| {
            ctx.spawn(
                move |(x,)| {
                    x.0.lock().unwrap()[i] += 1.0;
                    current_processor()
                },
                (&x,),
            )
        })
        .collect();
    assert!(fetch_all(&ts).unwrap().iter().all(|p| allowed.contains(p)));
    let total: f64 = x.with(|v| v.0.lock().unwrap().iter().sum()).unwrap();
    assert!((total - (49.5 + 40.0)).abs() < 1e-9, "{total}");
    let bad = ctx.spawn_with(
        Options::new().scope(Scope::Exact(thread(&ctx, 1))),
        |(x,)| x.0.lock().unwrap().len(),
        (&x,),
    );
    assert_scheduling(&bad.fetch().unwrap_err(), "thread 1");
}

/// mutation-and-sharding: `@mutable OSProc() scope rand(100)` with a union of two exact
/// thread scopes.
#[test]
fn os_processor_with_union_of_exact_scopes() {
    let ctx = ctx(3);
    let (p2, p3) = (thread(&ctx, 2), thread(&ctx, 3));
    let scope = Scope::union([Scope::Exact(p2), Scope::Exact(p3)]).unwrap();
    let opts = MutableOptions::new()
        .processor(ProcessorId::os(ctx.worker_id()))
        .scope(scope.clone());
    let x = mutable_with(&ctx, &opts, || Mutex::new(vec![0.5f64; 100])).unwrap();
    assert_eq!(x.scope(), &scope);
    let ts: Vec<_> = (0..20)
        .map(|_| ctx.spawn(|(_x,)| current_processor(), (&x,)))
        .collect();
    for p in fetch_all(&ts).unwrap() {
        assert!(p == Some(p2) || p == Some(p3), "{p:?}");
    }
}

/// `x = remotecall_fetch(2) do @mutable ... end`: made inside a task, the value belongs to the
/// process that made it.
#[test]
fn made_inside_a_task() {
    let ctx = ctx(2);
    let inner = ctx.clone();
    let x = ctx
        .spawn(move |()| mutable(&inner, || AtomicI64::new(0)), ())
        .fetch()
        .unwrap()
        .unwrap();
    assert_eq!(x.processor(), ProcessorId::os(WorkerId(1)));
    assert_eq!(x.scope(), &Scope::Process(WorkerId(1)));
    ctx.spawn(|(x,)| x.fetch_add(3, Ordering::SeqCst), (x.clone(),))
        .fetch()
        .unwrap();
    assert_eq!(x.fetch().unwrap().load(Ordering::SeqCst), 3);
}

/// Never copied: every task and the caller share one allocation.
#[test]
fn value_is_shared_not_copied() {
    let ctx = ctx(2);
    let x = mutable(&ctx, || Mutex::new(String::from("a"))).unwrap();
    let here = Arc::as_ptr(&x.fetch().unwrap()) as usize;
    let ts: Vec<_> = (0..10)
        .map(|_| ctx.spawn(|(x,)| Arc::as_ptr(&x) as usize, (&x,)))
        .collect();
    assert!(fetch_all(&ts).unwrap().iter().all(|p| *p == here));
    // Clones are handles to the same value.
    let y = x.clone();
    y.with(|s| s.lock().unwrap().push('b')).unwrap();
    assert_eq!(x.with(|s| s.lock().unwrap().clone()).unwrap(), "ab");
}

#[test]
fn error_cases() {
    let ctx = ctx(2);
    let arg = |r: Result<_, Error>, what: &str| match r {
        Err(Error::Argument(m)) => m,
        Err(e) => panic!("{what}: expected ArgumentError, got {e}"),
        Ok(_) => panic!("{what}: expected ArgumentError, got a value"),
    };
    let both = MutableOptions::new().worker(1).processor(thread(&ctx, 1));
    let m = arg(mutable_with(&ctx, &both, || 0u8), "worker+processor");
    assert!(m.contains("can't mix worker and processor"), "{m}");
    let m = arg(
        mutable_with(&ctx, MutableOptions::new().worker(9), || 0u8),
        "unknown worker",
    );
    assert!(m.contains("w9"), "{m}");
    let m = arg(
        mutable_with(
            &ctx,
            MutableOptions::new().processor(thread(&ctx, 7)),
            || 0u8,
        ),
        "unknown processor",
    );
    assert!(m.contains("ThreadProc(w1, 7)"), "{m}");
    let excl = MutableOptions::new()
        .processor(thread(&ctx, 1))
        .scope(Scope::Exact(thread(&ctx, 2)));
    let m = arg(mutable_with(&ctx, &excl, || 0u8), "scope excludes target");
    assert!(m.contains("does not include"), "{m}");

    // A scope nothing can satisfy fails the constructor with a SchedulingError.
    let nowhere = MutableOptions::new().scope(Scope::Process(WorkerId(2)));
    match mutable_with(&ctx, &nowhere, || 0u8) {
        Err(e) => assert_scheduling(&e, "unsatisfiable scope"),
        Ok(_) => panic!("unsatisfiable scope built a value"),
    }
    // A panicking constructor is the constructor task's failure.
    match mutable(&ctx, || -> u8 { panic!("no counter today") }) {
        Err(e) => assert!(e.to_string().contains("no counter today"), "{e}"),
        Ok(_) => panic!("panicking constructor built a value"),
    }
}

/// The lazy API takes a mutable value too, with the same pinning.
#[test]
fn lazy_tasks_are_pinned_too() {
    let ctx = ctx(2);
    let t2 = thread(&ctx, 2);
    let x = mutable_with(&ctx, MutableOptions::new().processor(t2), || {
        AtomicI64::new(0)
    })
    .unwrap();
    let a = dagger_sched::delayed(
        |(x,)| {
            x.fetch_add(1, Ordering::SeqCst);
            current_processor()
        },
        (&x,),
    );
    let b = dagger_sched::delayed(|(p, x)| (p, x.load(Ordering::SeqCst)), (&a, &x));
    assert_eq!(b.collect(&ctx).unwrap(), (Some(t2), 1));
    let bad = dagger_sched::delayed_with(
        Options::new().scope(Scope::Exact(thread(&ctx, 1))),
        |(x,)| x.load(Ordering::SeqCst),
        (&x,),
    );
    assert_scheduling(&bad.collect(&ctx).unwrap_err(), "lazy, other thread");
}

/// Made by a task pinned to the very thread the value is pinned to: the waiting task lets the
/// constructor run on its own thread meanwhile.
#[test]
fn made_on_the_thread_that_waits() {
    let ctx = ctx(2);
    let t1 = thread(&ctx, 1);
    let inner = ctx.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let task = ctx.spawn_with(
        Options::new().scope(Scope::Exact(t1)),
        move |()| {
            let x = mutable_with(&inner, MutableOptions::new().processor(t1), || {
                current_processor()
            });
            let _ = tx.send(());
            x.map(|x| x.fetch().map(|p| *p))
        },
        (),
    );
    // A hang would be a bug: fail instead of blocking the test run.
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("constructor never ran on the waiting thread");
    assert_eq!(task.fetch().unwrap().unwrap().unwrap(), Some(t1));
    let cs_ctx = ctx.clone();
    let per_thread = ctx.spawn_with(
        Options::new().scope(Scope::Exact(t1)),
        move |()| {
            dagger_shard::shard_with(
                &cs_ctx,
                dagger_shard::ShardOptions::new().per_thread(true),
                current_processor,
            )
            .map(|s| s.len())
        },
        (),
    );
    assert_eq!(per_thread.fetch().unwrap().unwrap(), 2);
}

/// In a datadeps region, declared accesses to a pinned value order the tasks: `InOut`
/// updates run in program order, and a reader sees every earlier write.
#[test]
fn datadeps_orders_declared_accesses_to_a_mutable() {
    use dagger_sched::{In, InOut};
    let ctx = dagger_sched::Context::builder().threads(2).build();
    let log = dagger_shard::mutable(&ctx, || std::sync::Mutex::new(Vec::new())).unwrap();
    let seen = ctx
        .datadeps(|| {
            for i in 0..40 {
                ctx.spawn(
                    move |(l,)| {
                        // A short pause makes a wrong order likely if nothing orders them.
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        l.lock().unwrap().push(i)
                    },
                    (InOut(&log),),
                );
            }
            ctx.spawn(|(l,)| l.lock().unwrap().len(), (In(&log),))
        })
        .unwrap();
    assert_eq!(seen.fetch().unwrap(), 40);
    assert_eq!(
        log.with(|l| l.lock().unwrap().clone()).unwrap(),
        (0..40).collect::<Vec<_>>()
    );
}
