//! Handles to results: [`DTask`] (an eager task) and [`Chunk`] (a finished, stored result).

use crate::executor::{self, Pool};
use crate::lineage_key::LineageKey;
use crate::site::Site;
use crate::task::{processor_of, Cell, Dependency, HandleTracker, Job};
use dagger_core::{ChunkId, Error, ProcessorId, Result, Scope, TaskId, WorkerId};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A handle to a spawned task and, later, its result.
///
/// Dropping every handle (and every pending dependent) releases the result.
///
/// ```
/// use dagger_sched::Context;
/// let ctx = Context::builder().threads(2).build();
/// let p = ctx.spawn(|(x,)| x + 1, (4,));
/// let q = ctx.spawn(|(p,)| p + 2, (&p,));
/// assert_eq!(q.fetch().unwrap(), 7);
/// assert!(p.is_ready());
/// ```
pub struct DTask<T> {
    pub(crate) cell: Arc<dyn Cell<T>>,
    /// Counts handles for results that live on other workers (none for local results).
    pub(crate) tracker: Option<Arc<dyn HandleTracker>>,
    pub(crate) pool: Arc<Pool>,
    pub(crate) worker: WorkerId,
    /// The task's id, kept here so that naming the task never reads the task itself.
    pub(crate) id: TaskId,
    /// The stable key of its lineage, for a task spawned with checkpointing (see
    /// [`crate::checkpoint`]); its dependents' keys are made from it. Boxed: few tasks have
    /// one, and inline it made every handle 24 bytes larger (a vector of 10⁶ handles, or
    /// the lazy graph's slots, pay that per task).
    pub(crate) key: Option<Box<LineageKey>>,
}

impl<T> Clone for DTask<T> {
    fn clone(&self) -> Self {
        if let Some(t) = &self.tracker {
            t.retain();
        }
        DTask {
            cell: self.cell.clone(),
            tracker: self.tracker.clone(),
            pool: self.pool.clone(),
            worker: self.worker,
            id: self.id,
            key: self.key.clone(),
        }
    }
}

impl<T> Drop for DTask<T> {
    fn drop(&mut self) {
        if let Some(t) = &self.tracker {
            t.release_handle();
        }
    }
}

impl<T: Send + Sync + 'static> DTask<T> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The stable key of the task's lineage, if it was spawned with checkpointing and has
    /// one (see [`crate::checkpoint`]).
    pub fn checkpoint_key(&self) -> Option<LineageKey> {
        self.key.as_deref().copied()
    }

    pub(crate) fn job(&self) -> Arc<dyn Job> {
        self.cell.clone().job()
    }

    /// What a task taking this one as an argument waits for.
    pub(crate) fn dependency(&self) -> Dependency {
        Dependency {
            job: self.job(),
            id: self.id,
        }
    }

    /// Whether the task has finished (successfully or not). Never blocks.
    pub fn is_ready(&self) -> bool {
        self.cell.header().is_done()
    }

    /// Blocks until the task has finished; never raises (check with [`DTask::fetch`]). A task
    /// still held unlaunched by a task queue (inside `spawn_bulk` or a datadeps region)
    /// cannot finish before the queue closes: `wait` returns at once and `fetch` gives an
    /// [`Error::Concurrency`].
    pub fn wait(&self) {
        if self.is_ready() {
            return;
        }
        let h = self.cell.header();
        if h.is_queued() {
            return;
        }
        executor::wait_until(&|| h.is_done(), &|p| h.add_waiter(p));
    }

    /// Waits, then gives a reference to the value, or the failure (a task held unlaunched
    /// by a queue gives [`Error::Concurrency`]: `wait` returned without a result).
    pub(crate) fn outcome(&self) -> Result<&T> {
        self.wait();
        match self.cell.result() {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(self.cell.header().unlaunched()),
        }
    }

    /// Waits and returns the result value (cloned), or the task's failure: a
    /// [`Error::TaskFailed`] naming this task and carrying the root cause.
    pub fn fetch(&self) -> Result<T>
    where
        T: Clone,
    {
        self.outcome().cloned()
    }

    /// Waits and returns the result as a [`Chunk`] (its metadata and value), or the failure.
    pub fn chunk(&self) -> Result<Chunk<T>> {
        // Waits for the task but does not fetch a result that lives on another worker: a
        // chunk is a reference to where the value is.
        let h = self.cell.header();
        if !h.is_done() && h.is_queued() {
            return Err(h.unlaunched());
        }
        self.wait();
        match self.job().error() {
            None => Ok(Chunk {
                task: self.clone(),
                scope: Scope::Any,
            }),
            Some(e) => Err(e),
        }
    }

    /// Where this task's result is (its owner and size).
    pub fn site(&self) -> Site {
        match self.cell.location() {
            Some(l) => Site {
                owner: l.owner,
                size: l.size,
            },
            None => Site {
                owner: self.worker,
                size: match self.cell.result() {
                    Some(Ok(v)) => crate::size::size_of_value(v),
                    _ => 0,
                },
            },
        }
    }

    /// Cancels the task: if it has not finished, it finishes now with a cancellation error
    /// (dependents fail too); a running body is told through [`crate::is_cancelled`].
    pub fn cancel(&self) {
        let h = self.cell.header();
        h.cancelled.store(true, Ordering::Release);
        if !h.is_done() {
            let ready = self.job().fail(Error::Cancelled { task: h.id });
            executor::schedule_all(&self.pool, ready);
        }
    }
}

impl<T: 'static> fmt::Debug for DTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.cell.header();
        write!(
            f,
            "DTask({}{})",
            h.id,
            if h.is_done() { ", done" } else { "" }
        )
    }
}

/// A finished result kept where it was computed, with its metadata. Passing a chunk to a task
/// passes its value.
///
/// ```
/// use dagger_sched::Context;
/// let ctx = Context::builder().threads(1).build();
/// let c = ctx.spawn(|()| vec![1u64, 2, 3], ()).chunk().unwrap();
/// assert_eq!(c.type_name(), "alloc::vec::Vec<u64>");
/// assert_eq!(c.size_bytes(), 24 + 24);
/// assert_eq!(c.fetch().unwrap(), vec![1, 2, 3]);
/// ```
pub struct Chunk<T> {
    pub(crate) task: DTask<T>,
    pub(crate) scope: Scope,
}

impl<T> Clone for Chunk<T> {
    fn clone(&self) -> Self {
        Chunk {
            task: self.task.clone(),
            scope: self.scope.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Chunk<T> {
    /// The chunk's id.
    pub fn id(&self) -> ChunkId {
        ChunkId(self.task.id().0)
    }

    /// The worker that holds the value.
    pub fn owner(&self) -> WorkerId {
        self.task
            .cell
            .location()
            .map_or(self.task.worker, |l| l.owner)
    }

    /// The processor that computed it (the owner's OS processor for a value put in directly
    /// or returned with `get_result`).
    pub fn processor(&self) -> ProcessorId {
        match self.task.cell.location() {
            Some(l) if l.owner != self.task.worker => ProcessorId::thread(l.owner, l.thread),
            _ => processor_of(self.task.cell.header(), self.task.worker),
        }
    }

    /// Where tasks using this chunk may run.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Returns the same chunk with another scope (e.g. to pin it to its owner).
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The Rust type of the value.
    pub fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    /// The value's size in bytes (deep for types the size registry knows, see
    /// [`crate::register_size`]; `size_of::<T>()` otherwise).
    pub fn size_bytes(&self) -> u64 {
        self.task.site().size
    }

    /// The task that produced this chunk.
    pub fn task(&self) -> &DTask<T> {
        &self.task
    }

    /// The value, cloned.
    pub fn fetch(&self) -> Result<T>
    where
        T: Clone,
    {
        self.task.fetch()
    }

    /// The value, cloned (`collect` of the reference): the former name of [`Chunk::fetch`].
    #[deprecated(since = "0.1.0", note = "use `fetch`, as for `DTask`")]
    pub fn collect(&self) -> Result<T>
    where
        T: Clone,
    {
        self.fetch()
    }

    /// Calls `f` with a reference to the value, without cloning it.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.task.outcome().map(f)
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Chunk<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Chunk({}, {}, {}, {:?})",
            self.id(),
            self.processor(),
            self.type_name(),
            self.scope
        )
    }
}

/// Things [`fetch_all`] can fetch: tasks, chunks, and vectors and tuples of them.
pub trait FetchAll {
    /// The fetched values.
    type Output;
    /// Fetches everything, failing with the first error.
    fn fetch_all(&self) -> Result<Self::Output>;
}

impl<T: Clone + Send + Sync + 'static> FetchAll for DTask<T> {
    type Output = T;
    fn fetch_all(&self) -> Result<T> {
        self.fetch()
    }
}

impl<T: Clone + Send + Sync + 'static> FetchAll for Chunk<T> {
    type Output = T;
    fn fetch_all(&self) -> Result<T> {
        self.fetch()
    }
}

impl<F: FetchAll> FetchAll for [F] {
    type Output = Vec<F::Output>;
    fn fetch_all(&self) -> Result<Self::Output> {
        // Sized up front: collecting into a `Result` does not know the length, and grew a
        // vector of 10⁶ results by doubling (a copy and fresh pages each time).
        let mut out = Vec::with_capacity(self.len());
        for x in self {
            out.push(x.fetch_all()?);
        }
        Ok(out)
    }
}

impl<F: FetchAll> FetchAll for Vec<F> {
    type Output = Vec<F::Output>;
    fn fetch_all(&self) -> Result<Self::Output> {
        self.as_slice().fetch_all()
    }
}

macro_rules! fetch_tuple {
    ($($n:ident $v:ident),*) => {
        impl<$($n: FetchAll),*> FetchAll for ($($n,)*) {
            type Output = ($($n::Output,)*);
            fn fetch_all(&self) -> Result<Self::Output> {
                let ($($v,)*) = self;
                Ok(($($v.fetch_all()?,)*))
            }
        }
    };
}
fetch_tuple!(A a, B b);
fetch_tuple!(A a, B b, C c);
fetch_tuple!(A a, B b, C c, D d);

/// Fetches a task, a chunk, or a vector or tuple of them.
///
/// ```
/// use dagger_sched::{fetch_all, Context};
/// let ctx = Context::builder().threads(2).build();
/// let ts: Vec<_> = (0..4).map(|_| ctx.spawn(|()| 1 + 1, ())).collect();
/// assert_eq!(fetch_all(&ts).unwrap(), vec![2, 2, 2, 2]);
/// let pair = (ctx.spawn(|()| 1, ()), ctx.spawn(|()| "two", ()));
/// assert_eq!(fetch_all(&pair).unwrap(), (1, "two"));
/// ```
pub fn fetch_all<F: FetchAll + ?Sized>(x: &F) -> Result<F::Output> {
    x.fetch_all()
}

#[cfg(test)]
mod tests {
    /// A program keeps a handle per task it spawned (a vector of 10⁶ of them is common),
    /// and the lazy graph keeps one per thunk: a handle fits in one cache line.
    #[test]
    fn a_handle_fits_one_cache_line() {
        let n = std::mem::size_of::<super::DTask<u64>>();
        eprintln!("handle {n} B");
        assert!(n <= 64, "a handle is {n} bytes");
    }
}
