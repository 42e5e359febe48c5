//! [`State`]: what the dashboard shows, as plain data. `/api/state` serves it as JSON and the
//! page's live stream sends it every tick, so scripts and the page read the same numbers.

use serde::{Deserialize, Serialize};

/// Task counts in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Spawned, not started yet (waiting for inputs or a free processor).
    pub queued: u64,
    /// Running now.
    pub running: u64,
    /// Finished with a value.
    pub done: u64,
    /// Failed or cancelled.
    pub failed: u64,
}

impl Progress {
    /// All tasks seen: queued + running + done + failed.
    pub fn total(&self) -> u64 {
        self.queued + self.running + self.done + self.failed
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Progress) {
        self.queued += other.queued;
        self.running += other.running;
        self.done += other.done;
        self.failed += other.failed;
    }
}

/// Progress of the tasks that share a name (unnamed tasks share `"(unnamed)"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameProgress {
    /// The task name.
    pub name: String,
    /// Its counts.
    #[serde(flatten)]
    pub progress: Progress,
}

/// One sampled task execution: a bar of the task stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanView {
    /// Sequence number (increasing; the live stream sends only spans newer than the last).
    pub seq: u64,
    /// The task id.
    pub task: u64,
    /// The task name (`"(unnamed)"` if none).
    pub name: String,
    /// The processor it ran on, e.g. `ThreadProc(w1, 2)`.
    pub processor: String,
    /// Start, in seconds since the dashboard started.
    pub start_s: f64,
    /// End, in seconds since the dashboard started.
    pub end_s: f64,
    /// Whether it produced a value.
    pub ok: bool,
}

/// Memory of one worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryView {
    /// The worker id.
    pub worker: u32,
    /// Bytes held in memory.
    pub in_use_bytes: u64,
    /// Bytes spilled to storage.
    pub spilled_bytes: u64,
}

/// Data moved from one worker to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferView {
    /// Sending worker.
    pub from: u32,
    /// Receiving worker.
    pub to: u32,
    /// Number of transfers.
    pub count: u64,
    /// Bytes moved.
    pub bytes: u64,
}

/// State of one node of the task graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Waiting.
    Queued,
    /// Running.
    Running,
    /// Finished with a value.
    Done,
    /// Failed or cancelled.
    Failed,
}

/// One task of the graph panel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    /// The task id.
    pub id: u64,
    /// The task name (`"(unnamed)"` if none).
    pub name: String,
    /// Its state.
    pub state: NodeState,
    /// The tasks it depends on (only those inside the shown window).
    pub deps: Vec<u64>,
}

/// The task graph panel: a window of consecutive tasks (bounded in size).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphView {
    /// The nodes, in spawn order.
    pub nodes: Vec<NodeView>,
    /// Whether the computation had more tasks than the window holds.
    pub truncated: bool,
}

/// Everything the dashboard shows at one instant.
///
/// ```
/// use dagger_dashboard::State;
/// let s: State = serde_json::from_str(&serde_json::to_string(&State::default()).unwrap()).unwrap();
/// assert_eq!(s, State::default());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Seconds since the dashboard started.
    pub uptime_s: f64,
    /// Counts over all tasks.
    pub totals: Progress,
    /// Counts per task name, by name.
    pub names: Vec<NameProgress>,
    /// Every processor that ran a task, in order.
    pub processors: Vec<String>,
    /// Recent sampled task executions, oldest first.
    pub spans: Vec<SpanView>,
    /// The highest span sequence number so far.
    pub span_seq: u64,
    /// One task in this many is timed for the task stream (the sampling stride, largest
    /// over the processors; 1 means every task).
    pub span_stride: u64,
    /// Memory per worker.
    pub memory: Vec<MemoryView>,
    /// Transfers between workers.
    pub transfers: Vec<TransferView>,
    /// The task graph window.
    pub graph: GraphView,
    /// Live-stream clients connected now.
    pub clients: u64,
}
