//! [`record`]: the `debug_compute` of the reference, without needing a scheduler.
//!
//! The scheduler's `debug_compute(ctx, computation)` is a thin wrapper over [`record`].

use crate::layer::{global, install_global};
use crate::timespan::Timespan;
use std::cell::Cell;
use std::sync::Mutex;
use std::thread::LocalKey;
use tracing_subscriber::layer::SubscriberExt;

/// How [`record_with`] records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordOptions {
    /// Collect profiler stack samples and attach them to the spans they fall in (the
    /// reference's `profile=true`). Needs this crate's `sampling` feature (Linux); without
    /// it, samples stay empty.
    pub profile: bool,
}

/// Run `f` while recording every dagger span of the process; return the timespans (sorted
/// by start) and `f`'s result.
///
/// Spans from all threads are recorded when [`install_global`] could install the global
/// subscriber (or the program stacked [`global()`]`.layer()` into its own). If another
/// global subscriber without that layer is in place, only spans opened on the calling
/// thread are recorded. Recordings are process-wide, so concurrent calls take turns; a
/// call nested inside another on the same thread runs its closure and returns no
/// timespans (the outer call gets them).
///
/// # Examples
///
/// ```
/// let (spans, answer) = dagger_profile::record(|| {
///     let _s = tracing::info_span!(target: "dagger", "compute", task = 1u64,
///                                  timeline = "ThreadProc(w1, 1)").entered();
///     6 * 7
/// });
/// assert_eq!(answer, 42);
/// assert!(spans.iter().any(|t| t.category == "compute" && t.id == 1));
/// println!("{}", dagger_profile::summarize_events(&spans));
/// ```
pub fn record<R>(f: impl FnOnce() -> R) -> (Vec<Timespan>, R) {
    record_with(&RecordOptions::default(), f)
}

/// [`record`] with options, e.g. `profile: true` for stack samples per span.
///
/// ```
/// use dagger_profile::{record_with, RecordOptions};
/// let opts = RecordOptions { profile: true };
/// let (spans, ()) = record_with(&opts, || {
///     let _s = tracing::info_span!(target: "dagger", "compute", task = 2u64).entered();
/// });
/// assert_eq!(spans.len(), 1); // samples may be empty: sampling is best effort
/// ```
pub fn record_with<R>(opts: &RecordOptions, f: impl FnOnce() -> R) -> (Vec<Timespan>, R) {
    thread_local!(static INSIDE: Cell<bool> = const { Cell::new(false) });
    if INSIDE.with(Cell::get) {
        // A nested recording would wait for its own turn forever; the outer one already
        // records everything the inner one would.
        return (Vec::new(), f());
    }
    INSIDE.with(|i| i.set(true));
    let _reset = ResetOnDrop(&INSIDE);
    static TURN: Mutex<()> = Mutex::new(());
    // A panic in an earlier recording leaves nothing inconsistent behind the lock.
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let ours = install_global();
    let collector = global();
    collector.stop();
    drop(collector.take());

    let sampler = if opts.profile {
        crate::sampling::Sampler::start()
    } else {
        None
    };
    let stop = StopOnDrop(collector);
    collector.start();
    let result = if ours {
        f()
    } else {
        let local = tracing_subscriber::registry().with(collector.layer());
        tracing::subscriber::with_default(local, f)
    };
    drop(stop);
    let mut spans = collector.take();
    if let Some(s) = sampler {
        s.attach(&mut spans);
    }
    (spans, result)
}

/// Clears the nesting flag even if the recorded closure panics.
struct ResetOnDrop(&'static LocalKey<Cell<bool>>);

impl Drop for ResetOnDrop {
    fn drop(&mut self) {
        self.0.with(|i| i.set(false));
    }
}

/// Stops the collector even if the recorded closure panics.
struct StopOnDrop<'a>(&'a crate::collector::Collector);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}
