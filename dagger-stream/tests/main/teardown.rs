//! Ending a region early: a failing or panicking stage, a cancel, teardown off.

use dagger_stream::{streaming, streaming_with, Canceller, Step};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Generous: the stages look at the cancel flag every couple of milliseconds.
const TEARDOWN: Duration = Duration::from_secs(2);

#[test]
fn a_failing_stage_stops_every_stage_with_its_error() {
    let failed_at = Arc::new(Mutex::new(None));
    let mut canceller: Option<Canceller> = None;
    let mut handles = None;
    let f = failed_at.clone();
    let err = streaming(|s| {
        canceller = Some(s.canceller());
        let src = s.source(0u64..); // endless: only teardown stops it
        let a = s.spawn(|(x,)| x + 1, (&src,));
        let b = s.try_spawn(
            move |(x,)| {
                if x == 200_000 {
                    *f.lock() = Some(Instant::now());
                    Err("boom at 200000")
                } else {
                    Ok(Step::Emit(x))
                }
            },
            (&a,),
        );
        // A pipeline of its own in the region, whose body runs until the region is torn
        // down (it looks at the flag).
        let busy = s.source(0u64..);
        let other = s.fold(&busy, 0u64, |n, _| {
            while n > 1000 && !dagger_stream::is_cancelled() {
                std::thread::yield_now();
            }
            n + 1
        });
        let sink = s.fold(&b, 0u64, |n, _| n + 1);
        handles = Some((src, a, other, sink));
    })
    .unwrap_err();
    let stopped = Instant::now();
    assert!(err.to_string().contains("boom at 200000"), "{err}");
    assert!(
        err.to_string().contains("stage-3"),
        "the error names the stage: {err}"
    );
    let failed = failed_at.lock().expect("the stage failed");
    assert!(
        stopped - failed < TEARDOWN,
        "teardown took {:?}",
        stopped - failed
    );
    assert_eq!(
        canceller.unwrap().running(),
        0,
        "no stage outlives its region"
    );
    let (src, a, other, sink) = handles.unwrap();
    for e in [src.fetch(), a.fetch(), other.fetch(), sink.fetch()] {
        let e = e.unwrap_err();
        assert!(e.to_string().contains("boom at 200000"), "root cause: {e}");
    }
}

#[test]
fn a_panicking_stage_fails_the_region_naming_it() {
    let err = streaming(|s| {
        let src = s.source(0u64..);
        let opts = dagger_stream::StreamOptions::new().name("parser");
        let p = s.spawn_with(
            &opts,
            |(x,): (u64,)| {
                assert!(x < 1000, "bad input {x}");
                x
            },
            (&src,),
        );
        s.fold(&p, 0u64, |n, _| n + 1);
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("parser") && msg.contains("bad input 1000"),
        "{msg}"
    );
}

#[test]
fn cancelling_stops_an_endless_pipeline() {
    let seen = Arc::new(AtomicU64::new(0));
    let mut canceller = None;
    let mut sink = None;
    let mut watcher = None;
    let err = streaming(|s| {
        let c = s.canceller();
        let src = s.source(0u64..);
        let a = s.spawn(|(x,)| x * 2, (&src,));
        let s2 = seen.clone();
        sink = Some(s.fold(&a, 0u64, move |n, _| {
            s2.fetch_add(1, Ordering::Relaxed);
            n + 1
        }));
        let (seen, c2) = (seen.clone(), c.clone());
        watcher = Some(std::thread::spawn(move || {
            // Cancel once the sink has seen a good part of the stream (counted, not timed).
            while seen.load(Ordering::Relaxed) < 100_000 {
                std::thread::yield_now();
            }
            c2.cancel();
            Instant::now()
        }));
        canceller = Some(c);
    })
    .unwrap_err();
    let stopped = Instant::now();
    let cancelled_at = watcher.unwrap().join().unwrap();
    assert!(err.is_cancelled(), "{err}");
    assert!(
        stopped - cancelled_at < TEARDOWN,
        "teardown took {:?}",
        stopped - cancelled_at
    );
    assert!(canceller.unwrap().is_cancelled());
    assert!(sink.unwrap().fetch().unwrap_err().is_cancelled());
}

#[test]
fn without_teardown_the_other_branches_run_to_their_end() {
    let mut other = None;
    let err = streaming_with(false, |s| {
        let src = s.source(0..100_000u64);
        let bad = s.try_spawn(
            |(x,)| {
                if x == 10 {
                    Err("bad ten")
                } else {
                    Ok(Step::Emit(x))
                }
            },
            (&src,),
        );
        s.fold(&bad, 0u64, |n, _| n + 1);
        other = Some(s.fold(&src, 0u64, |n, _| n + 1));
    })
    .unwrap_err();
    assert!(err.to_string().contains("bad ten"), "{err}");
    assert_eq!(other.unwrap().fetch().unwrap(), 100_000);
}
