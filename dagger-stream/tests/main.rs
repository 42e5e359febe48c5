//! dagger-stream's integration tests, one module per topic.

// Pipelines, fan-out, fan-in, ends, back-pressure, against plain iterators.
#[path = "main/pipeline.rs"]
mod pipeline;

// Ending a region early: failure, panic, cancel, teardown off.
#[path = "main/teardown.rs"]
mod teardown;
