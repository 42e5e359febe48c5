//! With the `sampling` feature, `record_with(profile: true)` attaches stack samples to the
//! span that was running, and the summary prints them as a call tree.
//! Reference: readme "Debugging performance" (`profile=true`, profiler samples).

use dagger_profile::{record_with, summarize_events, RecordOptions};
use std::time::{Duration, Instant};

#[inline(never)]
fn spin_for_profile(d: Duration) -> u64 {
    let end = Instant::now() + d;
    let mut x = 1u64;
    while Instant::now() < end {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    x
}

#[test]
fn samples_land_in_the_running_span() {
    let (spans, _) = record_with(&RecordOptions { profile: true }, || {
        let _idle = tracing::info_span!(target: "dagger", "scheduler").entered();
        drop(_idle);
        let _c = tracing::info_span!(target: "dagger", "compute", task = 1u64, timeline = "ThreadProc(w1, 1)")
            .entered();
        spin_for_profile(Duration::from_millis(300))
    });
    let compute = spans
        .iter()
        .find(|t| t.category == "compute")
        .unwrap_or_else(|| panic!("{spans:?}"));
    let total: u64 = compute.samples.iter().map(|s| s.count).sum();
    assert!(total >= 10, "expected ~300 samples at 1 kHz, got {total}");
    let summary = summarize_events(&spans);
    assert!(
        summary.call_tree().contains("spin_for_profile"),
        "{}",
        summary.call_tree()
    );
    assert!(summary
        .folded()
        .lines()
        .all(|l| l.rsplit_once(' ').is_some()));
}
