//! The facade's integration tests, in one binary: each former test file is a module under
//! `tests/main/`, and the cluster tests share one harness. Worker processes re-run this binary
//! on the ignored test [`worker_entry`]. Tests that own process-wide state (`out_of_core`,
//! `recording`) re-run it on themselves alone ([`alone`], shared with dagger-array's tests).
//!
//! Modules that need a feature beyond the defaults are compiled only with it:
//! `cargo test -p dagger --features dashboard --test main dashboard_cluster` and
//! `DAGGER_TEST_S3_ENDPOINT=... cargo test -p dagger --features s3 --test main s3_arrays`.

#[path = "../../dagger-array/tests/main/alone.rs"]
mod alone;
#[path = "main/harness.rs"]
mod harness;

#[path = "main/all_args.rs"]
mod all_args;
#[path = "main/arrays_cluster.rs"]
mod arrays_cluster;
#[path = "main/cluster.rs"]
mod cluster;
#[cfg(feature = "dashboard")]
#[path = "main/dashboard_cluster.rs"]
mod dashboard_cluster;
#[path = "main/datadeps_blocks_cluster.rs"]
mod datadeps_blocks_cluster;
#[path = "main/datadeps_cluster.rs"]
mod datadeps_cluster;
#[path = "main/durable.rs"]
mod durable;
#[path = "main/faults.rs"]
mod faults;
#[path = "main/fft_cluster.rs"]
mod fft_cluster;
#[path = "main/forward_cluster.rs"]
mod forward_cluster;
#[cfg(feature = "linalg")]
#[path = "main/linalg_api/mod.rs"]
mod linalg_api;
#[path = "main/linalg_calls_cluster.rs"]
mod linalg_calls_cluster;
#[path = "main/linalg_cluster.rs"]
mod linalg_cluster;
#[path = "main/linalg_qr_cluster.rs"]
mod linalg_qr_cluster;
#[path = "main/live_values.rs"]
mod live_values;
#[path = "main/netns.rs"]
mod netns;
#[path = "main/netns_cluster.rs"]
mod netns_cluster;
#[path = "main/old_paths.rs"]
mod old_paths;
#[path = "main/out_of_core.rs"]
mod out_of_core;
#[path = "main/profile_cluster.rs"]
mod profile_cluster;
#[path = "main/recording.rs"]
mod recording;
#[cfg(feature = "s3")]
#[path = "main/s3_arrays.rs"]
mod s3_arrays;
#[path = "main/stencil_cluster.rs"]
mod stencil_cluster;
#[path = "main/stream_cluster.rs"]
mod stream_cluster;
#[path = "main/worker_memory.rs"]
mod worker_memory;

/// The body of every worker process these tests start.
#[test]
#[ignore]
fn worker_entry() {
    dagger::init();
}
