//! The `streaming` suite: a pipeline of long-lived stages against the same pipeline of
//! threads joined by channels, in the same run.
//!
//! - `stream_pipeline`: a source of n `u64`, three stages of `x + 1`, a sink that checks the
//!   count and the checksum. `dagger-local` is a `dagger::stream` region in this process
//!   (default buffers and batches); `crossbeam` is a source thread, three stage threads and
//!   a sink thread joined by `crossbeam-channel` `bounded(1024)`, one `u64` per send.
//!
//! - `dagger-tcp2`: the same pipeline of registered stages on 2 worker processes on
//!   loopback: the source on worker 2, stage 1 on worker 3, stage 2 on worker 2, stage 3 on
//!   worker 3 and the sink in the driver, so every edge crosses a process (larger buffers
//!   and batches than the local default: a batch is one message).
//!
//! Every line carries `items_per_s`, and the dagger lines `ratio_vs_crossbeam`.

use super::{line, measure};
use dagger::stream::{streaming, StreamOptions, StreamingExt};
use dagger::{Context, WorkerId};
use serde_json::{json, Value};

dagger::register! {
    fn bench_stream_below(i: u64, n: u64) -> Option<u64> { (i < n).then_some(i) }
    fn bench_stream_inc(x: u64) -> u64 { x + 1 }
}

/// The buffers and batch of the `dagger-tcp2` pipeline.
const TCP_BUFFER: usize = 8192;
const TCP_BATCH: usize = 2048;

/// The sink's expected (count, checksum) for a source of `0..n` through three `x + 1`.
fn expected(n: u64) -> (u64, u64) {
    (n, (0..n).map(|x| x + 3).fold(0, u64::wrapping_add))
}

fn dagger_local(n: u64, opts: &StreamOptions) {
    let sink = streaming(|s| {
        let src = s.source_with(opts, 0..n);
        let a = s.spawn_with(opts, |(x,): (u64,)| x + 1, (&src,));
        let b = s.spawn_with(opts, |(x,): (u64,)| x + 1, (&a,));
        let c = s.spawn_with(opts, |(x,): (u64,)| x + 1, (&b,));
        s.fold_with(opts, &c, (0u64, 0u64), |(k, sum), x| {
            (k + 1, sum.wrapping_add(x))
        })
    })
    .expect("the pipeline runs");
    assert_eq!(sink.fetch().expect("the sink has a result"), expected(n));
}

fn dagger_tcp2(ctx: &Context, n: u64) {
    let on = |w: u32| {
        StreamOptions::new()
            .worker(WorkerId(w))
            .input_buffer(TCP_BUFFER)
            .output_buffer(TCP_BUFFER)
            .batch(TCP_BATCH)
    };
    let sink = ctx
        .streaming(|s| {
            let src = s.source_registered_with(&on(2), BENCH_STREAM_BELOW, n);
            let a = s.spawn_registered_with(&on(3), BENCH_STREAM_INC, (&src,));
            let b = s.spawn_registered_with(&on(2), BENCH_STREAM_INC, (&a,));
            let c = s.spawn_registered_with(&on(3), BENCH_STREAM_INC, (&b,));
            let here = StreamOptions::new().input_buffer(TCP_BUFFER);
            s.fold_with(&here, &c, (0u64, 0u64), |(k, sum), x| {
                (k + 1, sum.wrapping_add(x))
            })
        })
        .expect("the pipeline runs");
    assert_eq!(sink.fetch().expect("the sink has a result"), expected(n));
}

fn crossbeam(n: u64) {
    use crossbeam_channel::{bounded, Receiver, Sender};
    let stage = |rx: Receiver<u64>, tx: Sender<u64>| {
        move || {
            for x in rx {
                if tx.send(x + 1).is_err() {
                    return;
                }
            }
        }
    };
    let (tx0, rx0) = bounded(1024);
    let (tx1, rx1) = bounded(1024);
    let (tx2, rx2) = bounded(1024);
    let (tx3, rx3) = bounded(1024);
    let threads = vec![
        std::thread::spawn(move || {
            for x in 0..n {
                if tx0.send(x).is_err() {
                    return;
                }
            }
        }),
        std::thread::spawn(stage(rx0, tx1)),
        std::thread::spawn(stage(rx1, tx2)),
        std::thread::spawn(stage(rx2, tx3)),
    ];
    let sink = std::thread::spawn(move || {
        rx3.iter()
            .fold((0u64, 0u64), |(k, sum), x| (k + 1, sum.wrapping_add(x)))
    });
    for t in threads {
        t.join().expect("a stage thread");
    }
    assert_eq!(sink.join().expect("the sink thread"), expected(n));
}

/// Runs the suite.
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    let n: u64 = if quick { 100_000 } else { 1_000_000 };
    let opts = StreamOptions::new();
    let p = json!({
        "n": n, "stages": 3,
        "cores": std::thread::available_parallelism().map_or(1, |c| c.get()),
        "input_buffer": StreamOptions::DEFAULT_BUFFER,
        "output_buffer": StreamOptions::DEFAULT_BUFFER,
        "batch": StreamOptions::DEFAULT_BATCH,
        "crossbeam_bound": 1024,
    });
    // Alternate the two so that the machine's drift hits both alike.
    let d = measure(reps, || dagger_local(n, &opts));
    let c = measure(reps, || crossbeam(n));
    let base = n as f64 / c.0;
    let mut runs = vec![("dagger-local", d, p.clone()), ("crossbeam", c, p.clone())];
    match Context::builder().workers(2).try_build() {
        Ok(ctx) => {
            let mut p2 = p.clone();
            p2["workers"] = json!(2);
            p2["input_buffer"] = json!(TCP_BUFFER);
            p2["output_buffer"] = json!(TCP_BUFFER);
            p2["batch"] = json!(TCP_BATCH);
            p2["placement"] = json!("source@2 stage1@3 stage2@2 stage3@3 sink@driver");
            runs.push(("dagger-tcp2", measure(reps, || dagger_tcp2(&ctx, n)), p2));
        }
        Err(e) => eprintln!("dagger-tcp2 skipped: {e}"),
    }
    let mut out = Vec::new();
    for (system, s, p) in runs {
        let mut l = line("stream_pipeline", system, p, reps, s);
        let rate = n as f64 / s.0;
        l["items_per_s"] = json!(rate);
        l["ns_per_item"] = json!(s.0 * 1e9 / n as f64);
        if system != "crossbeam" {
            l["ratio_vs_crossbeam"] = json!(rate / base);
        }
        eprintln!("{l}");
        out.push(l);
    }
    out
}
