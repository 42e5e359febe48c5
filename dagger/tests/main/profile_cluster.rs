//! Spans from worker processes reach the driver: a multi-process computation with a transfer
//! between workers and a spill shows every category, on the driver's clock.

use dagger::{debug_run, DTask, Options, Scope, WorkerId};
use std::collections::BTreeSet;

use crate::harness::cluster_builder;

dagger::register! {
    fn blob(n: u64) -> Vec<u8> { vec![3; n as usize] }
    fn total(v: Vec<u8>) -> u64 { v.iter().map(|&b| u64::from(b)).sum() }
}

#[test]
fn every_category_appears_for_a_multi_process_computation() {
    dagger::init();
    let (init_events, ctx) = dagger::profile::record(|| {
        cluster_builder(2)
            .threads(1)
            .worker_threads(1)
            .worker_env("DAGGER_MEMORY_LIMIT", "2500000")
            .build()
    });
    let on = |w: u32| Options::new().scope(Scope::Process(WorkerId(w)));
    let (events, sums) = debug_run(&ctx, || {
        let blobs: Vec<DTask<Vec<u8>>> = (0..6)
            .map(|_| ctx.spawn_registered_with(on(2), BLOB, (1_000_000u64,)))
            .collect();
        let sums: Vec<u64> = blobs
            .iter()
            .map(|b| {
                ctx.spawn_registered_with(&on(3), TOTAL, (b,))
                    .fetch()
                    .unwrap()
            })
            .collect();
        sums
    });
    assert_eq!(sums, vec![3_000_000; 6]);
    let all: Vec<_> = init_events.iter().chain(&events).collect();
    let cats: BTreeSet<&str> = all.iter().map(|e| e.category.as_str()).collect();
    for c in ["compute", "comm", "scheduler", "scheduler_init", "storage"] {
        assert!(cats.contains(c), "no {c} span among {cats:?}");
    }
    // worker spans carry their processors and sit on the driver's clock, inside the run
    let worker_compute: Vec<_> = events
        .iter()
        .filter(|e| e.category == "compute" && e.timeline.contains("w2"))
        .collect();
    assert!(!worker_compute.is_empty());
    let (lo, hi) = (
        events.iter().map(|e| e.start_ns).min().unwrap(),
        events.iter().map(|e| e.finish_ns).max().unwrap(),
    );
    for e in &events {
        assert!(e.start_ns <= e.finish_ns && e.start_ns >= lo && e.finish_ns <= hi);
    }
    assert!(
        worker_compute
            .iter()
            .all(|e| e.finish_ns - e.start_ns < 10_000_000_000),
        "clock shift gone wrong"
    );
}
