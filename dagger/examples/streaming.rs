//! Streaming: a pipeline of long-lived stages that pass a stream of values along bounded
//! edges, with back-pressure.
//!
//! A sensor-like source of 10⁶ readings, a calibration stage with a constant argument, a
//! filter, a fan-out to two sinks (a running sum and a histogram), a fan-in that zips two
//! streams, a registered function as a stage, and a stage failing mid-stream that tears the
//! whole pipeline down with its error. Then the registered stages of a pipeline on two
//! worker processes, passing values worker to worker, and a filter that ends its stream
//! early and a fold, there too.
//!
//!     cargo run --release --example streaming

use dagger::register;
use dagger::stream::{Step, StreamOptions, StreamingExt};
use dagger::{Context, WorkerId};
use std::time::Instant;

register! {
    fn scale(x: u64, k: u64) -> u64 { x * k }
    fn below(i: u64, n: u64) -> Option<u64> { (i < n).then_some(i) }
    fn multiples_until(x: u64, k: u64) -> Step<u64> {
        if x >= 100_000 { Step::Finish(None) } else if x.is_multiple_of(k) { Step::Emit(x) } else { Step::Skip }
    }
    fn count_sum(acc: (u64, u64), x: u64) -> (u64, u64) { (acc.0 + 1, acc.1 + x) }
}

fn main() -> dagger::Result<()> {
    dagger::init(); // the worker processes below serve here
    let ctx = Context::local();
    let n = 1_000_000u64;

    // Source → calibrate → filter → fan-out to two sinks.
    let t0 = Instant::now();
    let (sum, hist, last) = ctx.streaming(|s| {
        let readings = s.source((0..n).map(|i| i.wrapping_mul(2_654_435_761) % 1000));
        let calibrated = s.spawn(|(x, offset)| x + offset, (&readings, 5u64));
        let high = s.try_spawn(
            |(x,)| if x >= 500 { Step::Emit(x) } else { Step::Skip },
            (&calibrated,),
        );
        let sum = s.fold(&high, 0u64, |acc, x| acc + x);
        let hist = s.fold(&high, [0u64; 10], |mut h, x| {
            h[((x - 500) / 51).min(9) as usize] += 1;
            h
        });
        (sum, hist, calibrated)
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let hist = hist.fetch()?;
    println!(
        "{n} readings in {secs:.3} s ({:.1} M items/s): sum of high readings {}, histogram {hist:?}, last calibrated {}",
        n as f64 / secs / 1e6,
        sum.fetch()?,
        last.fetch()?
    );
    assert_eq!(
        hist.iter().sum::<u64>(),
        (0..n)
            .filter(|i| i.wrapping_mul(2_654_435_761) % 1000 + 5 >= 500)
            .count() as u64
    );

    // Fan-in (zip) and a registered function as a stage, with small buffers.
    let small = StreamOptions::new()
        .input_buffer(4)
        .output_buffer(4)
        .batch(2);
    let dot = ctx.streaming(|s| {
        let a = s.source_with(&small, 1..=1000u64);
        let b = s.spawn_registered(SCALE, (&a, 3u64));
        let ab = s.spawn_with(&small, |(x, y)| x * y, (&a, &b));
        s.fold(&ab, 0u64, |acc, x| acc + x)
    })?;
    let dot = dot.fetch()?;
    assert_eq!(dot, (1..=1000u64).map(|x| 3 * x * x).sum::<u64>());
    println!("zip of a stream with its registered scaling: sum of x·3x = {dot}");

    // A stage failing mid-stream stops every stage; the region reports the root cause.
    let t0 = Instant::now();
    let err = ctx
        .streaming(|s| {
            let src = s.source(0u64..); // endless
            let checked = s.try_spawn(
                |(x,)| {
                    if x == 123_456 {
                        Err(format!("bad reading #{x}"))
                    } else {
                        Ok(Step::Emit(x))
                    }
                },
                (&src,),
            );
            s.fold(&checked, 0u64, |k, _| k + 1);
        })
        .expect_err("the stage fails");
    println!("failure after {:.3} s: {err}", t0.elapsed().as_secs_f64());
    assert_eq!(dagger::stream::running_stages(), 0);

    // Stages on worker processes: a source on worker 2, a stage on worker 3, one on worker 2,
    // the sink here; every edge crosses a process, in batches of 2048 with credits.
    let cluster = Context::builder().workers(2).try_build()?;
    let on = |w| {
        StreamOptions::new()
            .worker(WorkerId(w))
            .input_buffer(8192)
            .output_buffer(8192)
            .batch(2048)
    };
    let t0 = Instant::now();
    let (count, sum) = cluster
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), BELOW, n);
            let a = s.spawn_registered_with(&on(3), SCALE, (&src, 3u64));
            let b = s.spawn_registered_with(&on(2), SCALE, (&a, 2u64));
            let here = StreamOptions::new().input_buffer(8192);
            s.fold_with(&here, &b, (0u64, 0u64), |(k, sum), x| (k + 1, sum + x))
        })?
        .fetch()?;
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!((count, sum), (n, 6 * (0..n).sum::<u64>()));
    println!(
        "{n} items through stages on workers 2, 3, 2 to the driver in {secs:.3} s ({:.1} M items/s)",
        n as f64 / secs / 1e6
    );

    // A filter that ends the stream early, and a fold, on workers too: an endless source on
    // worker 2, multiples of 7 below 100000 kept on worker 3, counted and summed on worker 2.
    let (count, sum) = cluster
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), BELOW, u64::MAX);
            let kept = s.try_spawn_registered_with(&on(3), MULTIPLES_UNTIL, (&src, 7u64));
            s.fold_registered_with(&on(2), COUNT_SUM, &kept, (0, 0))
        })?
        .fetch()?;
    assert_eq!((count, sum), (14_286, (0..100_000u64).step_by(7).sum()));
    println!("filter and fold on workers: {count} multiples of 7 below 100000, summing to {sum}");
    for w in [WorkerId(2), WorkerId(3)] {
        assert_eq!(dagger::stream::running_stages_on(&cluster, w)?, 0);
    }
    Ok(())
}
