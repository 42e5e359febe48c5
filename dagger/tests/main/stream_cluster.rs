//! Streaming regions whose stages run on 2 worker processes: values go worker to worker,
//! in batches, with credits; failures, cancellation and a killed worker end the region.

use crate::harness::{cluster_builder, quick_loss_cluster, signal};
use dagger::stream::{running_stages_on, Step, StreamOptions, StreamingExt};
use dagger::{Context, Error, WorkerId};
use std::time::{Duration, Instant};

dagger::register! {
    fn st_below(i: u64, n: u64) -> Option<u64> { (i < n).then_some(i) }
    fn st_inc(x: u64) -> u64 { x + 1 }
    fn st_add(x: u64, k: u64) -> u64 { x + k }
    fn st_sum2(a: u64, b: u64) -> u64 { a + b }
    fn st_fail_at(x: u64, at: u64) -> u64 {
        assert!(x != at, "stage failed at {x}");
        x
    }
    fn st_me(_x: u64) -> u32 { dagger::myid().0 }
    fn st_nap(x: u64, us: u64) -> u64 {
        std::thread::sleep(Duration::from_micros(us));
        x
    }
    fn st_multiple_of(x: u64, k: u64) -> Step<u64> {
        if x.is_multiple_of(k) { Step::Emit(x) } else { Step::Skip }
    }
    fn st_through(x: u64, last: u64) -> Step<u64> {
        if x == last { Step::Finish(Some(x)) } else { Step::Emit(x) }
    }
    fn st_below_then_finish(x: u64, end: u64) -> Step<u64> {
        if x >= end { Step::Finish(None) } else { Step::Emit(x) }
    }
    fn st_seen(s: Seen, x: u64) -> Seen { seen(s, x) }
}

/// Generous: remote stages look at their region's flag every couple of milliseconds, and
/// the cancel travels one message.
const TEARDOWN: Duration = Duration::from_secs(2);

fn cluster() -> Context {
    cluster_builder(2).threads(2).worker_threads(1).build()
}

fn on(w: u32) -> StreamOptions {
    StreamOptions::new().worker(WorkerId(w)).batch(512)
}

/// No stage runs on either worker once the region has ended (the driver's own stages are
/// joined by the region; its process-wide count would see the other tests' regions).
/// Polls with a generous deadline: a remote stage reports its end before it leaves its
/// loop's last step, so the first look should already see none. Returns how long it took
/// to see them idle (one count's round trip, if the first look did).
fn assert_idle(ctx: &Context) -> Duration {
    assert_idle_on(ctx, &[2, 3])
}

/// [`assert_idle`] on the given workers.
fn assert_idle_on(ctx: &Context, workers: &[u32]) -> Duration {
    let t0 = Instant::now();
    for look in 1.. {
        let running: Vec<usize> = workers
            .iter()
            .map(|&w| running_stages_on(ctx, WorkerId(w)).unwrap())
            .collect();
        if running.iter().all(|&r| r == 0) {
            eprintln!("workers {workers:?} idle at look {look}");
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < TEARDOWN,
            "stages still running on workers {workers:?}: {running:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    unreachable!("the loop returns or fails")
}

/// Count, order and checksum of what reached the sink.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Seen {
    n: u64,
    prev: Option<u64>,
    in_order: bool,
    sum: u64,
}

fn seen(s: Seen, x: u64) -> Seen {
    Seen {
        n: s.n + 1,
        in_order: s.in_order && s.prev.is_none_or(|p| p < x),
        prev: Some(x),
        sum: s.sum.wrapping_add(x.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
    }
}

const START: Seen = Seen {
    n: 0,
    prev: None,
    in_order: true,
    sum: 0,
};

#[test]
fn a_four_stage_pipeline_of_a_million_items_across_two_workers() {
    let ctx = cluster();
    let n = 1_000_000u64;
    let (sink, stages) = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&on(2).name("src"), ST_BELOW, n);
            let a = s.spawn_registered_with(&on(3).name("a"), ST_INC, (&src,));
            let b = s.spawn_registered_with(&on(2).name("b"), ST_INC, (&a,));
            let c = s.spawn_registered_with(&on(3).name("c"), ST_INC, (&b,));
            let sink = s.fold(&c, START, seen);
            (sink, [src, a, b, c])
        })
        .unwrap();
    let want = (3..n + 3).fold(START, seen);
    assert_eq!(sink.fetch().unwrap(), want);
    let places: Vec<_> = stages.iter().map(|t| t.worker()).collect();
    assert_eq!(places, [2, 3, 2, 3].map(|w| Some(WorkerId(w))));
    assert_eq!(
        stages[3].fetch().unwrap(),
        n + 2,
        "the last value of the last stage"
    );
    // Worker to worker: of the 4 edges' items only the last edge's came to the driver.
    assert_eq!(ctx.stream_hub().unwrap().items_received(), n);
    assert_idle(&ctx);
}

#[test]
fn fan_out_and_fan_in_across_workers_and_the_driver() {
    let ctx = cluster();
    let n = 20_000u64;
    let (both, direct, from_here) = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), ST_BELOW, n);
            let a = s.spawn_registered_with(&on(3), ST_ADD, (&src, 1u64)); // fan-out: src
            let b = s.spawn_registered_with(&on(2), ST_ADD, (&src, 2u64)); // to a, b and here
            let both = s.spawn_registered_with(&on(3), ST_SUM2, (&a, &b)); // fan-in
            let direct = s.fold(&src, 0u64, |acc, x| acc + x);
            // A stage here feeding one on a worker, back to here.
            let local = s.source(0..n);
            let there = s.spawn_registered_with(&on(2), ST_INC, (&local,));
            let from_here = s.fold(&there, START, seen);
            let me = s.spawn_registered_with(&on(3), ST_ME, (&there,));
            (
                s.fold(&both, 0u64, |acc, x| acc + x),
                direct,
                (from_here, me),
            )
        })
        .unwrap();
    let (from_here, me) = from_here;
    assert_eq!(me.fetch().unwrap(), 3, "the stage ran in worker process 3");
    let sum: u64 = (0..n).sum();
    assert_eq!(direct.fetch().unwrap(), sum);
    assert_eq!(both.fetch().unwrap(), 2 * sum + 3 * n);
    assert_eq!(from_here.fetch().unwrap(), (1..=n).fold(START, seen));
    assert_idle(&ctx);
}

#[test]
fn a_failing_stage_on_a_worker_stops_the_pipeline_with_its_error() {
    let ctx = cluster();
    let t0 = Instant::now();
    let err = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), ST_BELOW, u64::MAX); // endless
            let a = s.spawn_registered_with(&on(3), ST_INC, (&src,));
            let b = s.spawn_registered_with(&on(2).name("fails"), ST_FAIL_AT, (&a, 50_000u64));
            // An endless pipeline of its own, stopped only by teardown.
            let other = s.source_registered_with(&on(3), ST_BELOW, u64::MAX);
            let o = s.spawn_registered_with(&on(2), ST_INC, (&other,));
            (
                s.fold(&b, 0u64, |n, _| n + 1),
                s.fold(&o, 0u64, |n, _| n + 1),
            )
        })
        .unwrap_err();
    assert!(err.to_string().contains("stage failed at 50000"), "{err}");
    assert!(
        err.to_string().contains("fails"),
        "the error names the stage: {err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(60));
    let idle = assert_idle(&ctx);
    eprintln!("failing stage: workers idle {idle:?} after the region returned");
}

#[test]
fn cancelling_a_region_stops_its_stages_on_workers() {
    let ctx = cluster();
    let at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let at2 = at.clone();
    let err = ctx
        .streaming(|s| {
            let c = s.canceller();
            let src = s.source_registered_with(&on(2), ST_BELOW, u64::MAX);
            let a = s.spawn_registered_with(&on(3), ST_NAP, (&src, 10u64));
            s.fold(&a, 0u64, move |n, _| {
                if n == 2_000 {
                    *at2.lock().unwrap() = Some(Instant::now());
                    c.cancel();
                }
                n + 1
            })
        })
        .unwrap_err();
    let stopped = Instant::now();
    assert!(matches!(err, Error::Cancelled { .. }), "{err}");
    let cancelled = at.lock().unwrap().expect("the sink cancelled the region");
    // The stages on both workers have stopped and said so by then.
    eprintln!("teardown across processes: {:?}", stopped - cancelled);
    assert!(
        stopped - cancelled < TEARDOWN,
        "teardown took {:?}",
        stopped - cancelled
    );
    let idle = assert_idle(&ctx);
    eprintln!("cancel: workers idle {idle:?} after the region returned");
}

#[test]
fn a_worker_killed_mid_stream_fails_the_region_with_worker_lost() {
    let ctx = quick_loss_cluster(2);
    let ctx2 = ctx.clone();
    let killer = std::thread::spawn(move || {
        // Let the stream run for a while, then kill the worker of the middle stage.
        std::thread::sleep(Duration::from_millis(500));
        signal(&ctx2, WorkerId(3), libc::SIGKILL);
        Instant::now()
    });
    let err = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), ST_BELOW, u64::MAX);
            let a = s.spawn_registered_with(&on(3).name("middle"), ST_NAP, (&src, 20u64));
            let b = s.spawn_registered_with(&on(2), ST_INC, (&a,));
            s.fold(&b, 0u64, |n, _| n + 1)
        })
        .unwrap_err();
    let stopped = Instant::now();
    let killed = killer.join().unwrap();
    assert!(
        matches!(
            err.root_cause(),
            Error::WorkerLost {
                worker: WorkerId(3),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("middle"),
        "the error names the stage: {err}"
    );
    assert!(stopped - killed < Duration::from_secs(30), "no hang");
    let idle = assert_idle_on(&ctx, &[2]);
    eprintln!(
        "killed worker: after {:?}, worker 2 idle {idle:?} later",
        stopped - killed
    );
}

#[test]
fn a_slow_consumer_in_the_driver_keeps_the_remote_producer_within_the_bound() {
    let ctx = cluster();
    let n = 20_000u64;
    let bound = 64 + 64; // the producer's output buffer plus the sink's input buffer
    let sink = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), ST_BELOW, n);
            let out = StreamOptions::new()
                .worker(WorkerId(3))
                .output_buffer(64)
                .batch(16);
            let a = s.spawn_registered_with(&out, ST_INC, (&src,));
            let slow = StreamOptions::new().input_buffer(64);
            s.fold_with(&slow, &a, START, |acc, x| {
                std::thread::sleep(Duration::from_micros(50));
                seen(acc, x)
            })
        })
        .unwrap();
    assert_eq!(sink.fetch().unwrap(), (1..=n).fold(START, seen));
    // Memory: the most items the edge ever held in the driver (queued or being read),
    // over the whole stream, however long it ran.
    let hub = ctx.stream_hub().unwrap();
    assert_eq!(hub.items_received(), n);
    let peak = hub.peak_held();
    eprintln!("slow consumer: at most {peak} items held of a bound of {bound}");
    assert!(
        peak >= 16,
        "the producer ran ahead by at least a batch: {peak}"
    );
    assert!(
        peak <= bound,
        "{peak} items held, beyond the edge's bound {bound}"
    );
    assert_idle(&ctx);
}

/// Where a stage of a pipeline compared across places runs: on worker `w`, or here.
type Place<'a> = &'a dyn Fn(u32) -> StreamOptions;

/// Here: the same options without a scope (the registered functions run in the driver).
fn here(_: u32) -> StreamOptions {
    StreamOptions::new().batch(512)
}

/// The handles' values of a filter pipeline: every 3rd item of a source passes a filter,
/// then a stage adds 1; a sink here checks what came.
fn filter_pipeline(ctx: &Context, at: Place<'_>, n: u64) -> (Seen, u64, Vec<Option<WorkerId>>) {
    let (sink, kept, places) = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&at(2), ST_BELOW, n);
            let kept = s.try_spawn_registered_with(&at(3), ST_MULTIPLE_OF, (&src, 3u64));
            let inc = s.spawn_registered_with(&at(2), ST_INC, (&kept,));
            let places = vec![src.worker(), kept.worker(), inc.worker()];
            (s.fold(&inc, START, seen), kept, places)
        })
        .unwrap();
    (sink.fetch().unwrap(), kept.fetch().unwrap(), places)
}

#[test]
fn a_filter_on_a_worker_skips_items_as_it_does_here() {
    let ctx = cluster();
    let n = 100_000u64;
    let there = filter_pipeline(&ctx, &on, n);
    let local = filter_pipeline(&ctx, &here, n);
    assert_eq!(there.2, [2, 3, 2].map(|w| Some(WorkerId(w))));
    assert_eq!(local.2, [None; 3]);
    let want = (0..n)
        .filter(|x| x % 3 == 0)
        .map(|x| x + 1)
        .fold(START, seen);
    assert_eq!(there.0, want);
    assert_eq!(
        there.1,
        (n - 1) / 3 * 3,
        "the filter's last value is the last it kept"
    );
    assert_eq!((there.0, there.1), (local.0, local.1));
    assert_idle(&ctx);
}

/// The handles' values of pipelines whose stages end the stream early: after a value
/// (`Finish(Some)`), without one (`Finish(None)`), and by a bound on evaluations. Their
/// sources are endless: they stop because their consumers went.
fn early_end_pipeline(ctx: &Context, at: Place<'_>) -> [u64; 6] {
    let (a, b, c) = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&at(2), ST_BELOW, u64::MAX);
            let through = s.try_spawn_registered_with(&at(3), ST_THROUGH, (&src, 10_000u64));
            let inc = s.spawn_registered_with(&at(2), ST_INC, (&through,));
            let a = (through, inc.clone(), s.fold(&inc, 0u64, |k, _| k + 1));
            let src2 = s.source_registered_with(&at(3), ST_BELOW, u64::MAX);
            let below =
                s.try_spawn_registered_with(&at(2), ST_BELOW_THEN_FINISH, (&src2, 5_000u64));
            let b = (below.clone(), s.fold(&below, 0u64, |k, _| k + 1));
            let bounded = s.source_registered_with(&at(2).max_evals(3_000), ST_BELOW, u64::MAX);
            let c = (bounded.clone(), s.fold(&bounded, 0u64, |k, _| k + 1));
            (a, b, c)
        })
        .unwrap();
    [
        a.0.fetch().unwrap(),
        a.1.fetch().unwrap(),
        a.2.fetch().unwrap(),
        b.0.fetch().unwrap(),
        b.1.fetch().unwrap(),
        c.0.fetch().unwrap() * 1_000_000 + c.1.fetch().unwrap(),
    ]
}

#[test]
fn stages_on_workers_that_finish_early_end_the_stream_downstream_as_here() {
    let ctx = cluster();
    let there = early_end_pipeline(&ctx, &on);
    // `through` ends after 10000 (its last value), `inc` after 10001 items; `below` ends
    // without a value at 5000, its last being 4999; the bounded source made 3000 values.
    assert_eq!(
        there,
        [10_000, 10_001, 10_001, 4_999, 5_000, 2_999_000_000 + 3_000]
    );
    assert_eq!(there, early_end_pipeline(&ctx, &here));
    assert_idle(&ctx);
}

#[test]
fn a_fold_on_a_worker_gives_its_handle_what_it_gathered() {
    let ctx = cluster();
    let n = 100_000u64;
    let run = |at: Place<'_>| {
        let (a, b) = ctx
            .streaming(|s| {
                // A fold on worker 3 of a source on worker 2, and one on worker 2 of a
                // source here.
                let src = s.source_registered_with(&at(2), ST_BELOW, n);
                let a = s.fold_registered_with(&at(3), ST_SEEN, &src, START);
                let local = s.source(0..n);
                let b = s.fold_registered_with(&at(2), ST_SEEN, &local, START);
                (a, b)
            })
            .unwrap();
        let places = (a.worker(), b.worker());
        ((a.fetch().unwrap(), b.fetch().unwrap()), places)
    };
    let want = (0..n).fold(START, seen);
    let (there, places) = run(&on);
    assert_eq!(places, (Some(WorkerId(3)), Some(WorkerId(2))));
    assert_eq!(there, (want.clone(), want));
    let (local, places) = run(&here);
    assert_eq!(places, (None, None));
    assert_eq!(there, local);
    assert_idle(&ctx);
}

#[test]
fn a_slow_consumer_on_a_worker_keeps_its_producer_on_another_within_the_bound() {
    let ctx = cluster();
    let n = 20_000u64;
    let bound = 64 + 64; // the producer's output buffer plus the consumer's input buffer
    let (src, sink) = ctx
        .streaming(|s| {
            let out = StreamOptions::new()
                .worker(WorkerId(2))
                .output_buffer(64)
                .batch(16);
            let src = s.source_registered_with(&out, ST_BELOW, n);
            let slow = StreamOptions::new().worker(WorkerId(3)).input_buffer(64);
            let a = s.spawn_registered_with(&slow, ST_NAP, (&src, 50u64));
            (src, s.fold(&a, START, seen))
        })
        .unwrap();
    assert_eq!(sink.fetch().unwrap(), (0..n).fold(START, seen));
    assert_eq!(src.buffer_bound(), bound);
    // Memory: the most items the edge from worker 2 to worker 3 held at once, as worker 2
    // counted them: sent and not yet given back (queued on worker 3, in flight, or being
    // read there), over the whole stream.
    let peak = src.peak_buffered();
    eprintln!("slow consumer on a worker: at most {peak} items held of a bound of {bound}");
    assert!(
        peak >= 16,
        "the producer ran ahead by at least a batch: {peak}"
    );
    assert!(
        peak <= bound,
        "{peak} items held, beyond the edge's bound {bound}"
    );
    assert_idle(&ctx);
}
