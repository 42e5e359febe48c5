//! Datadeps regions on 2 worker processes: registered-function tasks declaring `In`/`Out`/
//! `InOut` on values pinned in the workers (whole, or views of them) run in program order
//! where the values live, readers of one version together, a write after reads after them,
//! a failure fails only what depends on it; and random programs give what sequential
//! execution gives (the generator is dagger-sched's, shared by path).

use dagger::args::IntoArg;
use dagger::datadeps::Extent;
use dagger::remote::Pinned;
use dagger::{Context, Error, In, InOut, Out, WorkerId};
use proptest::prelude::*;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Duration;

use crate::harness::{cluster_builder, quick_loss_cluster, signal};

#[path = "../../../dagger-sched/tests/main/datadeps_program.rs"]
mod program;
use program::{body, run_sequential, Acc, SHAPE};

/// One cluster for every test here: a 2-thread driver and 2 two-thread workers.
fn cluster() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| cluster_builder(2).threads(2).worker_threads(2).build())
}

/// Counts readers at work on one value and writers that found one at work.
#[derive(Default)]
struct Gauge {
    readers: AtomicI32,
    most: AtomicI32,
    clashes: AtomicI32,
}

type Log = Pinned<Mutex<Vec<u32>>>;
type Object = Pinned<RwLock<Vec<i64>>>;

dagger::register! {
    fn make_log() -> Log { Pinned::new(Mutex::new(Vec::new())) }
    fn push(log: Log, v: u32) -> u32 {
        // A short pause makes a wrong order likely if nothing orders the tasks.
        std::thread::sleep(Duration::from_micros(300));
        if let Some(l) = log.get() { l.lock().unwrap().push(v) }
        dagger::myid().0
    }
    fn read_log(log: Log) -> Vec<u32> { log.get().map(|l| l.lock().unwrap().clone()).unwrap_or_default() }
    fn fail_push(_log: Log, why: String) -> u32 { panic!("{why}") }
    fn nap_push(log: Log, ms: u64) -> u32 {
        std::thread::sleep(Duration::from_millis(ms));
        if let Some(l) = log.get() { l.lock().unwrap().push(0) }
        dagger::myid().0
    }

    fn make_gauge() -> Pinned<Gauge> { Pinned::new(Gauge::default()) }
    fn slow_read(g: Pinned<Gauge>) -> i32 {
        let Some(g) = g.get() else { return -1 };
        let now = g.readers.fetch_add(1, Ordering::SeqCst) + 1;
        g.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        g.readers.fetch_sub(1, Ordering::SeqCst);
        now
    }
    fn write_gauge(g: Pinned<Gauge>) -> i32 {
        let Some(g) = g.get() else { return -1 };
        if g.readers.load(Ordering::SeqCst) != 0 {
            g.clashes.fetch_add(1, Ordering::SeqCst);
        }
        0
    }
    fn gauge_stats(g: Pinned<Gauge>) -> (i32, i32) {
        g.get().map_or((-1, -1), |g| (g.most.load(Ordering::SeqCst), g.clashes.load(Ordering::SeqCst)))
    }

    fn make_object(i: i64) -> Object { Pinned::new(RwLock::new(vec![i; SHAPE[0] * SHAPE[1]])) }
    fn read_object(o: Object) -> Vec<i64> { o.get().map(|v| v.read().unwrap().clone()).unwrap_or_default() }
    fn step1(t: u64, accs: Vec<(usize, Extent, u8)>, a: Object) -> i64 { step(t, accs, &[a]) }
    fn step2(t: u64, accs: Vec<(usize, Extent, u8)>, a: Object, b: Object) -> i64 { step(t, accs, &[a, b]) }
    fn step3(t: u64, accs: Vec<(usize, Extent, u8)>, a: Object, b: Object, c: Object) -> i64 {
        step(t, accs, &[a, b, c])
    }
}

/// Task `t` of a random program on pinned objects: copies the objects out, runs the shared
/// body on the copies, and writes back only the elements it declared writing (a task
/// writing a disjoint view of the same object may be running beside it).
fn step(t: u64, accs: Vec<(usize, Extent, u8)>, objs: &[Object]) -> i64 {
    let accs: Vec<Acc> = accs
        .into_iter()
        .map(|(object, extent, mode)| Acc {
            object,
            extent,
            mode,
        })
        .collect();
    let mut copies: Vec<Vec<i64>> = objs
        .iter()
        .map(|o| {
            o.get()
                .map(|v| v.read().unwrap().clone())
                .unwrap_or_default()
        })
        .collect();
    let mut refs: Vec<&mut Vec<i64>> = copies.iter_mut().collect();
    let sum = body(t as usize, &accs, &mut refs);
    for ((a, o), copy) in accs.iter().zip(objs).zip(&copies) {
        if a.mode == 0 {
            continue;
        }
        let Some(v) = o.get() else { continue };
        let span = a.extent.span(Some(SHAPE));
        let mut v = v.write().unwrap();
        for r in 0..SHAPE[0] {
            for c in 0..SHAPE[1] {
                if span.contains(r, c) {
                    v[r * SHAPE[1] + c] = copy[r * SHAPE[1] + c];
                }
            }
        }
    }
    sum
}

fn on(ctx: &Context, w: u32, f: dagger::remote::Registered<(), Log>) -> dagger::Chunk<Log> {
    dagger::mutable_on(ctx, WorkerId(w), f).unwrap()
}

#[test]
fn datadeps_pinned_values_on_two_workers_run_in_program_order_where_they_live() {
    let ctx = cluster();
    let (a, b) = (on(ctx, 2, MAKE_LOG), on(ctx, 3, MAKE_LOG));
    let (wheres, (ra, rb)) = ctx
        .datadeps(|| {
            let wheres: Vec<_> = (0..40u32)
                .map(|v| {
                    let log = if v % 3 == 0 { &b } else { &a };
                    ctx.spawn_registered(PUSH, (InOut(log.whole()), v))
                })
                .collect();
            let reads = (
                ctx.spawn_registered(READ_LOG, (In(a.whole()),)),
                ctx.spawn_registered(READ_LOG, (In(b.whole()),)),
            );
            (wheres, reads)
        })
        .unwrap();
    let want = |keep: fn(&u32) -> bool| (0..40u32).filter(keep).collect::<Vec<_>>();
    assert_eq!(ra.fetch().unwrap(), want(|v| v % 3 != 0));
    assert_eq!(rb.fetch().unwrap(), want(|v| v % 3 == 0));
    for (v, w) in wheres.iter().enumerate() {
        assert_eq!(
            w.fetch().unwrap(),
            if v % 3 == 0 { 3 } else { 2 },
            "task {v} ran where its log lives"
        );
    }
}

#[test]
fn datadeps_two_readers_on_a_worker_overlap_and_a_later_write_waits_for_them() {
    let ctx = cluster();
    let g = dagger::mutable_on(ctx, WorkerId(2), MAKE_GAUGE).unwrap();
    let stats = ctx
        .datadeps(|| {
            ctx.spawn_registered(SLOW_READ, (In(g.whole()),));
            ctx.spawn_registered(SLOW_READ, (In(g.whole()),));
            ctx.spawn_registered(WRITE_GAUGE, (InOut(g.whole()),));
            ctx.spawn_registered(GAUGE_STATS, (In(g.whole()),))
        })
        .unwrap();
    let (most, clashes) = stats.fetch().unwrap();
    assert_eq!(
        most, 2,
        "the two readers of one version ran at the same time"
    );
    assert_eq!(clashes, 0, "the write ran after both reads");
}

#[test]
fn datadeps_a_failed_remote_writer_fails_its_readers_and_nothing_else() {
    let ctx = cluster();
    let (a, b) = (on(ctx, 2, MAKE_LOG), on(ctx, 3, MAKE_LOG));
    let mut tasks = None;
    let err = ctx
        .datadeps(|| {
            ctx.spawn_registered(PUSH, (InOut(a.whole()), 1u32));
            let bad =
                ctx.spawn_registered(FAIL_PUSH, (InOut(a.whole()), "disk on fire".to_string()));
            let after = ctx.spawn_registered(READ_LOG, (In(a.whole()),));
            let other = ctx.spawn_registered(PUSH, (InOut(b.whole()), 7u32));
            tasks = Some((bad, after, other));
        })
        .unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
    let (bad, after, other) = tasks.unwrap();
    assert!(bad.fetch().is_err());
    match after.fetch() {
        Err(e @ Error::TaskFailed { .. }) => {
            assert!(e.root_cause().to_string().contains("disk on fire"), "{e}")
        }
        other => panic!("the reader of a failed write must fail with it, got {other:?}"),
    }
    assert_eq!(other.fetch().unwrap(), 3, "an independent task still ran");
    // A view outside the declared shape is a typed error when spawned.
    let e = ctx
        .datadeps(|| {
            ctx.spawn_registered(READ_LOG, (In(a.view([2, 2], Extent::rows(1..5))),));
        })
        .unwrap_err();
    assert!(e.to_string().contains("out of bounds"), "{e}");
}

/// A worker killed while a region's task runs on it: the region returns `WorkerLost` (a
/// pinned value dies with its worker, so nothing can re-run its writes), the tasks that
/// needed the value fail with it, the others finish, and nothing hangs.
#[test]
fn datadeps_a_worker_killed_mid_region_fails_the_region_with_worker_lost() {
    let ctx = quick_loss_cluster(2);
    let (a, b) = (on(&ctx, 2, MAKE_LOG), on(&ctx, 3, MAKE_LOG));
    let killer = {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            signal(&ctx, WorkerId(3), libc::SIGKILL);
        })
    };
    let mut tasks = None;
    let err = ctx
        .datadeps(|| {
            let slow = ctx.spawn_registered(NAP_PUSH, (InOut(b.whole()), 3000u64));
            let after = ctx.spawn_registered(READ_LOG, (In(b.whole()),));
            for v in 0..5u32 {
                ctx.spawn_registered(PUSH, (InOut(a.whole()), v));
            }
            let read_a = ctx.spawn_registered(READ_LOG, (In(a.whole()),));
            tasks = Some((slow, after, read_a));
        })
        .unwrap_err();
    killer.join().unwrap();
    assert!(
        matches!(
            err.root_cause(),
            Error::WorkerLost {
                worker: WorkerId(3),
                ..
            }
        ),
        "{err:?}"
    );
    let (slow, after, read_a) = tasks.unwrap();
    for e in [slow.fetch().unwrap_err(), after.fetch().unwrap_err()] {
        assert!(matches!(e.root_cause(), Error::WorkerLost { .. }), "{e:?}");
    }
    assert_eq!(read_a.fetch().unwrap(), (0..5).collect::<Vec<u32>>());
}

/// The process object `i` is pinned in: the driver and the two workers in turn.
fn home(i: usize) -> WorkerId {
    WorkerId(1 + (i % 3) as u32)
}

/// A program whose tasks each name only objects pinned in one process (a pinned value never
/// moves, so a task naming two processes' values cannot run): each task keeps the accesses
/// to objects living where its first one does.
fn co_located(prog: Vec<Vec<Acc>>) -> Vec<Vec<Acc>> {
    prog.into_iter()
        .map(|mut accs| {
            let first = home(accs[0].object);
            accs.retain(|a| home(a.object) == first);
            accs
        })
        .collect()
}

/// Runs a random program on pinned objects spread over the driver and both workers.
fn run_on_cluster(ctx: &Context, n: usize, prog: &[Vec<Acc>]) -> (Vec<Vec<i64>>, Vec<i64>) {
    let objs: Vec<dagger::Chunk<Object>> = (0..n)
        .map(|i| {
            let w = home(i);
            let opts = dagger::Options::new().scope(dagger::Scope::Process(w));
            ctx.spawn_registered_with(opts, MAKE_OBJECT, (i as i64,))
                .chunk()
                .unwrap()
                .with_scope(dagger::Scope::Process(w))
        })
        .collect();
    let tasks = ctx
        .datadeps(|| {
            prog.iter()
                .enumerate()
                .map(|(t, accs)| {
                    let spec: Vec<(usize, Extent, u8)> = accs
                        .iter()
                        .map(|a| (a.object, a.extent.clone(), a.mode))
                        .collect();
                    let arg = |a: &Acc| {
                        let v = objs[a.object].view(SHAPE, a.extent.clone());
                        match a.mode {
                            0 => In(v).into_arg(),
                            1 => Out(v).into_arg(),
                            _ => InOut(v).into_arg(),
                        }
                    };
                    let t = t as u64;
                    match accs.as_slice() {
                        [a] => ctx.spawn_registered(STEP1, (t, spec, arg(a))),
                        [a, b] => ctx.spawn_registered(STEP2, (t, spec, arg(a), arg(b))),
                        [a, b, c] => ctx.spawn_registered(STEP3, (t, spec, arg(a), arg(b), arg(c))),
                        _ => unreachable!("a program's task has 1 to 3 accesses"),
                    }
                })
                .collect::<Vec<_>>()
        })
        .unwrap();
    let sums = tasks.iter().map(|t| t.fetch().unwrap()).collect();
    let finals = objs
        .iter()
        .map(|o| ctx.spawn_registered(READ_OBJECT, (o,)).fetch().unwrap())
        .collect();
    (finals, sums)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Random programs over 1–8 pinned objects on the driver and 2 workers, with overlapping
    /// views, triangles and diagonals, give exactly what running them in order gives.
    #[test]
    fn datadeps_random_programs_on_two_workers_match_sequential_execution(
        (n, prog) in program::program()
    ) {
        let prog = co_located(prog);
        let want = run_sequential(n, &prog);
        let got = run_on_cluster(cluster(), n, &prog);
        prop_assert_eq!(got, want);
    }
}
