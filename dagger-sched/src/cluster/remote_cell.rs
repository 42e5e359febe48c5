//! A remote task as its handles see it: its result (fetched from the worker that holds it,
//! recomputed if that worker is gone), its location, and the count of handles whose last
//! drop releases the data.

use super::lineage::RemoteArgs;
use super::remote::{Data, RemoteTask};
use crate::args::Args;
use crate::site::{ArgRef, Location, Recompute};
use crate::task::{Cell, HandleTracker, Header, Job, Outcome};
use dagger_core::{ChunkId, Error, WorkerId};
use serde::{de::DeserializeOwned, Serialize};
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl<A, R> Cell<R> for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn result(&self) -> Option<&Outcome<R>> {
        if let Some(v) = self.value.get() {
            return Some(v);
        }
        if !self.header.is_done() {
            return None;
        }
        // The value lives on a worker: fetch it now, once (recomputing it if that worker is
        // gone; a worker lost between finding and fetching is retried).
        let me = self.me.upgrade()?;
        let mut last = Error::WorkerLost {
            worker: WorkerId(0),
            chunk: Some(ChunkId(self.header.id.0)),
        };
        for _ in 0..=self.cluster.max_retries {
            let (tx, rx) = std::sync::mpsc::channel();
            me.clone().ensure(Box::new(move |r| {
                let _ = tx.send(r);
            }));
            let bytes = match rx.recv().unwrap_or(Err(last.clone())) {
                Ok(ArgRef::Inline(b)) => Ok(b),
                Ok(ArgRef::Chunk { id, owner }) => self.cluster.fetch(owner, id),
                // `ensure` of a task only ever answers with one value.
                Ok(ArgRef::List(_)) => Err(Error::Scheduling(format!(
                    "the result of {} was located as a list",
                    self.header.id
                ))),
                Err(e) => Err(e),
            };
            match bytes {
                Err(e @ Error::WorkerLost { .. }) => last = e,
                other => {
                    let v = other.and_then(|b| {
                        postcard::from_bytes::<R>(&b).map_err(|e| {
                            Error::Codec(format!(
                                "result of {} as {}: {e}",
                                self.header.id,
                                std::any::type_name::<R>()
                            ))
                        })
                    });
                    let _ = self.value.set(v.map_err(|e| self.header.failure(e)));
                    return self.value.get();
                }
            }
        }
        let _ = self.value.set(Err(self.header.failure(last)));
        self.value.get()
    }

    fn job(self: Arc<Self>) -> Arc<dyn Job> {
        self
    }

    fn location(&self) -> Option<Location> {
        match &*self.data.lock() {
            Data::At(l) => Some(l.clone()),
            _ => None,
        }
    }

    fn recompute(self: Arc<Self>) -> Option<Arc<dyn Recompute>> {
        match &*self.data.lock() {
            Data::At(l) if l.owner == self.cluster.driver => None,
            _ => Some(self.clone()),
        }
    }

    fn tracker(self: Arc<Self>) -> Option<Arc<dyn HandleTracker>> {
        Some(self)
    }
}

impl<A, R> HandleTracker for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn retain(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    fn release_handle(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Data::At(l) = &*self.data.lock() {
                if l.owner != self.cluster.driver {
                    self.cluster.release(ChunkId(self.header.id.0), l.owner);
                }
            }
        }
    }
}

impl<A: Args, R> Drop for RemoteTask<A, R> {
    fn drop(&mut self) {
        if let Data::At(l) = &*self.data.lock() {
            if l.owner != self.cluster.driver && self.handles.load(Ordering::Relaxed) > 0 {
                self.cluster.release(ChunkId(self.header.id.0), l.owner);
            }
        }
        // What names the inputs (each may be the last reference to its task, which names
        // its own inputs...) is dropped by a loop, not a recursion as deep as the chain.
        let lineage = self.lineage.get_mut().take();
        let args = self.args.get_mut().take();
        let held = self.held.get_mut().take();
        bury(Box::new((lineage, args, held)));
    }
}

thread_local! {
    /// Values left to drop on this thread, and whether a drop loop already runs here.
    static GRAVE: RefCell<(bool, Vec<Box<dyn Send>>)> = const { RefCell::new((false, Vec::new())) };
}

/// Drops `x` in this thread's drop loop (started here unless one already runs), so that a
/// long chain of tasks, each holding the next, does not overflow the stack.
fn bury(x: Box<dyn Send>) {
    let start = GRAVE.try_with(|g| {
        let mut g = g.borrow_mut();
        g.1.push(x);
        !std::mem::replace(&mut g.0, true)
    });
    // Ok(false): a loop further up drops it. Err: the thread is ending, and `x` was
    // dropped with the closure that did not run.
    if start != Ok(true) {
        return;
    }
    while let Some(x) = GRAVE.with(|g| g.borrow_mut().1.pop()) {
        drop(x);
    }
    GRAVE.with(|g| g.borrow_mut().0 = false);
}
