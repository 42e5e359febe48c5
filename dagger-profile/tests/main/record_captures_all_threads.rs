//! `record` (the reference's `debug_compute`) installs the global subscriber and captures
//! spans from every thread, including ones spawned inside the closure.
//! Reference: readme "Debugging performance".

use crate::common::*;
use dagger_profile::{record, record_with, summarize_events, RecordOptions};

#[test]
fn record_captures_spans_of_every_thread_and_nests_safely() {
    assert!(
        dagger_profile::install_global(),
        "no other global subscriber in this binary"
    );
    // Before recording: not collected.
    tracing::info_span!(target: "dagger", "compute", task = 999u64).in_scope(|| {});
    let (spans, answer) = record(|| {
        // Plain threads set no dispatcher: they reach the layer through the global one.
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                scope.spawn(move || {
                    for k in 0..TASKS {
                        let _c = tracing::info_span!(target: "dagger", "compute", task = task_id(thread, k),
                                                     timeline = timeline(thread).as_str()).entered();
                    }
                });
            }
        });
        let (inner, ()) = record(|| {});
        assert!(inner.is_empty(), "nested record returns nothing");
        42
    });
    assert_eq!(answer, 42);
    assert!(spans.iter().all(|t| t.id != 999));
    let s = summarize_events(&spans);
    assert_eq!(
        s.category("compute").map(|c| c.count),
        Some((THREADS * TASKS) as usize)
    );
    for thread in 0..THREADS {
        assert!(s.timeline(&timeline(thread)).is_some());
    }
    // A second recording starts empty.
    let (again, ()) = record_with(&RecordOptions { profile: true }, || {
        tracing::info_span!(target: "dagger", "comm", task = 1u64).in_scope(|| {});
    });
    assert_eq!(again.len(), 1);
}
