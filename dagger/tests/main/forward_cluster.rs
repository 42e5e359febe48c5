//! Dependents follow their data (issue 25, part 2): a task whose input is still being
//! computed on a worker is sent there ahead of it and runs when the input is done, with no
//! driver round trip per hop; failures, a lost worker and cancellation still behave.

use dagger::{Context, Error, WorkerId};
use std::time::Duration;

dagger::register! {
    fn slow_one(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); 1 }
    fn inc(x: u64) -> u64 { x + 1 }
    fn slow_boom(ms: u64) -> u64 {
        std::thread::sleep(Duration::from_millis(ms));
        panic!("boom at the root")
    }
    fn whoami(_x: u64) -> u64 { u64::from(dagger::myid().0) }
    fn slow_zero(ms: u64, _x: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); 0 }
}

use crate::harness::{bench_line, cluster_builder, quick_loss_cluster, remote, signal};

/// Tasks that ran on a worker as soon as an input computed there was done, summed over
/// the workers of `ctx`.
fn forwarded(ctx: &Context) -> u64 {
    ctx.other_workers()
        .into_iter()
        .map(|w| ctx.worker_transfers(w).unwrap().forwarded_tasks)
        .sum()
}

/// A 1 000-task chain gives the right value, and (its first task still running while the
/// rest are spawned) every later link ran where its input was made, on its completion,
/// not on a dispatch from the driver after it heard of that completion.
#[test]
fn a_chain_follows_its_data_without_a_driver_round_trip_per_hop() {
    let ctx = cluster_builder(2).threads(2).worker_threads(2).build();
    let o = remote(&ctx);
    let before = forwarded(&ctx);
    let mut t = ctx.spawn_registered_with(&o, SLOW_ONE, (300u64,));
    for _ in 1..1000 {
        t = ctx.spawn_registered_with(&o, INC, (&t,));
    }
    assert_eq!(t.fetch().unwrap(), 1000);
    let hops = forwarded(&ctx) - before;
    assert!(hops >= 990, "only {hops} of 999 links followed their data");
    // Independent tasks still spread over both workers.
    let ids: Vec<u64> = (0..64)
        .map(|i| ctx.spawn_registered_with(&o, WHOAMI, (i as u64,)))
        .collect::<Vec<_>>()
        .iter()
        .map(|t| t.fetch().unwrap())
        .collect();
    assert!(ids.contains(&2) && ids.contains(&3), "{ids:?}");
}

/// A forwarded dependent whose input fails completes with the input's failure as its root
/// cause; other tasks still run.
#[test]
fn a_forwarded_task_whose_input_fails_names_the_root_cause() {
    let ctx = cluster_builder(2).threads(2).worker_threads(2).build();
    let o = remote(&ctx);
    let root = ctx.spawn_registered_with(&o, SLOW_BOOM, (200u64,));
    let mut t = ctx.spawn_registered_with(&o, INC, (&root,));
    for _ in 0..20 {
        t = ctx.spawn_registered_with(&o, INC, (&t,));
    }
    match t.fetch() {
        Err(Error::TaskFailed { root: r, .. }) => {
            assert_eq!(r.task, root.id(), "root cause {r:?}");
            assert!(r.error.to_string().contains("boom at the root"), "{r:?}");
        }
        other => panic!("expected the root's failure, got {other:?}"),
    }
    let ok = ctx.spawn_registered_with(&o, SLOW_ONE, (0u64,));
    let ok = ctx.spawn_registered_with(&o, INC, (&ok,));
    assert_eq!(ok.fetch().unwrap(), 2);
}

/// The worker running a chain is killed while the chain waits there: the chain is made
/// again from its lineage on another worker and gives the right value (or, never here, a
/// `WorkerLost` error): never a hang or a wrong value.
#[test]
fn a_worker_killed_mid_chain_gives_the_right_value() {
    let ctx = quick_loss_cluster(3);
    let o = remote(&ctx);
    let first = ctx.spawn_registered_with(&o, WHOAMI, (0u64,));
    let w = WorkerId(first.fetch().unwrap() as u32);
    // Runs on `w` (its input is there), slowly; the rest of the chain waits on `w`.
    let mut t = ctx.spawn_registered_with(&o, SLOW_ZERO, (400u64, &first));
    for _ in 0..500 {
        t = ctx.spawn_registered_with(&o, INC, (&t,));
    }
    std::thread::sleep(Duration::from_millis(150));
    signal(&ctx, w, libc::SIGKILL);
    match t.fetch() {
        Ok(v) => assert_eq!(v, 500),
        Err(e) => assert!(
            matches!(e.root_cause(), Error::WorkerLost { .. }),
            "neither the value nor WorkerLost: {e}"
        ),
    }
}

/// Cancelling a forwarded task cancels it where it waits: it never runs there, and fails
/// as cancelled; the task it was forwarded on (itself forwarded) runs and is unaffected.
#[test]
fn cancelling_a_forwarded_task_calls_it_off_on_its_worker() {
    let ctx = cluster_builder(2).threads(2).worker_threads(2).build();
    let o = remote(&ctx);
    let before = forwarded(&ctx);
    // The input runs long enough that the cancel below comes before it is done even when
    // this thread is scheduled late (the whole test binary on 2 loaded cores: 300 ms was
    // once not enough, and `b` had run).
    let input = ctx.spawn_registered_with(&o, SLOW_ONE, (2_000u64,));
    let a = ctx.spawn_registered_with(&o, INC, (&input,));
    let b = ctx.spawn_registered_with(&o, INC, (&a,));
    std::thread::sleep(Duration::from_millis(50));
    b.cancel();
    let e = b.fetch().unwrap_err();
    assert!(e.is_cancelled(), "{e:?}");
    assert_eq!(a.fetch().unwrap(), 2);
    assert_eq!(input.fetch().unwrap(), 1);
    // `a` ran where it waited, when the input was done; `b` was dropped there (it would
    // have run right after `a`).
    assert_eq!(forwarded(&ctx) - before, 1);
}

/// The 10^4-link chain of `cargo xtask bench tasks` (`tasks_chain`, driver + 2 workers),
/// for a quick A/B in a debug build: `cargo test -p dagger --test main -- --ignored
/// forward_cluster::chain_bench --nocapture`, once as is and once with `DAGGER_FORWARD=0`.
#[test]
#[ignore = "a benchmark"]
fn chain_bench() {
    // Dropping a 10^4-link chain's lineage recurses once per link: deeper than a test
    // thread's stack in a debug build.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(chain_bench_body)
        .unwrap()
        .join()
        .unwrap();
}

fn chain_bench_body() {
    let ctx = cluster_builder(2).threads(2).worker_threads(2).build();
    let o = remote(&ctx);
    let n = 10_000;
    let mut times = Vec::new();
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        let mut t = ctx.spawn_registered_with(&o, SLOW_ONE, (0u64,));
        for _ in 1..n {
            t = ctx.spawn_registered_with(&o, INC, (&t,));
        }
        assert_eq!(t.fetch().unwrap(), n);
        times.push(t0.elapsed().as_secs_f64());
    }
    let system = match std::env::var("DAGGER_FORWARD") {
        Ok(v) if v == "0" => "dagger-tcp2-debug-noforward",
        _ => "dagger-tcp2-debug",
    };
    println!(
        "{}",
        bench_line(
            "tasks_chain",
            system,
            &format!("{{\"n\":{n},\"workers\":2}}"),
            &mut times,
            |_| String::new()
        )
    );
}
