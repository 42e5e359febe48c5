//! Tests of what `debug_compute` and `debug_run` record. Each runs alone in its own process
//! ([`crate::alone`]): recording spans is process-wide (a global tracing subscriber and
//! collector), so a test counts exactly the spans of its own tasks only where no other
//! test's tasks run at the same time.

#[path = "recording/fusion_graph.rs"]
mod fusion_graph;
#[path = "recording/profile_local.rs"]
mod profile_local;
