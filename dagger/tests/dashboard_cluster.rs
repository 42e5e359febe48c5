//! The dashboard on a cluster: its observer sees tasks run on worker processes and its
//! memory panel shows what each worker holds (feature `dashboard`).
#![cfg(feature = "dashboard")]

use dagger::{Context, Options, Scope, WorkerId, WorkerProgram};
use std::time::{Duration, Instant};

dagger::register! {
    fn chunky(n: u64) -> Vec<u8> { vec![1; n as usize] }
}

#[test]
#[ignore]
fn worker_entry() {
    dagger::init();
}

#[test]
fn the_dashboard_shows_remote_tasks_and_worker_memory() {
    dagger::init();
    let b = Context::builder()
        .threads(1)
        .workers(2)
        .worker_threads(1)
        .worker_program(WorkerProgram::test("worker_entry").unwrap());
    let (b, dash) = dagger::with_dashboard(b, "127.0.0.1:0").unwrap();
    let ctx = b.build();
    let _feed = dagger::feed_gauges(&ctx, dash.gauges(), Duration::from_millis(50));
    let o = Options::new()
        .scope(Scope::Process(WorkerId(2)))
        .name("chunky");
    let ts: Vec<_> = (0..5)
        .map(|_| ctx.spawn_fn_with(&o, CHUNKY, (1_000_000u64,)))
        .collect();
    for t in &ts {
        t.wait();
    }
    let t0 = Instant::now();
    loop {
        let st = dash.state();
        let w2 = st
            .memory
            .iter()
            .find(|m| m.worker == 2)
            .map_or(0, |m| m.in_use_bytes);
        let done = st
            .names
            .iter()
            .find(|n| n.name == "chunky")
            .map_or(0, |n| n.progress.done);
        if w2 >= 5_000_000 && done == 5 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "memory {w2}, done {done}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
