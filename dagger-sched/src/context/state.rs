//! The [`Context`] value and the scheduler state its clones share.

use crate::checkpoint::io::Checkpoints;
use crate::cluster::driver::Cluster;
use crate::executor::{self, Pool};
use crate::observe::Observers;
use dagger_core::scope::Universe;
use dagger_core::{NodeId, ProcessorId, ProcessorInfo, Scope, WorkerId};
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::thread::JoinHandle;

/// A running scheduler: its processors and the API to give them work.
///
/// `Context::local()` is the embedded default: this process only, one thread processor per
/// core, no network and no set-up. Clones share the same scheduler; it stops when the last
/// clone is dropped.
///
/// ```
/// use dagger_sched::Context;
/// let ctx = Context::local();
/// let p = ctx.spawn(|(x,)| x + 1, (4,));          // add1(4)
/// let q = ctx.spawn(|(p,)| p + 2, (&p,));         // add2(p)
/// let r = ctx.spawn(|(x,)| x + 1, (3,));          // add1(3)
/// let s = ctx.spawn(|(p, q, r)| p + q + r, (&p, &q, &r));
/// assert_eq!(s.fetch().unwrap(), 16);
/// assert_eq!(p.fetch().unwrap(), 5);
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<Inner>,
    /// Workers this view of the context may use (the seed's `Context(pids)`); `None`: all.
    pub(crate) restrict: Option<Scope>,
}

pub(crate) struct Inner {
    pub(crate) pool: Arc<Pool>,
    pub(crate) handles: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) observers: Observers,
    pub(crate) worker: WorkerId,
    pub(crate) processors: RwLock<Vec<ProcessorInfo>>,
    pub(crate) universe: RwLock<Universe>,
    pub(crate) cluster: OnceLock<Arc<Cluster>>,
    pub(crate) local_threads: usize,
    pub(crate) node: NodeId,
    /// Where and how results are checkpointed, if they are.
    pub(crate) checkpoints: Option<Arc<Checkpoints>>,
}

impl Inner {
    pub(crate) fn add_worker(&self, w: WorkerId, threads: u32, node: NodeId) {
        let mut p = self.processors.write();
        p.push(ProcessorInfo {
            id: ProcessorId::os(w),
            node,
        });
        p.extend((1..=threads).map(|t| ProcessorInfo {
            id: ProcessorId::thread(w, t),
            node,
        }));
        self.universe.write().workers.push((w, threads));
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.get() {
            c.shutdown();
        }
        self.pool.shutdown();
        let me = executor::current_thread_of(&self.pool);
        for (i, h) in self.handles.lock().drain(..).enumerate() {
            // The last handle may be dropped by a task on one of our own threads.
            if me != Some(i) {
                let _ = h.join();
            }
        }
        // The results computed by now reach the store, also when the program's `main` ends
        // with this drop (the store's runtime dies with the process). Bounded: a store that
        // never answers must not hang the drop.
        if let Some(c) = &self.checkpoints {
            if !c.flush_puts(std::time::Duration::from_secs(30)) {
                tracing::warn!(target: "dagger", "checkpoint writes still unanswered 30 s after the context ended");
            }
        }
    }
}
impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("worker", &self.inner.worker)
            .field("threads", &self.num_threads())
            .finish()
    }
}
