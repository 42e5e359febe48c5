//! [`Gauges`]: numbers that other parts of the system push to the dashboard — memory in use
//! and spilled per worker, bytes moved between workers.
//!
//! The storage pool and the transports feed these when they exist; until then the page shows
//! zeros. Updates are rare (per spill decision, per transfer), so a small mutex is enough.

use crate::state::{MemoryView, TransferView};
use dagger_core::WorkerId;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Memory and transfer figures, shared by everything that feeds the dashboard. Clones share
/// the same numbers.
///
/// ```
/// use dagger_dashboard::Gauges;
/// use dagger_core::WorkerId;
/// let g = Gauges::default();
/// g.set_memory(WorkerId(1), 4096, 1024);
/// g.record_transfer(WorkerId(1), WorkerId(2), 100);
/// g.record_transfer(WorkerId(1), WorkerId(2), 50);
/// assert_eq!(g.memory()[0].in_use_bytes, 4096);
/// let t = &g.transfers()[0];
/// assert_eq!((t.from, t.to, t.count, t.bytes), (1, 2, 2, 150));
/// ```
#[derive(Clone, Default)]
pub struct Gauges {
    inner: Arc<Mutex<Data>>,
}

#[derive(Default)]
struct Data {
    /// worker → (in use, spilled), in bytes.
    memory: BTreeMap<WorkerId, (u64, u64)>,
    /// (from, to) → (transfers, bytes).
    transfers: BTreeMap<(WorkerId, WorkerId), (u64, u64)>,
}

impl std::fmt::Debug for Gauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.inner.lock();
        f.debug_struct("Gauges")
            .field("workers", &d.memory.len())
            .field("links", &d.transfers.len())
            .finish()
    }
}

impl Gauges {
    /// Sets the bytes `worker` holds in memory and the bytes it has spilled to storage (the
    /// latest reading replaces the previous one).
    pub fn set_memory(&self, worker: WorkerId, in_use: u64, spilled: u64) {
        self.inner.lock().memory.insert(worker, (in_use, spilled));
    }

    /// Counts one transfer of `bytes` from worker `from` to worker `to`.
    pub fn record_transfer(&self, from: WorkerId, to: WorkerId, bytes: u64) {
        let mut d = self.inner.lock();
        let e = d.transfers.entry((from, to)).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(bytes);
    }

    /// Makes `worker` appear in the memory panel (at zero) if nothing was reported for it yet.
    pub fn ensure_worker(&self, worker: WorkerId) {
        self.inner.lock().memory.entry(worker).or_default();
    }

    /// The latest memory reading of every worker, by worker id.
    pub fn memory(&self) -> Vec<MemoryView> {
        self.inner
            .lock()
            .memory
            .iter()
            .map(|(w, (in_use, spilled))| MemoryView {
                worker: w.0,
                in_use_bytes: *in_use,
                spilled_bytes: *spilled,
            })
            .collect()
    }

    /// Transfers so far between each pair of workers.
    pub fn transfers(&self) -> Vec<TransferView> {
        self.inner
            .lock()
            .transfers
            .iter()
            .map(|((from, to), (count, bytes))| TransferView {
                from: from.0,
                to: to.0,
                count: *count,
                bytes: *bytes,
            })
            .collect()
    }
}
