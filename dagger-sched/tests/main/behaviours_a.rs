//! Group A of the reference's behaviours (task graph basics), plus B24 and B26, on
//! `Context::local()`-style contexts.

use dagger_core::{Error, Options, ProcessorId, ProcessorKind, Scope, WorkerId};
use dagger_sched::{
    delayed, delayed_meta, delayed_with, fetch_all, All, Chunk, Context, DTask, Thunk,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ctx() -> Context {
    Context::builder().threads(2).build()
}

#[test]
fn a1_dependency_values_are_passed_not_handles() {
    let ctx = ctx();
    let add1 = |(x,): (i64,)| x + 1;
    let p = ctx.spawn(add1, (4i64,));
    let q = ctx.spawn(|(p,)| p + 2, (&p,));
    let r = ctx.spawn(add1, (3i64,));
    let s = ctx.spawn(|(p, q, r)| p + q + r, (&p, &q, &r));
    assert_eq!(s.fetch().unwrap(), 16);
    assert_eq!(p.fetch().unwrap(), 5);
}

#[test]
fn a2_chained_arithmetic() {
    let ctx = ctx();
    let x = 2;
    let a: DTask<i32> = ctx.spawn(move |()| x + x, ());
    let b = ctx.spawn(move |()| [x, 1, 2].iter().sum::<i32>(), ());
    let c = ctx.spawn(|(a, b)| a * b, (&a, &b));
    assert_eq!(
        (a.fetch().unwrap(), b.fetch().unwrap(), c.fetch().unwrap()),
        (4, 5, 20)
    );
}

/// Rust has no keyword arguments; a function that takes named options reports an unknown one
/// as an error, and the task fails with it, as Julia's MethodError does.
fn sum_kw(a: &[Vec<f64>], kw: &[(&str, f64)]) -> Result<Vec<f64>, String> {
    let (mut dims, mut init) = (0usize, 0.0);
    for (k, v) in kw {
        match *k {
            "dims" => dims = *v as usize,
            "init" => init = *v,
            other => {
                return Err(format!(
                    "no such method: sum got unsupported keyword argument {other:?}"
                ))
            }
        }
    }
    Ok(match dims {
        1 => (0..a[0].len())
            .map(|j| init + a.iter().map(|r| r[j]).sum::<f64>())
            .collect(),
        _ => vec![init + a.iter().flatten().sum::<f64>()],
    })
}

#[test]
fn a3_keyword_arguments() {
    let ctx = ctx();
    let a = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
    let t = ctx.try_spawn(|(a,)| sum_kw(&a, &[("dims", 1.0)]), (a.clone(),));
    assert_eq!(t.fetch().unwrap(), vec![4.0, 6.0]);
    let t = ctx.try_spawn(
        |(a,)| sum_kw(&a, &[("dims", 1.0), ("init", 2.0)]),
        (a.clone(),),
    );
    assert_eq!(t.fetch().unwrap(), vec![6.0, 8.0]);
    let t = ctx.try_spawn(|(a,)| sum_kw(&a, &[("fakearg", 2.0)]), (a,));
    let e = t.fetch().unwrap_err();
    assert!(matches!(e, Error::TaskFailed { .. }));
    assert!(e.to_string().contains("no such method"), "{e}");
}

#[test]
fn a4_readiness() {
    let ctx = ctx();
    let a = ctx.spawn(|()| std::thread::sleep(Duration::from_millis(200)), ());
    assert!(!a.is_ready());
    a.wait();
    assert!(a.is_ready());
}

#[test]
fn a5_independent_failure() {
    let ctx = ctx();
    let a: DTask<i32> = ctx.spawn(|()| panic!("Test"), ());
    a.wait();
    assert!(a.is_ready());
    let e = a.fetch().unwrap_err();
    assert!(
        matches!(&e, Error::TaskFailed { task, root } if *task == a.id() && root.task == a.id())
    );
    assert!(matches!(e.root_cause(), Error::User(m) if m == "Test"));
    let b = ctx.spawn(|()| 1 + 2, ());
    assert_eq!(b.fetch().unwrap(), 3);
}

#[test]
fn a6_failure_message_shape() {
    let ctx = ctx();
    let a: DTask<i32> = ctx.spawn(|()| panic!("Test"), ());
    let b = ctx.spawn(|(a,)| a + 1, (&a,));
    let ma = a.fetch().unwrap_err().to_string();
    assert!(ma.starts_with("DTaskFailedException:"), "{ma}");
    assert!(ma.contains("Test") && !ma.contains("Root Task"), "{ma}");
    let mb = b.fetch().unwrap_err().to_string();
    assert!(mb.contains("Test") && mb.contains("Root Task"), "{mb}");
}

#[test]
fn a7_transitive_failure_even_when_spawned_after() {
    let ctx = ctx();
    let a: DTask<i32> = ctx.try_spawn(|()| Err("boom"), ());
    let b = ctx.spawn(|(a,)| a + 1, (&a,));
    let c = ctx.spawn(|(b,)| b + 2, (&b,));
    for t in [&b, &c] {
        match t.fetch().unwrap_err() {
            Error::TaskFailed { task, root } => {
                assert_eq!(task, t.id());
                assert_eq!(root.task, a.id());
            }
            e => panic!("unexpected {e}"),
        }
    }
    a.wait();
    let b2 = ctx.spawn(|(a,)| a + 2, (&a,));
    let c2 = ctx.spawn(|(a,)| a * 2, (&a,));
    assert!(b2.fetch().is_err() && c2.fetch().is_err());
    assert!(matches!(c2.fetch().unwrap_err().root_cause(), Error::User(m) if m == "boom"));
}

#[test]
fn a8_diamond_with_failing_sink() {
    let ctx = ctx();
    let a = ctx.spawn(|()| 1 + 1, ());
    let b = ctx.spawn(|(a,)| a + 1, (&a,));
    let c = ctx.spawn(|(a,)| a * 2, (&a,));
    let d: DTask<i32> = ctx.try_spawn(|(_b, _c)| Err("sink fails"), (&b, &c));
    assert_eq!(
        (a.fetch().unwrap(), b.fetch().unwrap(), c.fetch().unwrap()),
        (2, 3, 4)
    );
    assert!(d.fetch().is_err());
}

#[test]
fn a9_sync_block() {
    let ctx = ctx();
    let mut t = None;
    ctx.sync(|| {
        t = Some(ctx.spawn(|()| std::thread::sleep(Duration::from_millis(100)), ()));
    })
    .unwrap();
    assert!(t.unwrap().is_ready());
    let r = ctx.sync(|| {
        ctx.spawn(|()| 1, ());
        ctx.try_spawn(|()| Err::<i32, _>("inside sync"), ());
    });
    assert!(r.unwrap_err().to_string().contains("inside sync"));
}

#[test]
fn a10_gc_safe_long_chain() {
    let ctx = ctx();
    let mut t = ctx.spawn(|()| 0, ());
    for _ in 0..500 {
        t = ctx.spawn(|(x,)| x + 1, (t,));
    }
    assert_eq!(t.fetch().unwrap(), 500);
}

#[test]
fn a11_wide_tree_reduction() {
    let ctx = ctx();
    let mut level: Vec<DTask<i64>> = (0..1000).map(|_| ctx.spawn(|()| 1, ())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [a, b] => ctx.spawn(|(a, b)| a + b, (a, b)),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    assert_eq!(level[0].fetch().unwrap(), 1000);
}

#[test]
fn a12_wide_fan_out() {
    let ctx = ctx();
    let src = ctx.spawn(|()| 10, ());
    let ds: Vec<_> = (0..32)
        .map(|i| ctx.spawn(move |(s,)| s + i, (&src,)))
        .collect();
    for (i, d) in ds.iter().enumerate() {
        assert_eq!(d.fetch().unwrap(), 10 + i as i32);
    }
}

#[test]
fn a13_concurrent_fetchers() {
    let ctx = ctx();
    for _ in 0..20 {
        let t = ctx.spawn(|()| 42, ());
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..16).map(|_| s.spawn(|| t.fetch().unwrap())).collect();
            for h in hs {
                assert_eq!(h.join().unwrap(), 42);
            }
        });
        assert_eq!(t.fetch().unwrap(), 42);
        assert_eq!(t.fetch().unwrap(), 42);
    }
}

#[test]
fn a14_concurrent_dag_construction() {
    let ctx = ctx();
    std::thread::scope(|s| {
        for i in 0..64i64 {
            let ctx = ctx.clone();
            s.spawn(move || {
                let st = ctx.spawn(move |()| i, ());
                let l = ctx.spawn(|(s,)| s + 1, (&st,));
                let r = ctx.spawn(|(s,)| s * 2, (&st,));
                let k = ctx.spawn(|(l, r)| l + r, (&l, &r));
                assert_eq!(k.fetch().unwrap(), 3 * i + 1);
            });
        }
    });
}

#[test]
fn a15_fan_in_and_diamond() {
    let ctx = ctx();
    let ups: Vec<_> = (1..=4).map(|i| ctx.spawn(move |()| i, ())).collect();
    let e = ctx.spawn(
        |(a, b, c, d)| a + b + c + d,
        (&ups[0], &ups[1], &ups[2], &ups[3]),
    );
    assert_eq!(e.fetch().unwrap(), 10);
    let source = ctx.spawn(|()| 7, ());
    let left = ctx.spawn(|(s,)| s + 1, (&source,));
    let right = ctx.spawn(|(s,)| s * 2, (&source,));
    let sink = ctx.spawn(|(l, r)| l + r, (&left, &right));
    assert_eq!(
        (
            left.fetch().unwrap(),
            right.fetch().unwrap(),
            sink.fetch().unwrap()
        ),
        (8, 14, 22)
    );
}

fn cancel_case(delay: Duration) {
    let ctx = ctx();
    let t1 = Scope::Exact(ProcessorId::thread(WorkerId(1), 1));
    let t0 = Instant::now();
    let t = ctx.try_spawn_with(
        Options::new().scope(t1),
        |()| dagger_sched::sleep(Duration::from_secs(100)),
        (),
    );
    std::thread::sleep(delay);
    t.cancel();
    t.wait();
    assert!(t.is_ready());
    let e = t.fetch().unwrap_err();
    assert!(
        matches!(e, Error::TaskFailed { .. }) && e.is_cancelled(),
        "{e}"
    );
    let dep = ctx.spawn(|(x,)| x, (&t,));
    assert!(dep.fetch().unwrap_err().is_cancelled());
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(ctx.spawn(|()| 5, ()).fetch().unwrap(), 5);
}

#[test]
fn a16_cancellation_immediate() {
    cancel_case(Duration::ZERO);
}

#[test]
fn a16_cancellation_while_running() {
    cancel_case(Duration::from_millis(100));
}

#[test]
fn a16_cancel_queued_task() {
    let ctx = Context::builder().threads(1).build();
    let blocker = ctx.spawn(|()| std::thread::sleep(Duration::from_millis(200)), ());
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let queued = ctx.spawn(move |()| r.fetch_add(1, Ordering::SeqCst), ());
    queued.cancel();
    blocker.wait();
    assert!(queued.fetch().unwrap_err().is_cancelled());
    ctx.spawn(|()| (), ()).wait();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "a cancelled queued task must not run"
    );
}

#[test]
fn a17_lazy_graph_api() {
    let ctx = ctx();
    let x = 2;
    let a = delayed(move |()| x + x, ());
    let b = delayed(move |()| [x, 1, 2].iter().sum::<i32>(), ());
    let c = delayed(|(a, b)| a * b, (&a, &b));
    assert_eq!(c.collect(&ctx).unwrap(), 20);
    let chunk: Chunk<i32> = delayed(|()| 1 + 2, ()).compute(&ctx).unwrap();
    assert_eq!(chunk.fetch().unwrap(), 3);
    let bad = delayed(|()| -> i32 { panic!("lazy boom") }, ());
    let after = delayed(|(b,)| b + 1, (&bad,));
    let e = after.collect(&ctx).unwrap_err();
    assert!(
        e.to_string().contains("lazy boom") && e.to_string().contains("Root Task"),
        "{e}"
    );
}

/// A fallible thunk: its `Ok` is the value, its `Err` fails it (the root cause) and its
/// dependents name it, and a panic in its body is still caught.
#[test]
fn a17_try_delayed_fails_without_panicking() {
    let ctx = ctx();
    let half = |(x,): (u32,)| {
        if x % 2 == 0 {
            Ok(x / 2)
        } else {
            Err(format!("{x} is odd"))
        }
    };
    let ok = Thunk::try_delayed(half, (42u32,));
    let sum = delayed(|(h,)| h + 1, (&ok,));
    assert_eq!(sum.collect(&ctx).unwrap(), 22);

    let bad = Thunk::try_delayed_with(Options::new().name("halver"), half, (7u32,));
    let mid = delayed(|(h,)| h + 1, (&bad,));
    let top = delayed(|(m, o)| m + o, (&mid, &ok));
    let e = top.collect(&ctx).unwrap_err();
    let bad_id = match &e {
        Error::TaskFailed { root, task } => {
            assert!(
                matches!(&root.error, Error::User(m) if m == "7 is odd"),
                "{e}"
            );
            assert_eq!(root.name.as_deref(), Some("halver"));
            assert_ne!(
                *task, root.task,
                "the root is the failing leaf, not the top"
            );
            root.task
        }
        other => panic!("expected TaskFailed, got {other}"),
    };
    let msg = e.to_string();
    assert!(
        msg.contains("7 is odd") && msg.contains("Root Task"),
        "{msg}"
    );
    // The failing thunk itself reports the same root.
    match bad.compute(&ctx).unwrap_err() {
        Error::TaskFailed { root, .. } => {
            assert!(matches!(&root.error, Error::User(m) if m == "7 is odd"));
            assert_ne!(root.task, bad_id, "a new computation spawns a new task");
        }
        other => panic!("expected TaskFailed, got {other}"),
    }

    let panics = Thunk::try_delayed(|()| -> Result<u32, String> { panic!("try boom") }, ());
    let after = delayed(|(p,)| p + 1, (&panics,));
    let msg = after.collect(&ctx).unwrap_err().to_string();
    assert!(
        msg.contains("try boom") && msg.contains("Root Task"),
        "{msg}"
    );
}

#[test]
fn a18_fetch_all() {
    let ctx = ctx();
    let ts: Vec<_> = (0..4).map(|_| ctx.spawn(|()| 1 + 1, ())).collect();
    assert_eq!(fetch_all(&ts).unwrap(), vec![2, 2, 2, 2]);
    let cs: Vec<Chunk<i32>> = ts.iter().map(|t| t.chunk().unwrap()).collect();
    assert_eq!(fetch_all(&cs).unwrap(), vec![2, 2, 2, 2]);
    assert_eq!(fetch_all(&(ts[0].clone(), cs[1].clone())).unwrap(), (2, 2));
    assert_eq!(fetch_all(&ts[0]).unwrap(), 2);
    assert_eq!(fetch_all(&cs[0]).unwrap(), 2);
    let failing: DTask<i32> = ctx.spawn(|()| panic!("x"), ());
    assert!(fetch_all(&vec![ts[0].clone(), failing]).is_err());
}

#[test]
fn a19_meta_passes_chunks_and_keeps_raw_return() {
    let ctx = ctx();
    let a = delayed(|()| 5u64, ());
    let inner = ctx.clone();
    let m = delayed_meta(
        move |(c,): (Chunk<u64>,)| {
            assert_eq!(c.type_name(), "u64");
            inner.tochunk(inner.worker_id())
        },
        (&a,),
    );
    let raw: Chunk<WorkerId> = m.collect(&ctx).unwrap();
    let w = raw.fetch().unwrap();
    assert!(ctx.universe().workers.iter().any(|(x, _)| *x == w));
}

#[test]
fn a20_get_result_returns_the_value_to_the_driver() {
    let ctx = ctx();
    let normal = delayed(|()| 1, ()).compute(&ctx).unwrap();
    assert_eq!(normal.processor().kind, ProcessorKind::Thread);
    let raw = delayed_with(Options::new().get_result(true), |()| 1, ())
        .compute(&ctx)
        .unwrap();
    assert_eq!(raw.processor(), ProcessorId::os(WorkerId::DRIVER));
    assert_eq!(raw.fetch().unwrap(), 1);
}

#[test]
fn b24_nested_fetch_on_the_only_thread() {
    let ctx = ctx();
    let t11 = Scope::Exact(ProcessorId::thread(WorkerId(1), 1));
    let inner_ctx = ctx.clone();
    let s = t11.clone();
    let outer = ctx.spawn_with(
        Options::new().scope(t11),
        move |()| {
            let inner = inner_ctx.spawn_with(Options::new().scope(s), |()| 41, ());
            inner.fetch().unwrap() + 1
        },
        (),
    );
    assert_eq!(outer.fetch().unwrap(), 42);
    assert_eq!(
        outer.chunk().unwrap().processor(),
        ProcessorId::thread(WorkerId(1), 1)
    );
}

#[test]
fn b24_nested_fetch_on_a_single_thread_context() {
    let ctx = Context::builder().threads(1).build();
    let c2 = ctx.clone();
    let outer = ctx.spawn(
        move |()| {
            let inners: Vec<_> = (0..10).map(|i| c2.spawn(move |()| i, ())).collect();
            fetch_all(&inners).unwrap().iter().sum::<i32>()
        },
        (),
    );
    assert_eq!(outer.fetch().unwrap(), 45);
}

#[test]
fn b26_processor_exhaustion_is_a_scheduling_error() {
    let ctx = ctx();
    let nowhere = Scope::ProcessorType(ProcessorKind::Custom(9));
    let t = ctx.spawn_with(
        Options::new().scope(nowhere.clone()),
        |()| [1, 2, 3].iter().sum::<i32>(),
        (),
    );
    let e = t.fetch().unwrap_err();
    assert!(
        matches!(e, Error::TaskFailed { .. }) && e.is_scheduling(),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("No processors available, try widening scope"),
        "{e}"
    );
    let lazy = delayed_with(Options::new().scope(nowhere), |()| 1, ());
    assert!(lazy.collect(&ctx).unwrap_err().is_scheduling());
    assert_eq!(
        ctx.spawn(|()| [1, 2, 3].iter().sum::<i32>(), ())
            .fetch()
            .unwrap(),
        6
    );
    // A scope naming another worker is refused for a closure, never a hang.
    let elsewhere = ctx.spawn_with(
        Options::new().scope(Scope::Process(WorkerId(7))),
        |()| 1,
        (),
    );
    assert!(elsewhere.fetch().unwrap_err().is_scheduling());
}

#[test]
fn all_collects_many_dependencies_in_order() {
    let ctx = ctx();
    let parts: Vec<_> = (0..100).map(|i| ctx.spawn(move |()| i, ())).collect();
    let v = ctx.spawn(|(v,)| v, (All(parts),)).fetch().unwrap();
    assert_eq!(v, (0..100).collect::<Vec<_>>());
}
