//! A stage's outputs: every value goes to each consumer's edge, gathered into batches that
//! are all sent together.

use crate::control::Control;
use crate::edge::Blocked;
use crate::wire::Tx;

/// The output edges of one stage and the batches being gathered for them.
#[derive(Debug)]
pub(crate) struct Outputs<T> {
    edges: Vec<Tx<T>>,
    pending: Vec<Vec<T>>,
    /// Items gathered per edge before all are sent (the smallest batch of the edges).
    batch: usize,
}

impl<T: Clone> Outputs<T> {
    pub(crate) fn new(edges: Vec<Tx<T>>) -> Self {
        let batch = edges.iter().map(|e| e.batch()).min().unwrap_or(1);
        let pending = edges.iter().map(|_| Vec::with_capacity(batch)).collect();
        Outputs {
            edges,
            pending,
            batch,
        }
    }

    /// Whether the stage has consumers and all of them have gone (it can stop).
    pub(crate) fn all_closed(&self) -> bool {
        !self.edges.is_empty() && self.edges.iter().all(|e| !e.is_open())
    }

    /// Queues `v` for every consumer (a clone each) and sends when the batch is full.
    pub(crate) fn push(&mut self, v: &T, ctl: &Control) -> Result<(), Blocked> {
        if self.edges.is_empty() {
            return Ok(());
        }
        for p in &mut self.pending {
            p.push(v.clone());
        }
        if self.pending[0].len() >= self.batch {
            self.flush(ctl)?;
        }
        Ok(())
    }

    /// Sends what has been gathered along every edge, waiting where an edge is full.
    pub(crate) fn flush(&mut self, ctl: &Control) -> Result<(), Blocked> {
        for (e, p) in self.edges.iter_mut().zip(&mut self.pending) {
            if !p.is_empty() {
                let items = std::mem::replace(p, Vec::with_capacity(e.batch()));
                e.send(items, ctl)?;
            }
        }
        Ok(())
    }
}
