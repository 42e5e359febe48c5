//! One edge of a pipeline: a bounded channel of batches from one producer to one consumer,
//! with a count of the items on it.
//!
//! The producer gathers items into a batch of at most `b` items and sends the batch; the
//! channel holds `k` batches; the consumer takes items one by one out of its current batch.
//! With `b` and `k` chosen from the edge's bound `n` (`b ≤ n / 3`, `k = n / b - 2`), the
//! items sent and not yet taken (one batch waiting to be sent, `k` in the channel, one being
//! taken) never exceed `n`.

use crate::control::{Control, POLL};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender};
use crossbeam_channel::{TryRecvError, TrySendError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What an edge counts: the items on it now and the most there ever were.
#[derive(Debug, Default)]
pub(crate) struct EdgeStats {
    buffered: AtomicUsize,
    peak: AtomicUsize,
    /// The bound the edge was made with.
    pub(crate) bound: usize,
}

impl EdgeStats {
    /// The most items this edge ever held.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Acquire)
    }

    fn add(&self, n: usize) {
        let now = self.buffered.fetch_add(n, Ordering::AcqRel) + n;
        self.peak.fetch_max(now, Ordering::AcqRel);
    }

    fn sub(&self, n: usize) {
        self.buffered.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Makes an edge holding at most `bound` items (≥ 2), in batches of at most `batch`.
pub(crate) fn edge<T>(bound: usize, batch: usize) -> (EdgeTx<T>, EdgeRx<T>) {
    let b = batch.min(bound / 3).max(1);
    let k = (bound / b).saturating_sub(2);
    let (tx, rx) = bounded(k);
    let stats = Arc::new(EdgeStats {
        bound,
        ..EdgeStats::default()
    });
    let tx = EdgeTx {
        tx,
        batch: b,
        stats: stats.clone(),
        open: true,
    };
    let rx = EdgeRx {
        rx,
        current: Vec::new().into_iter(),
        taken_from: 0,
        stats,
    };
    (tx, rx)
}

/// The producer's end.
#[derive(Debug)]
pub(crate) struct EdgeTx<T> {
    tx: Sender<Vec<T>>,
    /// Items per batch on this edge.
    pub(crate) batch: usize,
    pub(crate) stats: Arc<EdgeStats>,
    /// False once the consumer has gone.
    pub(crate) open: bool,
}

/// Why a send did not go through.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// The region is being torn down.
    Cancelled,
}

impl<T> EdgeTx<T> {
    /// Sends one batch, waiting while the edge is full. A consumer that has gone closes
    /// the edge (the batch is dropped: nobody will read it).
    pub(crate) fn send(&mut self, items: Vec<T>, ctl: &Control) -> Result<(), Blocked> {
        if !self.open || items.is_empty() {
            return Ok(());
        }
        let n = items.len();
        self.stats.add(n);
        let mut items = match self.tx.try_send(items) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => return self.closed(n),
            Err(TrySendError::Full(items)) => items,
        };
        loop {
            if ctl.is_cancelled() {
                self.stats.sub(n);
                return Err(Blocked::Cancelled);
            }
            match self.tx.send_timeout(items, POLL) {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Disconnected(_)) => return self.closed(n),
                Err(SendTimeoutError::Timeout(back)) => items = back,
            }
        }
    }

    fn closed(&mut self, n: usize) -> Result<(), Blocked> {
        self.stats.sub(n);
        self.open = false;
        Ok(())
    }
}

/// The consumer's end.
#[derive(Debug)]
pub struct EdgeRx<T> {
    rx: Receiver<Vec<T>>,
    current: std::vec::IntoIter<T>,
    /// The length of the batch `current` came from (still counted on the edge).
    taken_from: usize,
    stats: Arc<EdgeStats>,
}

/// What the consumer got.
#[derive(Debug)]
pub enum Next<T> {
    /// The next item.
    Item(T),
    /// The producer has finished and everything it sent has been taken.
    End,
    /// The region is being torn down.
    Cancelled,
}

impl<T> EdgeRx<T> {
    /// The next item. When none is at hand, `before_wait` runs first (the stage flushes
    /// its own outputs there, so that nothing it made waits while it does).
    pub(crate) fn next(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<T> {
        if let Some(v) = self.current.next() {
            return Next::Item(v);
        }
        self.stats.sub(std::mem::take(&mut self.taken_from));
        let batch = match self.rx.try_recv() {
            Ok(b) => b,
            Err(TryRecvError::Disconnected) => return Next::End,
            Err(TryRecvError::Empty) => {
                before_wait();
                loop {
                    if ctl.is_cancelled() {
                        return Next::Cancelled;
                    }
                    match self.rx.recv_timeout(POLL) {
                        Ok(b) => break b,
                        Err(RecvTimeoutError::Disconnected) => return Next::End,
                        Err(RecvTimeoutError::Timeout) => {}
                    }
                }
            }
        };
        self.taken_from = batch.len();
        self.current = batch.into_iter();
        match self.current.next() {
            Some(v) => Next::Item(v),
            // Batches are never empty; an empty one would just be skipped.
            None => self.next(before_wait, ctl),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_channel_fit_the_bound() {
        for bound in 2usize..200 {
            for batch in 1..70 {
                let b = batch.min(bound / 3).max(1);
                let k = (bound / b).saturating_sub(2);
                assert!((k + 2) * b <= bound.max(2), "bound {bound} batch {batch}");
            }
        }
    }

    #[test]
    fn items_arrive_in_order_and_the_end_follows() {
        let ctl = Control::new(true);
        let (mut tx, mut rx) = edge::<u32>(10, 3);
        let t = std::thread::spawn(move || {
            let ctl = Control::new(true);
            for c in (0..100).collect::<Vec<_>>().chunks(tx.batch) {
                tx.send(c.to_vec(), &ctl).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Next::Item(v) = rx.next(&mut || {}, &ctl) {
            got.push(v);
        }
        t.join().unwrap();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert!(rx.stats.peak() <= 10);
    }
}
