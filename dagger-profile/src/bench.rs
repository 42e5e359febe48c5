//! [`bench_overhead`]: what a dagger span costs with the profile layer stopped and
//! recording, next to no subscriber at all. Run it from a release build, e.g.
//! `cargo run --release -p dagger-profile --example overhead`.

use crate::collector::Collector;
use std::time::Instant;
use tracing_subscriber::layer::SubscriberExt;

/// Nanoseconds per span (create, enter, exit, close) in three set-ups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overhead {
    /// No subscriber: the tracing macros' own floor.
    pub no_subscriber_ns: f64,
    /// A registry with the profile layer, not recording.
    pub stopped_ns: f64,
    /// The same, recording (each span ends up in the collector).
    pub recording_ns: f64,
}

fn per_span(iters: u64, mut f: impl FnMut(u64)) -> f64 {
    let t = Instant::now();
    for i in 0..iters {
        f(i);
    }
    t.elapsed().as_nanos() as f64 / iters.max(1) as f64
}

fn one_span(i: u64) {
    let _s =
        tracing::info_span!(target: "dagger", "compute", task = i, timeline = "ThreadProc(w1, 1)")
            .entered();
}

/// Time `iters` compute spans on the calling thread in each set-up (the recording run keeps
/// at most `iters` timespans, then drops them).
///
/// ```
/// let o = dagger_profile::bench::bench_overhead(100);
/// assert!(o.stopped_ns > 0.0 && o.recording_ns > 0.0);
/// ```
pub fn bench_overhead(iters: u64) -> Overhead {
    let no_subscriber_ns =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            per_span(iters, one_span)
        });
    let collector = Collector::with_capacity(usize::try_from(iters).unwrap_or(usize::MAX));
    let subscriber = tracing_subscriber::registry().with(collector.layer());
    let (stopped_ns, recording_ns) = tracing::subscriber::with_default(subscriber, || {
        let stopped = per_span(iters, one_span);
        collector.start();
        let recording = per_span(iters, one_span);
        collector.stop();
        (stopped, recording)
    });
    drop(collector.take());
    Overhead {
        no_subscriber_ns,
        stopped_ns,
        recording_ns,
    }
}
