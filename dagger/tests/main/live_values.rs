//! Workers keep their results as live values: a task on the same worker gets the value
//! itself (no encode, no decode); bytes are made only for the driver, a peer, or a spill.
//! Real worker processes, started by re-executing this test binary on `worker_entry`.

use dagger::{DTask, WorkerId};
use std::time::Instant;

use crate::harness::{bench_line, cluster_builder, decodes, on, Counted};

/// The tag of this module's [`Counted`] values: its decodes are counted apart from other
/// modules' (the driver process is shared).
const ME: usize = 1;

dagger::register! {
    fn make(n: u64) -> Counted<ME> { Counted((0..n).collect()) }
    fn step(c: Counted<ME>) -> Counted<ME> { Counted(c.0.into_iter().map(|x| x + 1).collect()) }
    fn total(c: Counted<ME>) -> u64 { c.0.iter().sum() }
    fn decodes_here(_x: u8) -> u64 { decodes::<ME>() }
    fn ramp(n: u64, k: f64) -> Vec<f64> { (0..n).map(|i| i as f64 * k).collect() }
    fn bump(v: Vec<f64>) -> Vec<f64> { let mut v = v; v.iter_mut().for_each(|x| *x += 1.0); v }
    fn vsum(v: Vec<f64>) -> f64 { v.iter().sum() }
    fn first(v: Vec<f64>) -> f64 { v.first().copied().unwrap_or(f64::NAN) }
}

/// Above the 64 KiB inline limit, so results stay on their worker (no inline copy
/// travels back as a task argument).
const N: u64 = 50_000;

#[test]
fn a_same_worker_chain_decodes_nothing_and_others_still_get_bytes() {
    let ctx = cluster_builder(2).threads(1).worker_threads(2).build();
    let mut t = ctx.spawn_registered_with(on(2), MAKE, (N,));
    for _ in 0..10 {
        t = ctx.spawn_registered_with(&on(2), STEP, (&t,));
    }
    let expected: u64 = (0..N).map(|x| x + 10).sum();
    let here = ctx.spawn_registered_with(&on(2), TOTAL, (&t,));
    assert_eq!(here.fetch().unwrap(), expected);
    assert_eq!(t.chunk().unwrap().owner(), WorkerId(2));
    // Twelve tasks passed a Counted<ME> along on worker 2: not one decode.
    let d2 = || {
        ctx.spawn_registered_with(on(2), DECODES_HERE, (0u8,))
            .fetch()
            .unwrap()
    };
    assert_eq!(d2(), 0);
    // The other worker fetches it from worker 2 (encoded there, once) and decodes it once.
    let there = ctx.spawn_registered_with(&on(3), TOTAL, (&t,));
    assert_eq!(there.fetch().unwrap(), expected);
    assert_eq!(
        ctx.spawn_registered_with(on(3), DECODES_HERE, (0u8,))
            .fetch()
            .unwrap(),
        1
    );
    // The driver fetches it too.
    let got = t.fetch().unwrap();
    assert_eq!(got.0.len() as u64, N);
    assert_eq!(got.0[0], 10);
    assert_eq!(got.0[N as usize - 1], N - 1 + 10);
    assert_eq!(
        d2(),
        0,
        "serving bytes to others decodes nothing on the owner"
    );
    // A chain that continues on worker 3 from worker 2's result is right as well.
    let u = ctx.spawn_registered_with(&on(3), STEP, (&t,));
    let v = ctx.spawn_registered_with(&on(2), TOTAL, (&u,));
    assert_eq!(v.fetch().unwrap(), expected + N);
}

#[test]
fn b_live_values_beyond_the_memory_limit_spill_and_read_back() {
    let limit = 4_000_000u64;
    let ctx = cluster_builder(2)
        .threads(1)
        .worker_threads(1)
        .worker_memory_limit(limit)
        .build();
    // 16 vectors of 1 MB, each bumped once on the same worker: 32 MB of live results
    // through a 4 MB limit, all kept alive by their handles.
    let n = 125_000u64;
    let parts: Vec<[DTask<Vec<f64>>; 2]> = (0..16)
        .map(|k| {
            let a = ctx.spawn_registered_with(on(2), RAMP, (n, k as f64));
            let b = ctx.spawn_registered_with(&on(2), BUMP, (&a,));
            [a, b]
        })
        .collect();
    for [_, b] in &parts {
        b.wait();
    }
    let s = ctx.worker_stats(WorkerId(2)).unwrap();
    assert!(s.spilled_bytes > 0, "{s:?}");
    assert!(s.peak_memory_bytes <= limit, "{s:?}");
    assert!(s.chunks >= 32, "{s:?}");
    // Every value reads back right, from memory or decoded from its spill file: on the
    // same worker, on the other worker, and in the driver.
    let tri = (n * (n - 1) / 2) as f64;
    for (i, [a, b]) in parts.iter().enumerate() {
        let k = i as f64;
        let w = [2, 3][i % 2];
        let sa = ctx.spawn_registered_with(&on(w), VSUM, (a,));
        let sb = ctx.spawn_registered_with(&on(2), VSUM, (b,));
        assert_eq!(sa.fetch().unwrap(), tri * k);
        assert_eq!(sb.fetch().unwrap(), tri * k + n as f64);
    }
    assert_eq!(parts[3][1].fetch().unwrap()[10], 31.0);
    let s = ctx.worker_stats(WorkerId(2)).unwrap();
    assert!(s.peak_memory_bytes <= limit, "{s:?}");
    // Releasing everything frees memory and deletes the spilled copies.
    drop(parts);
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let s = ctx.worker_stats(WorkerId(2)).unwrap();
        if s.chunks == 0 {
            assert_eq!((s.memory_bytes, s.spilled_bytes), (0, 0), "{s:?}");
            break;
        }
        assert!(Instant::now() < deadline, "never released: {s:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Not a test: a chain of 20 tasks on one worker passing a 32 MB `Vec<f64>`.
/// `cargo test --release -p dagger --test main -- --ignored --nocapture live_values::chain_of_20`
#[test]
#[ignore]
fn chain_of_20_on_one_worker_32mb() {
    let ctx = cluster_builder(1).threads(1).worker_threads(1).build();
    let len = 4_000_000u64; // 32 MB of f64
    let mut times = Vec::new();
    for rep in 0..4 {
        let t0 = Instant::now();
        let mut t = ctx.spawn_registered_with(on(2), RAMP, (len, 1.0));
        for _ in 0..20 {
            t = ctx.spawn_registered_with(&on(2), BUMP, (&t,));
        }
        let f = ctx
            .spawn_registered_with(&on(2), FIRST, (&t,))
            .fetch()
            .unwrap();
        let s = t0.elapsed().as_secs_f64();
        assert_eq!(f, 20.0);
        if rep > 0 {
            times.push(s); // the first run warms the worker up
        }
    }
    let params = format!("{{\"tasks\":22,\"bytes\":{}}}", len * 8);
    let line = bench_line(
        "chain20_32mb_one_worker",
        "dagger-tcp1",
        &params,
        &mut times,
        |_| String::new(),
    );
    println!("{line}");
}
