// A binary of its own: recording spans is process-wide (a global tracing subscriber and
// collector), so these tests count exactly the spans of their own tasks only where no other
// test's tasks run at the same time.
//! Tests of what `debug_compute` and `debug_run` record, one at a time.

#[path = "recording/fusion_graph.rs"]
mod fusion_graph;
#[path = "recording/profile_local.rs"]
mod profile_local;

/// Serialises this binary's tests: each records everything the process does while it runs.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds this binary's turn to record (a test that panicked left nothing to clean up).
fn my_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}
