//! Many processes on loopback: real worker processes started by re-executing this test
//! binary (on the ignored test `worker_entry`), registered functions, placement by scope and
//! locality, worker-to-worker data, distributed release, and joining by address + cookie.

use dagger::{Context, DTask, Error, Options, Scope, WorkerId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

dagger::register! {
    fn add1(x: i64) -> i64 { x + 1 }
    fn add(a: i64, b: i64) -> i64 { a + b }
    fn combine3(a: i64, b: i64, c: i64) -> i64 { a + b + c }
    fn ident(x: i64) -> i64 { x }
    fn whoami(_x: i64) -> u32 { dagger::myid().0 }
    fn whoami2(_x: i64, _y: i64) -> u32 { dagger::myid().0 }
    fn boom(msg: String) -> i64 { panic!("{msg}") }
    fn nap(ms: u64) -> u32 { std::thread::sleep(Duration::from_millis(ms)); dagger::myid().0 }
    fn bytes(n: u64) -> Vec<u8> { vec![7; n as usize] }
    fn total(v: Vec<u8>) -> u64 { v.iter().map(|&b| u64::from(b)).sum() }
    fn where_thread(_x: i64) -> (u32, u32) {
        let p = dagger::current_processor().expect("runs on a thread processor");
        (p.worker.0, p.index)
    }
    fn nap_cancellable(ms: u64) -> u32 {
        let _ = dagger::sleep(Duration::from_millis(ms));
        dagger::myid().0
    }
}

use crate::harness::{
    cluster_builder, listening_driver, on, remote, signal, wait_lost, worker_process,
};

fn cluster(workers: usize) -> Context {
    cluster_builder(workers)
        .threads(2)
        .worker_threads(2)
        .build()
}

/// Anywhere but the driver.
#[test]
fn group_a_across_processes() {
    let ctx = cluster(2);
    assert_eq!(ctx.workers(), vec![WorkerId(1), WorkerId(2), WorkerId(3)]);
    let o = remote(&ctx);
    // A1
    let p = ctx.spawn_registered_with(&o, ADD1, (4i64,));
    let q = ctx.spawn_registered_with(&o, ADD, (&p, 2i64));
    let r = ctx.spawn_registered_with(&o, ADD1, (3i64,));
    let s = ctx.spawn_registered_with(&o, COMBINE3, (&p, &q, &r));
    assert_eq!(s.fetch().unwrap(), 16);
    assert_eq!(p.fetch().unwrap(), 5);
    assert_ne!(s.chunk().unwrap().owner(), WorkerId(1));
    // A5–A7: a failure on a worker, its dependents, an unrelated task
    let a = ctx.spawn_registered_with(&o, BOOM, ("Test".to_string(),));
    let b = ctx.spawn_registered_with(&o, ADD1, (&a,));
    a.wait();
    let ea = a.fetch().unwrap_err().to_string();
    assert!(
        ea.starts_with("DTaskFailedException:") && ea.contains("Test") && !ea.contains("Root Task"),
        "{ea}"
    );
    let eb = b.fetch().unwrap_err().to_string();
    assert!(eb.contains("Test") && eb.contains("Root Task"), "{eb}");
    let late = ctx.spawn_registered_with(&o, ADD1, (&a,));
    assert!(late.fetch().is_err());
    assert_eq!(
        ctx.spawn_registered_with(&o, ADD, (1i64, 2i64))
            .fetch()
            .unwrap(),
        3
    );
    // A10: a long chain keeping only the last handle
    let mut t = ctx.spawn_registered_with(&o, IDENT, (0i64,));
    for _ in 0..200 {
        t = ctx.spawn_registered_with(&o, ADD1, (t,));
    }
    assert_eq!(t.fetch().unwrap(), 200);
    // A11: a wide tree
    let mut level: Vec<DTask<i64>> = (0..256)
        .map(|_| ctx.spawn_registered_with(&o, IDENT, (1i64,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn_registered_with(&o, ADD, (&p[0], &p[1])))
            .collect();
    }
    assert_eq!(level[0].fetch().unwrap(), 256);
    // A12: fan-out
    let src = ctx.spawn_registered_with(&o, IDENT, (10i64,));
    let ds: Vec<_> = (0..32i64)
        .map(|i| ctx.spawn_registered_with(&o, ADD, (&src, i)))
        .collect();
    for (i, d) in ds.iter().enumerate() {
        assert_eq!(d.fetch().unwrap(), 10 + i as i64);
    }
    // closures and registered functions mix: a local closure consumes a remote result
    let local = ctx.spawn(|(x,)| x * 2, (&p,));
    assert_eq!(local.fetch().unwrap(), 10);
}

#[test]
fn c31_chunk_scopes_steer_tasks_to_their_owner() {
    let ctx = cluster(2);
    let pinned = |w: u32| {
        let o = Options::new().scope(Scope::Process(WorkerId(w)));
        ctx.spawn_registered_with(&o, IDENT, (i64::from(w),))
            .chunk()
            .unwrap()
            .with_scope(Scope::Process(WorkerId(w)))
    };
    let (c2, c3) = (pinned(2), pinned(3));
    assert_eq!((c2.owner(), c3.owner()), (WorkerId(2), WorkerId(3)));
    for i in 0..20 {
        let c = if i % 2 == 0 { &c2 } else { &c3 };
        let t = ctx.spawn_registered(WHOAMI, (c,));
        assert_eq!(WorkerId(t.fetch().unwrap()), c.owner());
    }
    let both = ctx.spawn_registered(WHOAMI2, (&c2, &c3));
    let e = both.fetch().unwrap_err();
    assert!(e.is_scheduling(), "{e}");
    assert!(
        e.root_cause()
            .to_string()
            .contains("Current scope and argument Chunk scope are not compatible:"),
        "{e}"
    );
    // C34: the result scope constrains execution; an empty compute ∩ result scope is an error
    let t = ctx.spawn_registered_with(
        Options::new().result_scope(Scope::Process(WorkerId(3))),
        WHOAMI,
        (0i64,),
    );
    assert_eq!(t.fetch().unwrap(), 3);
    let o = Options::new()
        .scope(Scope::Process(WorkerId(2)))
        .result_scope(Scope::Process(WorkerId(3)));
    assert!(ctx
        .spawn_registered_with(&o, WHOAMI, (0i64,))
        .fetch()
        .unwrap_err()
        .is_scheduling());
    // a closure asked to run on another worker is a scheduling error, never a hang
    let closure = ctx.spawn_with(
        Options::new().scope(Scope::Process(WorkerId(2))),
        |()| 1,
        (),
    );
    assert!(closure.fetch().unwrap_err().is_scheduling());
}

#[test]
fn placement_spreads_equal_tasks_and_follows_data() {
    let ctx = cluster(2);
    let o = remote(&ctx);
    let ts: Vec<_> = (0..8)
        .map(|_| ctx.spawn_registered_with(&o, NAP, (100u64,)))
        .collect();
    let mut per: HashMap<u32, usize> = HashMap::new();
    for t in &ts {
        *per.entry(t.fetch().unwrap()).or_default() += 1;
    }
    assert_eq!(per.len(), 2, "{per:?}");
    assert!(per.values().all(|&n| (3..=5).contains(&n)), "{per:?}");
    // a chain stays where its data is
    let mut t = ctx.spawn_registered_with(&o, IDENT, (0i64,));
    let first = t.chunk().unwrap().owner();
    for _ in 0..20 {
        t = ctx.spawn_registered_with(&o, ADD1, (&t,));
        assert_eq!(t.chunk().unwrap().owner(), first);
    }
}

#[test]
fn data_moves_worker_to_worker_and_is_released_on_its_owner() {
    let ctx = cluster(2);
    let on = |w: u32| Options::new().scope(Scope::Process(WorkerId(w)));
    let big = ctx.spawn_registered_with(on(2), BYTES, (1_000_000u64,));
    big.wait();
    assert_eq!(big.chunk().unwrap().owner(), WorkerId(2));
    let (n0, b0) = ctx.worker_chunks(WorkerId(2)).unwrap();
    assert!(n0 >= 1 && b0 >= 1_000_000, "{n0} chunks, {b0} bytes");
    // consumed on worker 3: fetched from worker 2 directly
    let sum = ctx.spawn_registered_with(&on(3), TOTAL, (&big,));
    assert_eq!(sum.fetch().unwrap(), 7_000_000);
    drop(sum);
    drop(big);
    let t0 = Instant::now();
    loop {
        let (_, b) = ctx.worker_chunks(WorkerId(2)).unwrap();
        let (_, b3) = ctx.worker_chunks(WorkerId(3)).unwrap();
        if b < 1_000_000 && b3 < 1_000_000 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "not released: w2 {b} bytes, w3 {b3} bytes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_process_started_elsewhere_joins_by_address_and_cookie() {
    let ctx = listening_driver("127.0.0.1:0", "s3cret");
    let addr = ctx.cluster_addr().unwrap();
    let start = |cookie: &str| {
        worker_process(&addr, cookie)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut bad = start("wrong");
    let status = bad.wait().unwrap();
    assert!(
        !status.success(),
        "a worker with the wrong cookie must be refused"
    );
    assert!(ctx.wait_for_workers(1, Duration::from_millis(200)).is_err());
    let mut good = start("s3cret");
    ctx.wait_for_workers(1, Duration::from_secs(20)).unwrap();
    let o = Options::new().scope(Scope::Process(WorkerId(2)));
    assert_eq!(
        ctx.spawn_registered_with(&o, ADD, (40i64, 2i64))
            .fetch()
            .unwrap(),
        42
    );
    drop(ctx);
    let t0 = Instant::now();
    while good.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "worker did not exit with its driver"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn registered_functions_run_locally_without_a_cluster() {
    let ctx = Context::builder().threads(1).build();
    assert_eq!(ctx.spawn_registered(ADD, (1i64, 2i64)).fetch().unwrap(), 3);
    assert!(matches!(
        ctx.spawn_registered(BOOM, ("x".to_string(),)).fetch(),
        Err(Error::TaskFailed { .. })
    ));
}

#[test]
fn c32_exact_scope_picks_one_thread_of_one_worker() {
    let ctx = cluster(2);
    let t = dagger::processor::ProcessorId::thread(WorkerId(3), 2);
    let c = ctx
        .spawn_registered_with(Options::new().scope(Scope::Exact(t)), IDENT, (5i64,))
        .chunk()
        .unwrap()
        .with_scope(Scope::Exact(t));
    assert_eq!(c.processor(), t);
    for _ in 0..6 {
        assert_eq!(
            ctx.spawn_registered(WHERE_THREAD, (&c,)).fetch().unwrap(),
            (3, 2)
        );
    }
    let other = ctx
        .spawn_registered_with(
            Options::new().scope(Scope::Exact(dagger::processor::ProcessorId::thread(
                WorkerId(3),
                1,
            ))),
            IDENT,
            (1i64,),
        )
        .chunk()
        .unwrap()
        .with_scope(Scope::Exact(dagger::processor::ProcessorId::thread(
            WorkerId(3),
            1,
        )));
    assert!(ctx
        .spawn_registered(WHOAMI2, (&c, &other))
        .fetch()
        .unwrap_err()
        .is_scheduling());
}

#[test]
fn c33_node_scopes_follow_the_node_a_worker_reports() {
    let ctx = listening_driver("127.0.0.1:0", "nodes");
    let addr = ctx.cluster_addr().unwrap();
    let mut kids: Vec<_> = ["11", "22"]
        .iter()
        .map(|node| {
            worker_process(&addr, "nodes")
                .env("DAGGER_NODE", node)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    ctx.wait_for_workers(2, Duration::from_secs(20)).unwrap();
    let procs = ctx.processors();
    let on_node = |n: u64| {
        procs
            .iter()
            .find(|p| p.node == dagger::ids::NodeId(n))
            .map(|p| p.id.worker)
            .unwrap()
    };
    for n in [11u64, 22] {
        let s = Scope::Node(dagger::ids::NodeId(n));
        let c = ctx
            .spawn_registered_with(Options::new().scope(s.clone()), IDENT, (1i64,))
            .chunk()
            .unwrap()
            .with_scope(s);
        for _ in 0..4 {
            assert_eq!(
                WorkerId(ctx.spawn_registered(WHOAMI, (&c,)).fetch().unwrap()),
                on_node(n)
            );
        }
    }
    drop(ctx);
    for k in &mut kids {
        let _ = k.wait();
    }
}

#[test]
fn concurrent_fetchers_and_builders_across_processes() {
    let ctx = cluster(2);
    let o = remote(&ctx);
    // A13
    for _ in 0..5 {
        let t = ctx.spawn_registered_with(&o, IDENT, (42i64,));
        std::thread::scope(|s| {
            for h in (0..16)
                .map(|_| s.spawn(|| t.fetch().unwrap()))
                .collect::<Vec<_>>()
            {
                assert_eq!(h.join().unwrap(), 42);
            }
        });
    }
    // A14
    std::thread::scope(|s| {
        for i in 0..16i64 {
            let (ctx, o) = (ctx.clone(), o.clone());
            s.spawn(move || {
                let st = ctx.spawn_registered_with(&o, IDENT, (i,));
                let l = ctx.spawn_registered_with(&o, ADD1, (&st,));
                let r = ctx.spawn_registered_with(&o, ADD, (&st, &st));
                let k = ctx.spawn_registered_with(&o, ADD, (&l, &r));
                assert_eq!(k.fetch().unwrap(), 3 * i + 1);
            });
        }
    });
}

#[test]
fn a16_cancelling_a_remote_task_and_a17_lazy_graphs_on_workers() {
    let ctx = cluster(2);
    let o = remote(&ctx);
    let t0 = Instant::now();
    let t = ctx.spawn_registered_with(&o, NAP_CANCELLABLE, (100_000u64,));
    std::thread::sleep(Duration::from_millis(100));
    t.cancel();
    assert!(t.fetch().unwrap_err().is_cancelled());
    let dep =
        ctx.spawn_registered_with(&o, ADD1, (&ctx.spawn_registered_with(&o, IDENT, (1i64,)),));
    assert_eq!(dep.fetch().unwrap(), 2);
    assert!(t0.elapsed() < Duration::from_secs(10));
    // lazy: a graph of registered functions computed on the workers
    let a = dagger::delayed_registered_with(o.clone(), ADD, (2i64, 2i64));
    let b = dagger::delayed_registered_with(o.clone(), ADD1, (&a,));
    let c = dagger::delayed_registered_with(o.clone(), ADD, (&a, &b));
    let chunk = c.compute(&ctx).unwrap();
    assert_ne!(chunk.owner(), WorkerId(1));
    assert_eq!(chunk.fetch().unwrap(), 9);
}

fn not_registered_here((x,): (i64,)) -> i64 {
    x
}

#[test]
fn an_unknown_function_fails_its_task_and_garbage_does_not_stop_the_driver() {
    let ctx = cluster(1);
    let bogus: dagger::remote::Registered<(i64,), i64> =
        dagger::remote::Registered::new("nowhere::not_registered", not_registered_here);
    let t = ctx.spawn_registered_with(remote(&ctx), bogus, (1i64,));
    let e = t.fetch().unwrap_err();
    assert!(
        matches!(e.root_cause(), Error::UnknownFunction(m) if m.contains("nowhere::not_registered")),
        "{e}"
    );
    // An authenticated peer that speaks garbage is dropped; the driver keeps serving.
    let addr = ctx.cluster_addr().unwrap();
    let cookie = ctx.cookie().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use dagger::Transport;
        let tcp = dagger::transports::Tcp::new(cookie.as_str());
        let mut conn = tcp.connect(&addr).await.unwrap();
        conn.sender
            .send(bytes::Bytes::from_static(b"\xff\xfe not a Join message"))
            .await
            .unwrap();
        // the driver closes this connection
        let r = tokio::time::timeout(Duration::from_secs(5), conn.receiver.recv())
            .await
            .unwrap();
        assert!(
            !matches!(r, Ok(Some(_))),
            "the driver answered garbage: {r:?}"
        );
    });
    assert_eq!(
        ctx.spawn_registered_with(remote(&ctx), ADD, (1i64, 1i64))
            .fetch()
            .unwrap(),
        2
    );
}

#[test]
fn workers_spill_results_beyond_their_memory_limit() {
    let ctx = cluster_builder(1)
        .threads(1)
        .worker_threads(1)
        .worker_memory_limit(4_000_000)
        .build();
    let o = Options::new().scope(Scope::Process(WorkerId(2)));
    // 16 MB of live results through a 4 MB limit, all kept alive by their handles.
    let parts: Vec<DTask<Vec<u8>>> = (0..16)
        .map(|_| ctx.spawn_registered_with(&o, BYTES, (1_000_000u64,)))
        .collect();
    for p in &parts {
        p.wait();
    }
    let s = ctx.worker_stats(WorkerId(2)).unwrap();
    assert!(s.spilled_bytes > 0, "{s:?}");
    assert!(s.peak_memory_bytes <= 4_000_000, "{s:?}");
    // every value reads back right, from memory or from disk
    let sums: Vec<_> = parts
        .iter()
        .map(|p| ctx.spawn_registered_with(&o, TOTAL, (p,)))
        .collect();
    for t in sums {
        assert_eq!(t.fetch().unwrap(), 7_000_000);
    }
    assert!(ctx.worker_stats(WorkerId(2)).unwrap().peak_memory_bytes <= 4_000_000);
}

dagger::register! {
    fn new_ref(_x: u8) -> dagger::remote::Pinned<std::sync::atomic::AtomicU32> {
        dagger::remote::Pinned::new(std::sync::atomic::AtomicU32::new(0))
    }
    fn update(x: dagger::remote::Pinned<std::sync::atomic::AtomicU32>) -> u32 {
        let me = dagger::myid().0;
        x.get().expect("a pinned value is used where it lives").store(me, std::sync::atomic::Ordering::SeqCst);
        me
    }
    fn read_ref(x: dagger::remote::Pinned<std::sync::atomic::AtomicU32>) -> u32 {
        x.get().expect("here").load(std::sync::atomic::Ordering::SeqCst)
    }
    fn inc_shard(pieces: Vec<dagger::remote::Pinned<std::sync::atomic::AtomicU32>>) -> u32 {
        let mine: Vec<_> = pieces.iter().filter_map(|p| p.get()).collect();
        assert_eq!(mine.len(), 1, "exactly one piece is local");
        mine[0].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        dagger::myid().0
    }
}

#[test]
fn c35_c36_mutable_and_shard_across_processes() {
    let ctx = cluster(2);
    let on = |w: u32| Options::new().scope(Scope::Process(WorkerId(w)));
    // C35 with w = a worker: the value is made there and every task using it runs there.
    let x = ctx
        .spawn_registered_with(on(2), NEW_REF, (0u8,))
        .chunk()
        .unwrap()
        .with_scope(Scope::Process(WorkerId(2)));
    assert_eq!(ctx.spawn_registered(UPDATE, (&x,)).fetch().unwrap(), 2);
    assert_eq!(ctx.spawn_registered(READ_REF, (&x,)).fetch().unwrap(), 2);
    let e = ctx
        .spawn_registered_with(&on(3), UPDATE, (&x,))
        .fetch()
        .unwrap_err();
    assert!(
        e.is_scheduling() && e.to_string().contains("not compatible"),
        "{e}"
    );
    // C35 with w = 1, the driver: a mutable made by dagger-shard, used by closures.
    let m = dagger::mutable_with(
        &ctx,
        dagger::MutableOptions::new().worker(WorkerId(1)),
        || std::sync::atomic::AtomicU32::new(0),
    )
    .unwrap();
    let t = ctx.spawn(
        |(v,): (std::sync::Arc<std::sync::atomic::AtomicU32>,)| {
            v.store(dagger::myid().0, std::sync::atomic::Ordering::SeqCst);
            dagger::myid().0
        },
        (&m,),
    );
    assert_eq!(t.fetch().unwrap(), 1);
    let e = ctx
        .spawn_with(
            on(2),
            |(_v,): (std::sync::Arc<std::sync::atomic::AtomicU32>,)| 0,
            (&m,),
        )
        .fetch()
        .unwrap_err();
    assert!(e.is_scheduling(), "{e}");
    // C36: one piece per worker; 1 000 increments land on the piece where each task runs.
    let pieces: Vec<DTask<dagger::remote::Pinned<std::sync::atomic::AtomicU32>>> = [2u32, 3]
        .iter()
        .map(|w| ctx.spawn_registered_with(on(*w), NEW_REF, (0u8,)))
        .collect();
    let o = remote(&ctx);
    let incs: Vec<_> = (0..1000)
        .map(|_| ctx.spawn_registered_with(&o, INC_SHARD, (dagger::All(pieces.clone()),)))
        .collect();
    let mut per: HashMap<u32, u32> = HashMap::new();
    for t in &incs {
        *per.entry(t.fetch().unwrap()).or_default() += 1;
    }
    let mut total = 0;
    for (w, p) in [2u32, 3].iter().zip(&pieces) {
        let c = p.chunk().unwrap().with_scope(Scope::Process(WorkerId(*w)));
        let n = ctx.spawn_registered(READ_REF, (&c,)).fetch().unwrap();
        assert_eq!(
            n,
            per.get(w).copied().unwrap_or(0),
            "piece on {w} counts the tasks that ran there"
        );
        total += n;
    }
    assert_eq!(total, 1000);
    // Pinned data dies with its worker: WorkerLost, promptly.
    signal_kill(&ctx, WorkerId(2));
    let t0 = Instant::now();
    let e = ctx.spawn_registered(READ_REF, (&x,)).fetch().unwrap_err();
    assert!(
        matches!(e.root_cause(), Error::WorkerLost { worker, .. } if *worker == WorkerId(2)),
        "{e}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10));
}

fn signal_kill(ctx: &Context, w: WorkerId) {
    signal(ctx, w, libc::SIGKILL);
    wait_lost(ctx, w);
}

dagger::register! {
    fn make_counter() -> dagger::remote::Pinned<std::sync::atomic::AtomicU32> {
        dagger::remote::Pinned::new(std::sync::atomic::AtomicU32::new(0))
    }
    fn where_pinned(_x: dagger::remote::Pinned<std::sync::atomic::AtomicU32>) -> (u32, u32) {
        let p = dagger::current_processor().expect("on a thread");
        (p.worker.0, p.index)
    }
    fn bump(pieces: Vec<dagger::remote::Pinned<std::sync::atomic::AtomicU32>>) -> (u32, u32) {
        let p = dagger::current_processor().expect("on a thread");
        dagger::remote::local_piece(&pieces).expect("a local piece").fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (p.worker.0, p.index)
    }
}

#[test]
fn shard_on_and_mutable_on_per_worker_and_per_thread() {
    let ctx = cluster(2);
    let m = dagger::mutable_on(&ctx, WorkerId(3), MAKE_COUNTER).unwrap();
    assert_eq!(ctx.spawn_registered(UPDATE, (&m,)).fetch().unwrap(), 3);
    // processor=: pinned to one thread of one worker
    let t = dagger::processor::ProcessorId::thread(WorkerId(2), 2);
    let m = dagger::mutable_in(&ctx, Scope::Exact(t), MAKE_COUNTER).unwrap();
    for _ in 0..5 {
        assert_eq!(
            ctx.spawn_registered(WHERE_PINNED, (&m,)).fetch().unwrap(),
            (2, 2)
        );
    }
    for per_thread in [false, true] {
        let s = dagger::shard_on(&ctx, MAKE_COUNTER, None, per_thread).unwrap();
        assert_eq!(s.len(), if per_thread { 2 + 2 + 2 } else { 3 });
        let ts: Vec<_> = (0..1000)
            .map(|_| ctx.spawn_registered(BUMP, (s.arg(),)))
            .collect();
        let mut ran: HashMap<(u32, u32), u32> = HashMap::new();
        for t in &ts {
            *ran.entry(t.fetch().unwrap()).or_default() += 1;
        }
        let mut total = 0;
        for (p, c) in s.pieces().unwrap() {
            let n = ctx.spawn_registered(READ_REF, (&c,)).fetch().unwrap();
            let expect: u32 = if per_thread {
                ran.get(&(p.worker.0, p.index)).copied().unwrap_or(0)
            } else {
                ran.iter()
                    .filter(|((w, _), _)| *w == p.worker.0)
                    .map(|(_, n)| n)
                    .sum()
            };
            assert_eq!(n, expect, "piece on {p} (per_thread {per_thread})");
            total += n;
        }
        assert_eq!(total, 1000);
    }
}

/// Workers die with their driver (`PR_SET_PDEATHSIG`), which the kernel ties to the thread
/// that forked them: a context built on a thread that then ends must keep its workers.
#[test]
fn a_cluster_built_on_a_thread_that_ends_keeps_its_workers() {
    let ctx = std::thread::spawn(|| cluster(2)).join().unwrap();
    // A kill at that thread's end would have reached the workers by now.
    std::thread::sleep(Duration::from_millis(300));
    for w in [2, 3] {
        let t = ctx.spawn_registered_with(on(w), WHOAMI, (0i64,));
        assert_eq!(t.fetch().unwrap(), w, "worker {w} still serves");
    }
}
