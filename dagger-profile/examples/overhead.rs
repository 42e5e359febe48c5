//! Prints the cost of a dagger span with the profile layer stopped and recording, as one
//! JSON line. Run with `cargo run --release -p dagger-profile --example overhead`.

fn main() {
    let iters = 1_000_000;
    // Warm up caches and the callsite interest before measuring.
    dagger_profile::bench::bench_overhead(10_000);
    let o = dagger_profile::bench::bench_overhead(iters);
    println!(
        "{{\"workload\":\"span_overhead\",\"system\":\"dagger-profile\",\"params\":{{\"iters\":{iters}}},\"no_subscriber_ns\":{:.1},\"stopped_ns\":{:.1},\"recording_ns\":{:.1}}}",
        o.no_subscriber_ns, o.stopped_ns, o.recording_ns
    );
}
