//! # dagger-profile
//!
//! Profiling for dagger-rs, after the reference's "Debugging performance": every scheduler
//! step, transfer, computation and spill is a `tracing` span; this crate turns those spans
//! into [`Timespan`]s and shows them as a summary, a Chrome/Perfetto trace, a Gantt chart
//! or a picture of the task graph.
//!
//! | item | what it is |
//! | --- | --- |
//! | [`Timespan`], [`Sample`], [`category`] | one recorded span, and the categories of the convention |
//! | [`Collector`], [`ProfileLayer`], [`install_global`], [`global`] | recording spans from `tracing` |
//! | [`record`], [`record_with`] | `debug_compute`: run a closure, get its timespans |
//! | [`summarize_events`], [`Summary`] | totals per category and timeline, profile call tree |
//! | [`write_chrome_trace`], [`chrome_trace`] | a trace file for Perfetto / `chrome://tracing` |
//! | [`write_gantt`] | a Gantt chart, PNG or SVG |
//! | [`TaskGraph`] | the task graph as DOT, PNG or SVG |
//! | [`Progress`] | a progress bar for long computations |
//! | [`bench`](mod@bench) | the cost of a span, stopped and recording |
//!
//! # The span convention
//!
//! Code that wants to be profiled (the scheduler, transports, stores) opens spans with
//! target `"dagger"` whose **name is the category**: `compute`, `comm`, `scheduler`,
//! `scheduler_init` or `storage` (other names are recorded too, under their own
//! category). Fields, all optional except `timeline` for `compute`:
//!
//! | field | type | becomes |
//! | --- | --- | --- |
//! | `task` | u64 | [`Timespan::id`] (else the span's own tracing id) |
//! | `name` | str | [`Timespan::name`] |
//! | `timeline` | str | [`Timespan::timeline`], the processor, e.g. `"ThreadProc(w1, 2)"` (else `OSProc(w<worker>)`, else the thread) |
//! | `worker` | u64 | [`Timespan::worker`] |
//! | `bytes` | u64 | [`Timespan::bytes`]: bytes moved or stored |
//! | `alloc` | u64 | [`Timespan::alloc_bytes`] |
//! | `from`, `to` | u64 | [`Timespan::from`], [`Timespan::to`]: workers, for `comm` |
//!
//! Fields may also be filled in later with `Span::record` (declare them `Empty`). A span
//! starts at its first enter and finishes at its last exit; a span that is never entered
//! runs from creation to close. Times are nanoseconds since a process-wide epoch
//! ([`now_ns`]) on the monotonic clock.
//!
//! Spans recorded in a worker process reach the driver as serialized `Vec<Timespan>`
//! (they are serde types), shifted onto the driver's clock with [`Timespan::shifted`] and
//! the difference of the two processes' [`epoch_unix_ns`], and added with
//! [`Collector::ingest`].
//!
//! # Examples
//!
//! ```
//! use dagger_profile::{record, summarize_events};
//! let (spans, ()) = record(|| {
//!     let _s = tracing::info_span!(target: "dagger", "scheduler").entered();
//!     for task in 0..3u64 {
//!         let _c = tracing::info_span!(target: "dagger", "compute", task,
//!                                      timeline = "ThreadProc(w1, 1)").entered();
//!     }
//! });
//! // Timespans are a plain Vec: filter them with iterators, as the reference filters arrays.
//! let compute: Vec<_> = spans.iter().filter(|t| t.category == "compute").cloned().collect();
//! assert_eq!(compute.len(), 3);
//! let summary = summarize_events(&spans);
//! assert_eq!(summary.category("scheduler").map(|c| c.count), Some(1));
//! println!("{summary}");
//! ```
// Bottom to top: each module imports only from the ones listed before it.
// One recorded span (`Timespan`), the categories and the clock.
mod timespan;
// Stack samples per span (feature `sampling`).
mod sampling;
// The buffer timespans accumulate in.
mod collector;
// The `tracing` layer that turns spans into timespans; the global collector.
mod layer;
// `record`: run a closure, get its timespans.
mod record;
// Totals per category and timeline.
mod summary;
// Chrome / Perfetto trace files.
mod chrome;
// Gantt charts and task-graph pictures.
mod draw;
// A progress bar (uses no other module).
mod progress;
// The cost of a span, stopped and recording.
pub mod bench;

pub use chrome::{chrome_trace, write_chrome_trace};
pub use collector::{Collector, DEFAULT_CAPACITY};
pub use draw::gantt::write_gantt;
pub use draw::graph::{GraphNode, TaskGraph};
pub use layer::{global, install_global, FilteredProfileLayer, ProfileLayer, RecordingFilter};
pub use progress::{enabled_by_default as progress_enabled_by_default, Progress, PROGRESS_ENV};
pub use record::{record, record_with, RecordOptions};
pub use summary::{summarize_events, CategoryStats, Summary, TimelineStats};
pub use timespan::{category, epoch_unix_ns, now_ns, Sample, Timespan, TARGET};
