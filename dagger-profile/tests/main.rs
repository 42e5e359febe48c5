//! The integration tests of dagger-profile that can share one process (one module per
//! former test file). Two stay separate binaries, each saying why in its first line:
//! `install_global_tolerates_other_subscriber` (installs a foreign global subscriber) and
//! `stopped_collector_creates_no_spans` (needs tracing's interest cache to itself).
//!
//! Every test here uses its own scoped dispatcher, except the `record` ones, which use the
//! global subscriber that `record` installs: they see only threads without a scoped
//! dispatcher, and recordings take turns, so they can share the process.

#[path = "main/common.rs"]
mod common;
#[path = "main/exports_are_well_formed.rs"]
mod exports_are_well_formed;
#[path = "main/layer_records_convention_spans.rs"]
mod layer_records_convention_spans;
#[path = "main/record_captures_all_threads.rs"]
mod record_captures_all_threads;
#[cfg(all(feature = "sampling", target_os = "linux"))]
#[path = "main/sampling_attaches_stacks.rs"]
mod sampling_attaches_stacks;
#[path = "main/timespan_serde_roundtrip.rs"]
mod timespan_serde_roundtrip;
