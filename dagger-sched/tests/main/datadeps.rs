//! Datadeps regions, task queues and in-place `Data`: ordering by declared accesses, views,
//! failures, and a differential test against sequential execution.

use dagger_core::Extent;
use dagger_sched::datadeps::Declared;
use dagger_sched::{
    Arg, Context, Data, DataMut, DataRef, Dependency, Error, In, InOut, IntoArg, Out, ReadArg,
    Scope, WriteArg,
};
use proptest::prelude::*;

use crate::datadeps_program::{body, program, run_sequential, Acc, SHAPE};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn ctx() -> Context {
    Context::builder().threads(2).build()
}

type Vf = Data<Vec<f64>>;

fn add((mut x, y): (DataMut<Vec<f64>>, DataRef<Vec<f64>>)) {
    x.iter_mut().zip(y.iter()).for_each(|(x, y)| *x += y);
}

#[test]
fn datadeps_read_write_ordering_gives_the_sequential_result() {
    // Behaviour 42: B += A, C += A, C += B, D = C.
    let ctx = ctx();
    let init: Vec<Vec<f64>> = (0..3)
        .map(|k| (0..1000).map(|i| (i * (k + 1)) as f64).collect())
        .collect();
    let (a, b, c): (Vf, Vf, Vf) = (
        Data::new(init[0].clone()),
        Data::new(init[1].clone()),
        Data::new(init[2].clone()),
    );
    let d: Vf = Data::new(vec![0.0; 1000]);
    ctx.datadeps(|| {
        ctx.spawn(add, (InOut(&b), In(&a)));
        ctx.spawn(add, (InOut(&c), In(&a)));
        ctx.spawn(add, (InOut(&c), In(&b)));
        ctx.spawn(|(mut d, c)| d.copy_from_slice(&c), (Out(&d), In(&c)));
    })
    .unwrap();
    let want: Vec<f64> = (0..1000)
        .map(|i| (init[0][i] + init[1][i]) + (init[0][i] + init[2][i]))
        .collect();
    assert_eq!(c.get(), want);
    assert_eq!(d.get(), want);
}

#[test]
fn datadeps_region_holds_its_tasks_until_the_body_returns() {
    let ctx = ctx();
    let ran = Arc::new(AtomicBool::new(false));
    let x = Data::new(0u32);
    let r = ran.clone();
    let out = ctx
        .datadeps(|| {
            let t = ctx.spawn(
                move |(mut x,): (DataMut<u32>,)| {
                    r.store(true, Ordering::SeqCst);
                    *x += 1;
                },
                (InOut(&x),),
            );
            std::thread::sleep(Duration::from_millis(30));
            assert!(
                !ran.load(Ordering::SeqCst),
                "a region task ran before the region closed"
            );
            let e = t.fetch().unwrap_err();
            assert!(matches!(e, Error::Concurrency(_)), "{e}");
            t.wait(); // returns at once, never hangs
            42
        })
        .unwrap();
    assert_eq!(out, 42);
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(x.get(), 1);
}

#[test]
fn datadeps_two_readers_of_one_object_run_at_the_same_time() {
    let ctx = ctx();
    let x = Data::new(5u64);
    let started = Arc::new(AtomicUsize::new(0));
    let reader = |started: Arc<AtomicUsize>| {
        move |(x,): (DataRef<u64>,)| {
            started.fetch_add(1, Ordering::SeqCst);
            // Wait (bounded) for the other reader to start: only possible if both run at once.
            let deadline = Instant::now() + Duration::from_secs(10);
            while started.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                std::hint::spin_loop();
            }
            (*x, started.load(Ordering::SeqCst) >= 2)
        }
    };
    let (a, b) = ctx
        .datadeps(|| {
            (
                ctx.spawn(reader(started.clone()), (In(&x),)),
                ctx.spawn(reader(started.clone()), (In(&x),)),
            )
        })
        .unwrap();
    assert_eq!(a.fetch().unwrap(), (5, true));
    assert_eq!(b.fetch().unwrap(), (5, true));
}

#[test]
fn datadeps_a_write_after_a_read_waits_for_the_read() {
    let ctx = ctx();
    let x = Data::new(1i64);
    let read_done = Arc::new(AtomicBool::new(false));
    let rd = read_done.clone();
    let (r, w) = ctx
        .datadeps(|| {
            let r = ctx.spawn(
                move |(x,): (DataRef<i64>,)| {
                    std::thread::sleep(Duration::from_millis(50));
                    rd.store(true, Ordering::SeqCst);
                    *x
                },
                (In(&x),),
            );
            let rd = read_done.clone();
            let w = ctx.spawn(
                move |(mut x,): (DataMut<i64>,)| {
                    let after = rd.load(Ordering::SeqCst);
                    *x = 2;
                    after
                },
                (Out(&x),),
            );
            (r, w)
        })
        .unwrap();
    assert_eq!(r.fetch().unwrap(), 1, "the read saw the old value");
    assert!(
        w.fetch().unwrap(),
        "the write started before the read finished"
    );
    assert_eq!(x.get(), 2);
}

#[test]
fn datadeps_overlapping_views_are_ordered_and_disjoint_ones_are_not() {
    // Behaviour 43: InOut(V[0..2]) and InOut(V[1..3]) each set to 1 → V == [1, 1, 1].
    let ctx = ctx();
    let v = Data::with_shape(vec![0; 3], [3, 1]);
    let set = |(mut v,): (DataMut<Vec<i32>>,)| {
        if let Extent::Rect { rows, .. } = v.extent().clone() {
            for i in rows {
                v[i] = 1;
            }
        }
    };
    ctx.datadeps(|| {
        ctx.spawn(set, (InOut(v.rows(0..2)),));
        ctx.spawn(set, (InOut(v.rows(1..3)),));
    })
    .unwrap();
    assert_eq!(v.get(), vec![1, 1, 1]);
    // Disjoint views: the second writer does not wait for the first (which waits for it).
    let gate = Arc::new(AtomicBool::new(false));
    let (g1, g2) = (gate.clone(), gate.clone());
    let (first, second) = ctx
        .datadeps(|| {
            let first = ctx.spawn(
                move |()| {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while !g1.load(Ordering::SeqCst) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    g1.load(Ordering::SeqCst)
                },
                (),
            );
            let second = ctx.spawn(
                move |(_v,): (DataMut<Vec<i32>>,)| g2.store(true, Ordering::SeqCst),
                (InOut(v.rows(2..3)),),
            );
            (first, second)
        })
        .unwrap();
    second.fetch().unwrap();
    assert!(first.fetch().unwrap());
}

#[test]
fn datadeps_a_failure_fails_its_dependents_only_and_the_region_returns_it() {
    let ctx = ctx();
    let (x, y) = (Data::new(0i32), Data::new(0i32));
    let mut handles = None;
    let r = ctx.datadeps(|| {
        let bad = ctx.try_spawn(
            |(_x,): (DataMut<i32>,)| Err::<(), _>("the root cause"),
            (InOut(&x),),
        );
        let reader = ctx.spawn(|(x,): (DataRef<i32>,)| *x, (In(&x),));
        let other = ctx.spawn(|(mut y,): (DataMut<i32>,)| *y = 9, (InOut(&y),));
        handles = Some((bad, reader, other));
    });
    let e = r.unwrap_err().to_string();
    assert!(e.contains("the root cause"), "{e}");
    let (bad, reader, other) = handles.unwrap();
    let re = reader.fetch().unwrap_err();
    match &re {
        Error::TaskFailed { task, root } => {
            assert_eq!(*task, reader.id());
            assert_eq!(root.task, bad.id(), "the root cause is the failed writer");
        }
        e => panic!("expected TaskFailed, got {e}"),
    }
    other.fetch().unwrap();
    assert_eq!(y.get(), 9);
}

#[test]
fn datadeps_bad_declarations_are_typed_errors_at_spawn() {
    let ctx = ctx();
    let m = Data::with_shape(vec![0.0f64; 16], [4, 4]);
    let r = ctx.datadeps(|| {
        let t = ctx.spawn(|(_m,): (DataMut<Vec<f64>>,)| (), (InOut(m.rows(3..9)),));
        // Failed when spawned: done at once, though the region has not launched anything.
        assert!(t.is_ready());
        let e = t.fetch().unwrap_err().to_string();
        assert!(e.contains("rows 3..9") && e.contains("4×4"), "{e}");
        let plain = ctx.spawn(|()| 1.5f64, ());
        let w = ctx.spawn(|(_x,): (f64,)| (), (InOut(&plain),));
        let e = w.fetch().unwrap_err().to_string();
        assert!(
            e.contains("immutable") && e.contains("ArgumentError"),
            "{e}"
        );
        let twice = ctx.spawn(
            |_: (DataRef<Vec<f64>>, DataMut<Vec<f64>>)| (),
            (In(&m), Out(&m)),
        );
        assert!(twice
            .fetch()
            .unwrap_err()
            .to_string()
            .contains("named twice"));
        let noshape = Data::new(1u8);
        let d = ctx.spawn(|_: (DataRef<u8>,)| (), (In(noshape.diagonal()),));
        assert!(d.fetch().unwrap_err().to_string().contains("no shape"));
    });
    assert!(r.unwrap_err().to_string().contains("rows 3..9"));
}

#[test]
fn datadeps_a_region_inside_a_region_joins_it() {
    let ctx = ctx();
    let x = Data::new(Vec::<u32>::new());
    let push = |i: u32| move |(mut x,): (DataMut<Vec<u32>>,)| x.push(i);
    ctx.datadeps(|| {
        ctx.spawn(push(1), (InOut(&x),));
        ctx.datadeps(|| ctx.spawn(push(2), (InOut(&x),))).unwrap();
        ctx.spawn(push(3), (InOut(&x),));
    })
    .unwrap();
    assert_eq!(x.get(), vec![1, 2, 3]);
}

#[test]
fn datadeps_tiled_tree_reduction_of_many_vectors() {
    // Behaviour 45's first half: 200 vectors reduced pairwise into the first.
    let ctx = ctx();
    let vs: Vec<Vf> = (0..200).map(|i| Data::new(vec![i as f64; 8])).collect();
    ctx.datadeps(|| {
        let mut step = 1;
        while step < vs.len() {
            for i in (0..vs.len()).step_by(2 * step) {
                if i + step < vs.len() {
                    ctx.spawn(add, (InOut(&vs[i]), In(&vs[i + step])));
                }
            }
            step *= 2;
        }
    })
    .unwrap();
    assert_eq!(vs[0].get(), vec![(0..200).sum::<i32>() as f64; 8]);
}

#[test]
fn queues_bulk_sequential_and_wait_all() {
    let ctx = ctx();
    // spawn_bulk: nothing runs before the body returns; everything does after.
    let count = Arc::new(AtomicUsize::new(0));
    let ts = ctx.spawn_bulk(|| {
        let ts: Vec<_> = (0..50)
            .map(|_| {
                let c = count.clone();
                ctx.spawn(move |()| c.fetch_add(1, Ordering::SeqCst), ())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(count.load(Ordering::SeqCst), 0);
        assert!(matches!(ts[0].fetch(), Err(Error::Concurrency(_))));
        ts
    });
    dagger_sched::fetch_all(&ts).unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 50);
    // spawn_sequential: one after another, with a bulk batch in the middle.
    let log = Arc::new(Mutex::new(Vec::new()));
    let entry = |i: u32, log: &Arc<Mutex<Vec<u32>>>| {
        let log = log.clone();
        move |()| {
            std::thread::sleep(Duration::from_millis(2));
            log.lock().unwrap().push(i)
        }
    };
    ctx.wait_all(true, || {
        ctx.spawn_sequential(|| {
            ctx.spawn(entry(0, &log), ());
            ctx.spawn_bulk(|| {
                ctx.spawn(entry(1, &log), ());
                ctx.spawn(entry(1, &log), ());
            });
            ctx.spawn(entry(2, &log), ());
        })
    })
    .unwrap();
    assert_eq!(*log.lock().unwrap(), vec![0, 1, 1, 2]);
    // wait_all: with check_errors the first error, without only the value.
    let r = ctx.wait_all(true, || {
        ctx.spawn(|()| dagger_sched::sleep(Duration::from_millis(10)), ());
        ctx.try_spawn(|()| Err::<(), _>("queue failure"), ());
    });
    assert!(r.unwrap_err().to_string().contains("queue failure"));
    assert!(ctx
        .wait_all(false, || ctx.try_spawn(|()| Err::<(), _>("x"), ()))
        .is_ok());
}

#[test]
fn datadeps_large_regions_one_after_another_plan_apart() {
    // Many more tasks than one launch run holds (256), regions in a row on one thread (the
    // second reuses the first's tables), chains and independent objects mixed, and views.
    let ctx = ctx();
    let objs: Vec<Data<u64>> = (0..700).map(|_| Data::new(0)).collect();
    let chain = Data::new(0u64);
    let v = Data::with_shape(vec![0u64; 4], [4, 1]);
    for round in 1..=3u64 {
        ctx.datadeps(|| {
            for (i, o) in objs.iter().enumerate() {
                ctx.spawn(|(mut x,): (DataMut<u64>,)| *x += 1, (InOut(o),));
                ctx.spawn(
                    |(mut c,): (DataMut<u64>,)| *c = (*c * 3 + 1) % 1_000_003,
                    (InOut(&chain),),
                );
                let r = i % 4;
                ctx.spawn(
                    move |(mut v,): (DataMut<Vec<u64>>,)| v[r] += 1,
                    (InOut(v.rows(r..r + 1)),),
                );
            }
            // A reader of all of them, last: it sees every write of this region.
            let seen = ctx.spawn(
                |(c, v): (DataRef<u64>, DataRef<Vec<u64>>)| (*c, v.iter().sum::<u64>()),
                (In(&chain), In(&v)),
            );
            assert!(matches!(seen.fetch(), Err(Error::Concurrency(_))));
        })
        .unwrap();
        assert!(objs.iter().all(|o| o.get() == round));
        assert_eq!(v.get().iter().sum::<u64>(), 700 * round);
    }
    let mut c = 0u64;
    for _ in 0..3 * 700 {
        c = (c * 3 + 1) % 1_000_003;
    }
    assert_eq!(chain.get(), c);
}

#[test]
fn queues_a_large_bulk_inside_a_sequence_is_one_batch() {
    // 1000 tasks (several launch runs) in a bulk between two single spawns of a sequence:
    // the bulk waits for the first, the last waits for all of the bulk.
    let ctx = ctx();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new((usize::MAX, usize::MAX)));
    ctx.wait_all(true, || {
        ctx.spawn_sequential(|| {
            let s = seen.clone();
            let c = count.clone();
            ctx.spawn(move |()| s.lock().unwrap().0 = c.load(Ordering::SeqCst), ());
            let ts = ctx.spawn_bulk(|| {
                (0..1000)
                    .map(|_| {
                        let c = count.clone();
                        ctx.spawn(move |()| c.fetch_add(1, Ordering::SeqCst), ())
                    })
                    .collect::<Vec<_>>()
            });
            assert_eq!(ts.len(), 1000);
            let (s, c) = (seen.clone(), count.clone());
            ctx.spawn(move |()| s.lock().unwrap().1 = c.load(Ordering::SeqCst), ());
        })
    })
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), (0, 1000));
}

// ---- The differential test: random programs against sequential execution. ----

/// The guards a task received, in its access order.
enum Guard {
    R(DataRef<Vec<i64>>),
    W(DataMut<Vec<i64>>),
}

fn run_datadeps(ctx: &Context, n: usize, prog: &[Vec<Acc>]) -> (Vec<Vec<i64>>, Vec<i64>) {
    let objs: Vec<Data<Vec<i64>>> = (0..n)
        .map(|i| Data::with_shape(vec![i as i64; 12], SHAPE))
        .collect();
    let tasks = ctx
        .datadeps(|| {
            prog.iter()
                .enumerate()
                .map(|(t, accs)| spawn_task(ctx, &objs, t, accs.clone()))
                .collect::<Vec<_>>()
        })
        .unwrap();
    let sums = tasks.iter().map(|t| t.fetch().unwrap()).collect();
    (objs.iter().map(Data::get).collect(), sums)
}

/// One access of a program's task, whatever its mode: the body gets a [`Guard`].
enum AnyArg {
    R(ReadArg<Vec<i64>>),
    W(WriteArg<Vec<i64>>),
}

impl Arg for AnyArg {
    type Value = Guard;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        match self {
            AnyArg::R(a) => a.visit(f),
            AnyArg::W(a) => a.visit(f),
        }
    }
    fn accesses(&self, f: &mut dyn FnMut(dagger_core::Result<Declared>)) {
        match self {
            AnyArg::R(a) => a.accesses(f),
            AnyArg::W(a) => a.accesses(f),
        }
    }
    fn resolve(self) -> dagger_core::Result<Guard> {
        Ok(match self {
            AnyArg::R(a) => Guard::R(a.resolve()?),
            AnyArg::W(a) => Guard::W(a.resolve()?),
        })
    }
}

impl IntoArg for AnyArg {
    type Arg = AnyArg;
    fn into_arg(self) -> AnyArg {
        self
    }
}

/// Spawns task `t` of a program (1 to 3 accesses).
fn spawn_task(
    ctx: &Context,
    objs: &[Data<Vec<i64>>],
    t: usize,
    accs: Vec<Acc>,
) -> dagger_sched::DTask<i64> {
    let arg = |a: &Acc| {
        let v = objs[a.object].view(a.extent.clone());
        match a.mode {
            0 => AnyArg::R(In(v).into_arg()),
            1 => AnyArg::W(Out(v).into_arg()),
            _ => AnyArg::W(InOut(v).into_arg()),
        }
    };
    let args: Vec<AnyArg> = accs.iter().map(arg).collect();
    let run = move |guards: Vec<Guard>| {
        let mut owned: Vec<Vec<i64>> = guards
            .iter()
            .map(|g| match g {
                Guard::R(r) => (**r).clone(),
                Guard::W(w) => (**w).clone(),
            })
            .collect();
        let mut refs: Vec<&mut Vec<i64>> = owned.iter_mut().collect();
        let s = body(t, &accs, &mut refs);
        for (g, v) in guards.into_iter().zip(owned) {
            if let Guard::W(mut w) = g {
                *w = v;
            }
        }
        s
    };
    let mut it = args.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(a), None, _) => ctx.spawn(move |(a,)| run(vec![a]), (a,)),
        (Some(a), Some(b), None) => ctx.spawn(move |(a, b)| run(vec![a, b]), (a, b)),
        (Some(a), Some(b), Some(c)) => ctx.spawn(move |(a, b, c)| run(vec![a, b, c]), (a, b, c)),
        _ => unreachable!("a program's task has 1 to 3 accesses"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Random programs of up to ~300 accesses over 1–8 objects, with overlapping views,
    /// triangles and diagonals, give exactly what running them in order gives.
    #[test]
    fn datadeps_random_programs_match_sequential_execution((n, prog) in program()) {
        let ctx = shared_ctx();
        let want = run_sequential(n, &prog);
        let got = run_datadeps(ctx, n, &prog);
        prop_assert_eq!(got, want);
    }
}

fn shared_ctx() -> &'static Context {
    static C: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
    C.get_or_init(ctx)
}

#[test]
fn queues_a_wait_inside_a_bulk_queue_reports_instead_of_hanging() {
    let ctx = ctx();
    let t = ctx.spawn_bulk(|| {
        let r = ctx.wait_all(true, || ctx.spawn(|()| 3, ()));
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Concurrency(_)), "{e}");
        ctx.spawn(|()| 4, ())
    });
    assert_eq!(t.fetch().unwrap(), 4);
}

/// A long region starts its tasks while its body is still spawning (each has its
/// dependencies already): the first task runs, and can be fetched, before the region
/// closes, once enough tasks follow it; the last few are still held (unlaunched).
#[test]
fn a_long_region_runs_its_first_tasks_before_it_closes() {
    let ctx = ctx();
    let objs: Vec<Data<u64>> = (0..3000).map(|_| Data::new(0)).collect();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    ctx.datadeps(|| {
        let first = ctx.spawn(
            move |(mut x,): (DataMut<u64>,)| {
                r.store(true, Ordering::SeqCst);
                *x += 1
            },
            (InOut(&objs[0]),),
        );
        let ts: Vec<_> = objs[1..]
            .iter()
            .map(|o| ctx.spawn(|(mut x,): (DataMut<u64>,)| *x += 1, (InOut(o),)))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ran.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            ran.load(Ordering::SeqCst),
            "no task ran while the region was open"
        );
        assert!(
            first.fetch().is_ok(),
            "a launched task can be fetched inside the region"
        );
        let last = ts.last().unwrap().fetch();
        assert!(matches!(last, Err(Error::Concurrency(_))), "{last:?}");
    })
    .unwrap();
    assert!(objs.iter().all(|o| o.get() == 1));
}

/// A bulk queue launches what it holds in batches too: the first of 3 000 tasks runs and
/// can be fetched before the body returns, the last is still unlaunched, and every task
/// runs once.
#[test]
fn a_long_bulk_runs_its_first_tasks_before_it_closes() {
    let ctx = ctx();
    let count = Arc::new(AtomicUsize::new(0));
    let ts = ctx.spawn_bulk(|| {
        let ts: Vec<_> = (0..3000u64)
            .map(|i| {
                let c = count.clone();
                ctx.spawn(
                    move |()| {
                        c.fetch_add(1, Ordering::SeqCst);
                        i
                    },
                    (),
                )
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        while count.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            count.load(Ordering::SeqCst) > 0,
            "no task ran while the bulk was open"
        );
        assert_eq!(
            ts[0].fetch().unwrap(),
            0,
            "a launched task can be fetched inside the bulk"
        );
        let last = ts.last().unwrap().fetch();
        assert!(matches!(last, Err(Error::Concurrency(_))), "{last:?}");
        ts
    });
    let vs = dagger_sched::fetch_all(&ts).unwrap();
    assert_eq!(vs, (0..3000u64).collect::<Vec<_>>());
    assert_eq!(count.load(Ordering::SeqCst), 3000);
}
