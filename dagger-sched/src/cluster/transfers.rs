//! What a worker moved to and from other processes: values and their encoded bytes,
//! fetched from peers, served to peers, sent to the driver (answers to its `Fetch`, and
//! small results that travel with their completion notice) and received from it (a task's
//! inline arguments: the driver's own values and small results it relays). Counted where
//! the bytes cross the process boundary, with relaxed atomics: a few adds per transfer,
//! read only when someone asks (`Context::worker_transfers`).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// A worker's transfer totals since it started (see [`Context::worker_transfers`]).
///
/// [`Context::worker_transfers`]: crate::Context::worker_transfers
///
/// ```
/// let t = dagger_sched::TransferStats::default();
/// assert_eq!(t.fetched_bytes + t.served_bytes + t.to_driver_bytes + t.from_driver_bytes, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStats {
    /// Values this worker fetched from other workers (task arguments it did not hold).
    pub fetched_values: u64,
    /// Their encoded bytes.
    pub fetched_bytes: u64,
    /// Values this worker sent to other workers that asked for them.
    pub served_values: u64,
    /// Their encoded bytes.
    pub served_bytes: u64,
    /// Values this worker sent to the driver: asked for (`collect`, `fetch`), or results
    /// small enough to travel with their completion notice (the context's inline limit).
    pub to_driver_values: u64,
    /// Their encoded bytes.
    pub to_driver_bytes: u64,
    /// Values this worker received from the driver as inline task arguments.
    pub from_driver_values: u64,
    /// Their encoded bytes.
    pub from_driver_bytes: u64,
    /// Tasks the driver sent here ahead of an input this worker was still computing, that
    /// then ran as soon as that input was done, with no message to or from the driver in
    /// between (a dependent following its data; see the cluster protocol).
    pub forwarded_tasks: u64,
    /// Frames of tasks to run this worker read from the driver (each holds every task the
    /// driver had queued for it when its writer woke: fewer frames, fewer wake-ups).
    pub run_frames: u64,
    /// Frames of completions this worker wrote to the driver (each a batch of `Done`s).
    pub done_frames: u64,
}

/// The live counters behind [`TransferStats`], one set per worker.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    fetched: (AtomicU64, AtomicU64),
    served: (AtomicU64, AtomicU64),
    to_driver: (AtomicU64, AtomicU64),
    from_driver: (AtomicU64, AtomicU64),
    forwarded: AtomicU64,
    run_frames: AtomicU64,
    done_frames: AtomicU64,
}

fn add(c: &(AtomicU64, AtomicU64), bytes: usize) {
    c.0.fetch_add(1, Ordering::Relaxed);
    c.1.fetch_add(bytes as u64, Ordering::Relaxed);
}

impl Transfers {
    /// A value of `bytes` fetched from a peer.
    pub(crate) fn fetched(&self, bytes: usize) {
        add(&self.fetched, bytes);
    }

    /// A value of `bytes` served to a peer.
    pub(crate) fn served(&self, bytes: usize) {
        add(&self.served, bytes);
    }

    /// A value of `bytes` sent to the driver.
    pub(crate) fn to_driver(&self, bytes: usize) {
        add(&self.to_driver, bytes);
    }

    /// A value of `bytes` received from the driver.
    pub(crate) fn received_from_driver(&self, bytes: usize) {
        add(&self.from_driver, bytes);
    }

    /// A forwarded task was released to run by a result computed here.
    pub(crate) fn forwarded(&self) {
        self.forwarded.fetch_add(1, Ordering::Relaxed);
    }

    /// A frame of tasks to run was read from the driver.
    pub(crate) fn run_frame(&self) {
        self.run_frames.fetch_add(1, Ordering::Relaxed);
    }

    /// A frame of completions was written to the driver.
    pub(crate) fn done_frame(&self) {
        self.done_frames.fetch_add(1, Ordering::Relaxed);
    }

    /// The totals so far.
    pub(crate) fn snapshot(&self) -> TransferStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TransferStats {
            fetched_values: get(&self.fetched.0),
            fetched_bytes: get(&self.fetched.1),
            served_values: get(&self.served.0),
            served_bytes: get(&self.served.1),
            to_driver_values: get(&self.to_driver.0),
            to_driver_bytes: get(&self.to_driver.1),
            from_driver_values: get(&self.from_driver.0),
            from_driver_bytes: get(&self.from_driver.1),
            forwarded_tasks: get(&self.forwarded),
            run_frames: get(&self.run_frames),
            done_frames: get(&self.done_frames),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values_and_bytes_per_direction() {
        let t = Transfers::default();
        t.fetched(10);
        t.fetched(5);
        t.served(7);
        t.to_driver(3);
        t.received_from_driver(4);
        t.forwarded();
        t.run_frame();
        t.done_frame();
        t.done_frame();
        let s = t.snapshot();
        assert_eq!(s.forwarded_tasks, 1);
        assert_eq!((s.run_frames, s.done_frames), (1, 2));
        assert_eq!((s.fetched_values, s.fetched_bytes), (2, 15));
        assert_eq!((s.served_values, s.served_bytes), (1, 7));
        assert_eq!((s.to_driver_values, s.to_driver_bytes), (1, 3));
        assert_eq!((s.from_driver_values, s.from_driver_bytes), (1, 4));
    }
}
