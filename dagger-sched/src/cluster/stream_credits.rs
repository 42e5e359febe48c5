//! The accounting of one streaming edge that crosses processes, on each side of it: the
//! consumer's queue of batches with the items it holds, and the producer's credits.
//!
//! A producer sends a batch only when it holds a credit for every item of it; it starts
//! with the edge's bound, and the consumer gives a batch's credits back once it has read
//! it. So an edge never holds more than its bound, however far apart the processes are.

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a blocked stage waits before it looks at its cancel flag again.
pub(crate) const POLL: Duration = Duration::from_millis(2);

/// What a consumer's end of an edge gets.
#[derive(Debug)]
pub enum InMsg {
    /// Items, in order.
    Items(Vec<Bytes>),
    /// The producer has ended (or its process was lost).
    End,
}

/// The consumer's side: the messages that came, in order, and the items held here.
#[derive(Default)]
pub(crate) struct Inbox {
    queue: Mutex<VecDeque<InMsg>>,
    cv: Condvar,
    /// Items on this edge here: queued, or in the batch being read (not yet credited).
    held: AtomicU64,
}

impl Inbox {
    /// Queues `m`; returns the items held here now.
    pub(crate) fn push(&self, m: InMsg) -> u64 {
        let held = match &m {
            InMsg::Items(v) => {
                let n = v.len() as u64;
                self.held.fetch_add(n, Ordering::AcqRel) + n
            }
            InMsg::End => self.held.load(Ordering::Acquire),
        };
        self.queue.lock().push_back(m);
        self.cv.notify_all();
        held
    }

    /// The next message, waiting up to `wait` for one.
    pub(crate) fn pop(&self, wait: Duration) -> Option<InMsg> {
        let mut q = self.queue.lock();
        if q.is_empty() && !wait.is_zero() {
            self.cv.wait_for(&mut q, wait);
        }
        q.pop_front()
    }

    /// `n` items have been read: they are no longer held here.
    pub(crate) fn release(&self, n: u32) {
        self.held.fetch_sub(u64::from(n), Ordering::AcqRel);
    }
}

/// Why a send to another process did not go through.
#[derive(Debug, PartialEq, Eq)]
pub enum SendStop {
    /// The region is being torn down.
    Cancelled,
}

#[derive(Debug)]
struct CreditState {
    /// Items the producer may still send.
    avail: u64,
    /// The consumer has gone (or cannot be reached).
    closed: bool,
    /// Items sent and not yet given back: what the edge holds.
    held: u64,
    /// The most it has held.
    peak: u64,
}

/// The producer's side: its credits, and what the edge holds as it sees it.
pub(crate) struct Credits {
    state: Mutex<CreditState>,
    cv: Condvar,
}

impl Credits {
    /// An edge that may hold `bound` items.
    pub(crate) fn new(bound: u32) -> Self {
        Credits {
            state: Mutex::new(CreditState {
                avail: u64::from(bound),
                closed: false,
                held: 0,
                peak: 0,
            }),
            cv: Condvar::new(),
        }
    }

    /// The consumer has taken `n` more items.
    pub(crate) fn give(&self, n: u32) {
        let mut s = self.state.lock();
        s.avail += u64::from(n);
        s.held = s.held.saturating_sub(u64::from(n));
        self.cv.notify_all();
    }

    /// The consumer has gone: nothing more is sent.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.cv.notify_all();
    }

    /// Whether the consumer has gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// The most items the edge has held at once.
    pub(crate) fn peak(&self) -> u64 {
        self.state.lock().peak
    }

    /// Waits for credits for `count` items, checking `cancelled` while it waits, and takes
    /// them: `Ok(true)`, send the batch; `Ok(false)`, the consumer has gone.
    pub(crate) fn take(&self, count: u32, cancelled: &dyn Fn() -> bool) -> Result<bool, SendStop> {
        let count = u64::from(count);
        let mut s = self.state.lock();
        while s.avail < count && !s.closed {
            if cancelled() {
                return Err(SendStop::Cancelled);
            }
            self.cv.wait_for(&mut s, POLL);
        }
        if s.closed {
            return Ok(false);
        }
        s.avail -= count;
        s.held += count;
        s.peak = s.peak.max(s.held);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_what_was_sent_and_not_given_back() {
        let c = Credits::new(8);
        assert_eq!(c.take(5, &|| false), Ok(true));
        assert_eq!(c.take(3, &|| false), Ok(true));
        assert_eq!(c.take(1, &|| true), Err(SendStop::Cancelled));
        c.give(5);
        assert_eq!(c.take(4, &|| false), Ok(true));
        assert_eq!(c.peak(), 8);
        c.close();
        assert_eq!(c.take(100, &|| false), Ok(false));
        assert!(c.is_closed());
    }

    #[test]
    fn an_inbox_counts_what_it_holds() {
        let i = Inbox::default();
        assert_eq!(i.push(InMsg::Items(vec![Bytes::new(); 3])), 3);
        assert_eq!(i.push(InMsg::Items(vec![Bytes::new(); 2])), 5);
        assert!(matches!(i.pop(Duration::ZERO), Some(InMsg::Items(v)) if v.len() == 3));
        i.release(3);
        assert_eq!(i.push(InMsg::End), 2);
    }
}
