//! # dagger-dashboard
//!
//! A live dashboard for a dagger-rs computation, in the browser: the task stream (a Gantt of
//! recent task executions per processor), progress per task name (queued / running / done /
//! failed), memory and spilled bytes per worker, transfers between workers, and the task
//! graph with each node's state. The same numbers are served as JSON at `/api/state`.
//!
//! It never slows the computation: the observer counts on per-thread lanes without locks,
//! times only a sample of tasks (bounded per second whatever the task size), and the server
//! computes nothing while no client is connected.
//!
//! ```no_run
//! use dagger_dashboard::Dashboard;
//! use dagger_sched::Context;
//! let dash = Dashboard::start(Dashboard::DEFAULT_ADDR)?; // prints "dagger dashboard at http://…"
//! let ctx = Context::builder().observer(dash.observer()).build();
//! // ... spawn work; open the printed address in a browser.
//! # Ok::<(), dagger_core::Error>(())
//! ```
//!
//! | module | what |
//! | --- | --- |
//! | [`Dashboard`] | start / stop the server; the observer to install; `from_env` |
//! | [`DashboardHandle`] | a cheap clone for feeders: gauges, spans from other processes |
//! | [`Collector`] | the observer: per-thread counters, sampled spans, graph window |
//! | [`Gauges`] | memory and transfer figures fed by other crates |
//! | [`State`] and friends | the numbers shown, as serde types (`/api/state`) |
//! | [`bench`](mod@bench) | overhead benchmark pieces: a live-stream client, the collector's cost alone |
// Bottom to top: each module imports only from the ones listed before it.
// The numbers shown, as serde types (`/api/state`).
mod state;
// The groups tasks are counted under (`UNNAMED`, `OTHER_NAMES`, `MAX_NAMES`).
mod names;
// Memory and transfer figures fed by other crates.
mod gauges;
// The task-graph window and its nodes' states.
mod graph;
// One thread's counters and sampled spans (a lane).
mod lane;
// The observer: lanes, the graph window, external spans, and the state they add up to.
mod collect;
// The HTML page.
mod page;
// The HTTP server and the handle feeders use.
mod server;
// Overhead benchmark pieces.
pub mod bench;

pub use collect::{Collector, ExternalSpan};
pub use gauges::Gauges;
pub use graph::CAP as GRAPH_CAP;
pub use names::{MAX_NAMES, OTHER_NAMES, UNNAMED};
pub use page::PAGE;
pub use server::{Dashboard, DashboardHandle, ENV_VAR, TICK};
pub use state::{
    GraphView, MemoryView, NameProgress, NodeState, NodeView, Progress, SpanView, State,
    TransferView,
};
