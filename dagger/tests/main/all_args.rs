//! `All` arguments on a cluster travel by reference: each element goes from the worker that
//! holds it straight to the worker that runs the task (never through the driver), placement
//! counts where every element is, a failed element fails the task, driver-held and worker
//! results mix, and an element lost with its worker is recomputed from its lineage.
//! Real worker processes, started by re-executing this test binary on `worker_entry`.

use dagger::{All, Context, DTask, Error, WorkerId};
use std::time::Instant;

use crate::harness::{
    bench_line, decodes, on, quick_loss_cluster as cluster, remote, signal, wait_lost, Counted,
};

/// The tag of this module's [`Counted`] values: its decodes are counted apart from other
/// modules' (the driver process is shared).
const ME: usize = 0;

// No test in this file may make the driver decode a `Counted`: each checks the driver's
// count stays 0.

dagger::register! {
    fn make(k: u64, n: u64) -> Counted<ME> { Counted(ramp(k, n)) }
    fn plain(k: u64, n: u64) -> Vec<u64> { ramp(k, n) }
    /// The sum of every element, the first number of each (their order), and where it ran.
    fn sum_all(v: Vec<Counted<ME>>) -> (u64, Vec<u64>, u32) {
        let firsts = v.iter().map(|c| c.0.first().copied().unwrap_or(u64::MAX)).collect();
        (v.iter().flat_map(|c| c.0.iter()).sum(), firsts, dagger::myid().0)
    }
    fn sum_plain(v: Vec<Vec<u64>>) -> (u64, u32) {
        (v.iter().flat_map(|c| c.iter()).sum(), dagger::myid().0)
    }
    fn boom(msg: String) -> Counted<ME> { panic!("{msg}") }
    fn decodes_here(_x: u8) -> u64 { decodes::<ME>() }
}

fn ramp(k: u64, n: u64) -> Vec<u64> {
    (0..n).map(|i| i + k).collect()
}

/// The sum of `ramp(k, n)`.
fn ramp_sum(k: u64, n: u64) -> u64 {
    n * k + n * (n - 1) / 2
}

/// 125 000 numbers: 1 MB in memory, far above the inline limit, so every result stays on
/// the worker that made it.
const N: u64 = 125_000;

/// Where a finished task's result is, without fetching it (`chunk()` would bring the value
/// into the driver, decoding it).
fn owner<T: Send + Sync + 'static>(t: &DTask<T>) -> WorkerId {
    t.wait();
    t.site().owner
}

/// Element `k` made on worker `owners[k]`.
fn made_on(ctx: &Context, owners: &[u32]) -> Vec<DTask<Counted<ME>>> {
    let parts: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(k, &w)| ctx.spawn_registered_with(on(w), MAKE, (k as u64, N)))
        .collect();
    for (p, &w) in parts.iter().zip(owners) {
        assert_eq!(owner(p), WorkerId(w));
    }
    parts
}

fn expected(ks: impl IntoIterator<Item = u64>) -> u64 {
    ks.into_iter().map(|k| ramp_sum(k, N)).sum()
}

#[test]
fn a_elements_go_worker_to_worker_and_the_driver_decodes_none() {
    let ctx = cluster(2);
    let parts = made_on(&ctx, &[2, 3, 2, 3, 2, 3]);
    let (sum, firsts, ran) = ctx
        .spawn_registered(SUM_ALL, (All(parts.clone()),))
        .fetch()
        .unwrap();
    assert_eq!(sum, expected(0..6));
    assert_eq!(firsts, vec![0, 1, 2, 3, 4, 5], "elements keep their order");
    assert!(ran == 2 || ran == 3, "ran on {ran}");
    // The same list on each worker, pinned by scope: half local, half fetched from the peer.
    for w in [2, 3] {
        let (s, f, r) = ctx
            .spawn_registered_with(on(w), SUM_ALL, (All(parts.clone()),))
            .fetch()
            .unwrap();
        assert_eq!((s, f, r), (sum, firsts.clone(), w));
    }
    // An element listed twice, and an empty list.
    let twice = All(vec![parts[1].clone(), parts[1].clone(), parts[4].clone()]);
    let (s, f, _) = ctx.spawn_registered(SUM_ALL, (twice,)).fetch().unwrap();
    assert_eq!((s, f), (expected([1, 1, 4]), vec![1, 1, 4]));
    let (s, f, _) = ctx
        .spawn_registered_with(
            remote(&ctx),
            SUM_ALL,
            (All(Vec::<DTask<Counted<ME>>>::new()),),
        )
        .fetch()
        .unwrap();
    assert_eq!((s, f), (0, Vec::new()));
    // The workers decoded the elements; the driver decoded none of them.
    let worker_decodes: u64 = [2, 3]
        .into_iter()
        .map(|w| {
            ctx.spawn_registered_with(on(w), DECODES_HERE, (0u8,))
                .fetch()
                .unwrap()
        })
        .sum();
    assert!(worker_decodes >= 6 * 3 + 3, "{worker_decodes}");
    assert_eq!(decodes::<ME>(), 0);
}

#[test]
fn b_the_task_goes_where_most_of_its_elements_are() {
    let ctx = cluster(2);
    for (owners, most) in [([2, 3, 3, 3, 3, 3], 3), ([2, 2, 3, 2, 2, 2], 2)] {
        let parts = made_on(&ctx, &owners);
        let (sum, _, ran) = ctx
            .spawn_registered(SUM_ALL, (All(parts),))
            .fetch()
            .unwrap();
        assert_eq!(sum, expected(0..6));
        assert_eq!(ran, most, "5 of 6 elements were on worker {most}");
    }
    assert_eq!(decodes::<ME>(), 0);
}

#[test]
fn c_a_failed_element_fails_the_task_naming_the_root() {
    let ctx = cluster(2);
    let mut parts = made_on(&ctx, &[2, 3, 2]);
    let bad = ctx.spawn_registered_with(on(3), BOOM, ("element four exploded".to_string(),));
    parts.insert(1, bad.clone());
    let t = ctx.spawn_registered(SUM_ALL, (All(parts.clone()),));
    let e = t.fetch().unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("element four exploded") && msg.contains("Root Task"),
        "{msg}"
    );
    match &e {
        Error::TaskFailed { task, root } => {
            assert_eq!(*task, t.id());
            assert_eq!(root.task, bad.id(), "the root is the failed element");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    // The good elements are still usable.
    parts.remove(1);
    let (sum, _, _) = ctx
        .spawn_registered(SUM_ALL, (All(parts),))
        .fetch()
        .unwrap();
    assert_eq!(sum, expected(0..3));
    assert_eq!(decodes::<ME>(), 0);
}

#[test]
fn d_driver_held_values_and_worker_results_mix() {
    let ctx = cluster(2);
    // Elements 0 and 3: closures run in the driver; element 5: a registered function run in
    // the driver; the rest on the workers.
    let here = |k: u64| ctx.spawn(move |()| Counted(ramp(k, N)), ());
    let parts = vec![
        here(0),
        ctx.spawn_registered_with(on(2), MAKE, (1u64, N)),
        ctx.spawn_registered_with(on(3), MAKE, (2u64, N)),
        here(3),
        ctx.spawn_registered_with(on(3), MAKE, (4u64, N)),
        ctx.spawn_registered_with(on(1), MAKE, (5u64, N)),
    ];
    assert_eq!(owner(&parts[5]), WorkerId(1));
    // Pinned off the driver: unscoped, the driver (holding half the bytes) may be the best
    // place, and a Counted decoded there would spoil the count (test e covers that path).
    for opts in [on(2), on(3), remote(&ctx)] {
        let (sum, firsts, ran) = ctx
            .spawn_registered_with(&opts, SUM_ALL, (All(parts.clone()),))
            .fetch()
            .unwrap();
        assert_eq!(sum, expected(0..6));
        assert_eq!(firsts, vec![0, 1, 2, 3, 4, 5]);
        assert_ne!(ran, 1, "Counted tasks must not run in the driver here");
    }
    assert_eq!(decodes::<ME>(), 0);
}

#[test]
fn e_a_list_task_run_in_the_driver_gets_every_element() {
    let ctx = cluster(2);
    let parts: Vec<DTask<Vec<u64>>> = vec![
        ctx.spawn_registered_with(on(2), PLAIN, (0u64, N)),
        ctx.spawn(|()| ramp(1, N), ()),
        ctx.spawn_registered_with(on(3), PLAIN, (2u64, N)),
    ];
    let (sum, ran) = ctx
        .spawn_registered_with(on(1), SUM_PLAIN, (All(parts.clone()),))
        .fetch()
        .unwrap();
    assert_eq!((sum, ran), (expected(0..3), 1));
    // Unscoped, with most bytes on the workers: still right wherever it runs.
    let (sum, _) = ctx
        .spawn_registered(SUM_PLAIN, (All(parts),))
        .fetch()
        .unwrap();
    assert_eq!(sum, expected(0..3));
}

#[test]
fn f_an_element_lost_with_its_worker_is_recomputed() {
    let ctx = cluster(3);
    let o = remote(&ctx);
    let parts: Vec<DTask<Counted<ME>>> = (0..6u64)
        .map(|k| ctx.spawn_registered_with(&o, MAKE, (k, N)))
        .collect();
    for p in &parts {
        p.wait();
    }
    let owners: Vec<WorkerId> = parts.iter().map(owner).collect();
    let victim = owners[0];
    assert_ne!(victim, WorkerId(1));
    signal(&ctx, victim, libc::SIGKILL);
    wait_lost(&ctx, victim);
    let (sum, firsts, ran) = ctx
        .spawn_registered_with(&o, SUM_ALL, (All(parts.clone()),))
        .fetch()
        .unwrap();
    assert_eq!(sum, expected(0..6));
    assert_eq!(firsts, vec![0, 1, 2, 3, 4, 5]);
    assert_ne!(WorkerId(ran), victim);
    for p in &parts {
        assert_ne!(owner(p), victim, "every element lives again");
    }
    assert_eq!(decodes::<ME>(), 0);
}

dagger::register! {
    fn fill(k: u64, n: u64) -> Vec<f64> { (0..n).map(|i| (i + k) as f64).collect() }
    fn vsum_all(v: Vec<Vec<f64>>) -> f64 { v.iter().flat_map(|c| c.iter()).sum() }
}

/// Not a test: six 16 MB blocks (three on each of two workers) summed by one task, taking
/// them by reference (`All`) versus through the driver (fetched there, sent inline: what
/// `All` did before). Prints one JSON line per way.
/// `cargo test --release -p dagger --test main -- --ignored --nocapture all_args::all_of_six`
#[test]
#[ignore]
fn all_of_six_16mb_blocks_by_reference_vs_through_the_driver() {
    let ctx = cluster(2);
    let n = 2_000_000u64; // 16 MB of f64
    let want: f64 = (0..6u64).map(|k| (n * k + n * (n - 1) / 2) as f64).sum();
    let blocks = || -> Vec<DTask<Vec<f64>>> {
        let parts: Vec<_> = (0..6u64)
            .map(|k| ctx.spawn_registered_with(on(2 + (k % 2) as u32), FILL, (k, n)))
            .collect();
        parts.iter().for_each(DTask::wait);
        parts
    };
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for rep in 0..6 {
        let parts = blocks();
        let t0 = Instant::now();
        let got = ctx
            .spawn_registered(VSUM_ALL, (All(parts),))
            .fetch()
            .unwrap();
        let by_ref = t0.elapsed().as_secs_f64();
        assert_eq!(got, want);
        let parts = blocks();
        let t0 = Instant::now();
        let vals: Vec<Vec<f64>> = parts.iter().map(|p| p.fetch().unwrap()).collect();
        let got = ctx
            .spawn_registered_with(on(3), VSUM_ALL, (vals,))
            .fetch()
            .unwrap();
        let via_driver = t0.elapsed().as_secs_f64();
        assert_eq!(got, want);
        if rep > 0 {
            // The first round warms the workers up.
            times[0].push(by_ref);
            times[1].push(via_driver);
        }
    }
    for (system, mut t) in ["dagger-tcp2-all-by-ref", "dagger-tcp2-all-via-driver"]
        .into_iter()
        .zip(times)
    {
        let params = format!("{{\"blocks\":6,\"block_bytes\":{}}}", n * 8);
        let line = bench_line("all_of_6x16mb", system, &params, &mut t, |median| {
            format!(",\"mb_per_s\":{:.1}", (6 * n * 8) as f64 / 1e6 / median)
        });
        println!("{line}");
    }
}
