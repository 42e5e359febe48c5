//! The handle to a streaming stage: its place in the region, the edges its consumers hang
//! on it, and its result once the region has ended.

use crate::edge::EdgeStats;
use crate::options::StreamOptions;
use crate::wire::{Decode, Tx};
use dagger_core::WorkerId;
use dagger_core::{Error, Result};
use dagger_sched::stream_wire::{OutSpec, StageStats};
use parking_lot::Mutex;
use std::sync::Arc;

/// One stage as its handles and its consumers see it.
#[derive(Debug)]
pub(crate) struct Node<T> {
    pub(crate) index: usize,
    pub(crate) region: u64,
    pub(crate) name: String,
    pub(crate) opts: StreamOptions,
    /// The producer ends of the edges to its consumers (taken when the region launches).
    pub(crate) outputs: Mutex<Vec<Tx<T>>>,
    /// Set when the stage runs on a worker process.
    pub(crate) remote: Option<RemoteNode<T>>,
    pub(crate) stats: Mutex<Vec<Arc<EdgeStats>>>,
    pub(crate) result: Mutex<Option<Result<T>>>,
}

/// A stage that runs on a worker: where, how its items decode here, its consumers, and
/// what it measured (told with its end).
#[derive(Debug)]
pub(crate) struct RemoteNode<T> {
    pub(crate) worker: WorkerId,
    pub(crate) decode: Decode<T>,
    pub(crate) outs: Mutex<Vec<OutSpec>>,
    pub(crate) stats: Mutex<StageStats>,
}

impl<T> RemoteNode<T> {
    /// A stage on `worker` whose items decode with `decode`.
    pub(crate) fn new(worker: WorkerId, decode: Decode<T>) -> Self {
        RemoteNode {
            worker,
            decode,
            outs: Mutex::new(Vec::new()),
            stats: Mutex::new(StageStats::default()),
        }
    }
}

/// A streaming stage (what [`Streaming::spawn`](crate::Streaming::spawn) and its kin
/// return). Passed as an argument to another stage of the same region, it is that stage's
/// stream of values; after the region has ended, [`fetch`](StreamTask::fetch) gives its
/// last value, or what its fold gathered.
#[derive(Debug)]
pub struct StreamTask<T> {
    pub(crate) node: Arc<Node<T>>,
}

impl<T> Clone for StreamTask<T> {
    fn clone(&self) -> Self {
        StreamTask {
            node: self.node.clone(),
        }
    }
}

impl<T: Clone> StreamTask<T> {
    /// The stage's result: its last value (a fold's: what it gathered), or why it has none:
    /// its failure, the region's cancellation, [`Error::NotFound`] if it ended without ever
    /// making a value, [`Error::Concurrency`] while its region has not ended.
    pub fn fetch(&self) -> Result<T> {
        match &*self.node.result.lock() {
            Some(r) => r.clone(),
            None => Err(Error::Concurrency(format!(
                "stream task {:?} has not ended: fetch it after its region returns",
                self.node.name
            ))),
        }
    }
}

impl<T> StreamTask<T> {
    /// The stage's name (given in its options, or `stage-<n>`).
    pub fn name(&self) -> &str {
        &self.node.name
    }

    /// The most items any one of its output edges held at once (sent, not yet taken). For a
    /// stage on a worker: its edges to consumers on other workers or here, as the worker
    /// measured them (sent, not yet given back as credits), known once the stage has ended.
    pub fn peak_buffered(&self) -> usize {
        let here = self.node.stats.lock().iter().map(|s| s.peak()).max();
        let there = self
            .node
            .remote
            .as_ref()
            .map(|r| r.stats.lock().peak_held as usize);
        here.max(there).unwrap_or(0)
    }

    /// The bound of its largest output edge: its output buffer plus the consumer's input
    /// buffer ([`StreamOptions::edge_bound`]); 0 without consumers.
    pub fn buffer_bound(&self) -> usize {
        let here = self.node.stats.lock().iter().map(|s| s.bound).max();
        let there = self
            .node
            .remote
            .as_ref()
            .and_then(|r| r.outs.lock().iter().map(|o| o.bound as usize).max());
        here.max(there).unwrap_or(0)
    }

    /// The number of consumers (output edges).
    pub fn consumers(&self) -> usize {
        self.node.stats.lock().len() + self.node.remote.as_ref().map_or(0, |r| r.outs.lock().len())
    }

    /// The worker process the stage runs on (`None`: this process).
    pub fn worker(&self) -> Option<WorkerId> {
        self.node.remote.as_ref().map(|r| r.worker)
    }
}
