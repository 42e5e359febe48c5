//! One task: its header (identity, state, dependents) and its typed cell (body and result),
//! plus what everything above needs to name a task: the [`Dependency`] an argument waits
//! for, the [`Parking`] a waiter leaves, and which task the current thread is running.
//!
//! A task is one allocation: `Arc<Task<T, F>>`. The executor sees it as `Arc<dyn Job>`, a
//! handle sees it as `Arc<dyn Cell<T>>`; both point at the same memory, so spawning costs one
//! allocation and finishing one task never touches a global lock.

use crate::observe::{Observers, TaskEventKind};
use crate::site::{Location, Recompute};
use crossbeam_utils::sync::Unparker;
use dagger_core::{Error, Failure, ProcessorId, TaskId, WorkerId};
use parking_lot::Mutex;
use std::any::Any;
use std::cell::Cell as ThreadCell;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// A way to wake one parked thread (a waiter registered on a task).
#[derive(Clone)]
pub(crate) struct Parking(pub(crate) Unparker);

impl Parking {
    pub(crate) fn unpark(&self) {
        self.0.unpark();
    }
}

/// A task an argument waits for (opaque outside this crate).
pub struct Dependency {
    pub(crate) job: Arc<dyn Job>,
    /// The task's id, from the handle: reading it from the task would touch a cache line the
    /// thread running that task is writing.
    pub(crate) id: TaskId,
}

impl fmt::Debug for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dependency({})", self.id)
    }
}

thread_local! {
    /// Serials of the task queues that hold tasks, open on this thread.
    static OPEN_QUEUES: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The serial of the next holding task queue.
static NEXT_QUEUE: AtomicU64 = AtomicU64::new(1);

/// Opens a holding queue on this thread; its serial tags the tasks it holds.
pub(crate) fn open_queue() -> u64 {
    let q = NEXT_QUEUE.fetch_add(1, Ordering::Relaxed);
    OPEN_QUEUES.with(|o| o.borrow_mut().push(q));
    q
}

/// Closes the holding queue `q` on this thread.
pub(crate) fn close_queue(q: u64) {
    OPEN_QUEUES.with(|o| o.borrow_mut().retain(|x| *x != q));
}

thread_local! {
    /// The header of the task whose body runs on this thread (null: none).
    static CURRENT: ThreadCell<*const Header> = const { ThreadCell::new(std::ptr::null()) };
}

/// Restores the previously current task when a body returns.
pub(crate) struct Entered(*const Header);

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Marks `h` as the task running on this thread until the guard drops.
pub(crate) fn enter(h: &Header) -> Entered {
    Entered(CURRENT.with(|c| c.replace(h as *const Header)))
}

/// Calls `f` with the header of the task running on this thread, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Header>) -> R) -> R {
    CURRENT.with(|c| {
        let p = c.get();
        // SAFETY: the pointer is set only while the task's `run` holds an `Arc` to it, and
        // reset by `Entered` before that `Arc` is released.
        f(unsafe { p.as_ref() })
    })
}

/// Where a ready task may run among this process's threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pin {
    /// Any thread; goes through the work-stealing queues.
    Any,
    /// Only these thread indexes (0-based). Boxed as a slice, not a vector: every task
    /// header carries a `Pin`, and the smaller it is the fewer cache lines a task spans.
    Threads(Box<[usize]>),
    /// Not run by a pool thread: dispatched where it becomes ready (to a worker process).
    Dispatch,
}

/// Tasks made ready by another's completion, and a task's dependents before that. Most
/// tasks have one dependent (a chain, a tree) or none, kept inline: they then allocate
/// nothing beyond the task itself (a second allocation per task, freed on another thread,
/// contended on the allocator's lock). One inline, not two: the list is in every task's
/// header, and each inline slot made every task 16 bytes larger.
pub(crate) type Ready = smallvec::SmallVec<[Arc<dyn Job>; 1]>;

/// The earlier tasks of a region that wrote what a task touches (its failure is theirs):
/// usually none or one, kept inline.
pub(crate) type Wrote = smallvec::SmallVec<[Arc<dyn Job>; 2]>;

struct Waiting {
    done: bool,
    dependents: Ready,
    /// Threads blocked on it: rare (most results are fetched once finished), so boxed
    /// apart; a vector inline was 24 bytes in every task.
    // The box is the point: one thin pointer in the header instead of a vector's three words.
    #[allow(clippy::box_collection)]
    waiters: Option<Box<Vec<Parking>>>,
}

/// The type-independent part of a task.
pub(crate) struct Header {
    pub id: TaskId,
    pub name: Option<Arc<str>>,
    pub pin: Pin,
    /// Dependencies not yet finished, plus one held by the spawner until registration ends
    /// (32 bits: it shares a word with `ran_on`).
    pending: AtomicU32,
    /// Mirrors `waiting.done` so the common "is it finished?" check takes no lock.
    done: AtomicBool,
    waiting: Mutex<Waiting>,
    pub cancelled: AtomicBool,
    /// The serial of the task queue (`spawn_bulk`, a datadeps region) that holds it
    /// unlaunched, 0 once launched: a wait for it from inside that open queue would never
    /// end, so `fetch` says so instead. Cleared by the pool thread that launches it, not by
    /// the spawner (which would touch every task of a batch once more).
    pub queued: AtomicU64,
    /// 1-based thread index it ran on (0 = not run yet).
    pub ran_on: AtomicU32,
    pub get_result: bool,
    pub observer: Observers,
}

impl Header {
    #[inline(always)]
    pub(crate) fn new(
        id: TaskId,
        name: Option<Arc<str>>,
        pin: Pin,
        get_result: bool,
        observer: Observers,
    ) -> Self {
        Header {
            id,
            name,
            pin,
            pending: AtomicU32::new(1),
            done: AtomicBool::new(false),
            waiting: Mutex::new(Waiting {
                done: false,
                dependents: Ready::new(),
                waiters: None,
            }),
            cancelled: AtomicBool::new(false),
            queued: AtomicU64::new(0),
            ran_on: AtomicU32::new(0),
            get_result,
            observer,
        }
    }

    /// Whether the result (value or error) is there.
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Registers `job` to be told when this task finishes; `false` if it already has.
    pub(crate) fn add_dependent(&self, job: &Arc<dyn Job>) -> bool {
        let mut w = self.waiting.lock();
        if w.done {
            return false;
        }
        w.dependents.push(job.clone());
        true
    }

    /// Registers a thread to unpark on completion; `false` if already done.
    pub(crate) fn add_waiter(&self, p: &Parking) -> bool {
        let mut w = self.waiting.lock();
        if w.done {
            return false;
        }
        w.waiters
            .get_or_insert_with(Default::default)
            .push(p.clone());
        true
    }

    /// Counts one more dependency before the task is made visible.
    pub(crate) fn add_pending(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a task queue still open on this thread holds it unlaunched (a queue that
    /// closed has launched it, even if no pool thread has reached it yet).
    pub(crate) fn is_queued(&self) -> bool {
        let q = self.queued.load(Ordering::Acquire);
        q != 0 && OPEN_QUEUES.with(|o| o.borrow().contains(&q))
    }

    /// The error a wait for an unlaunched task gives.
    pub(crate) fn unlaunched(&self) -> Error {
        Error::Concurrency(format!(
            "Cannot `fetch` an unlaunched DTask ({}): it was spawned inside a task queue \
             (`spawn_bulk` or a datadeps region) that has not launched it yet",
            self.id
        ))
    }

    /// Counts one dependency as done; `true` when this was the last.
    pub(crate) fn dep_done(&self) -> bool {
        self.pending.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Marks done; returns the dependents that must now be told.
    pub(crate) fn finish(&self) -> Ready {
        let (deps, waiters) = {
            let mut w = self.waiting.lock();
            w.done = true;
            self.done.store(true, Ordering::Release);
            (
                std::mem::take(&mut w.dependents),
                std::mem::take(&mut w.waiters),
            )
        };
        for p in waiters.into_iter().flat_map(|w| *w) {
            p.unpark();
        }
        deps
    }

    /// The failure to report for this task when it failed with `error`.
    pub(crate) fn failure(&self, error: Error) -> Error {
        match error {
            Error::TaskFailed { root, .. } => Error::TaskFailed {
                task: self.id,
                root,
            },
            error => Error::TaskFailed {
                task: self.id,
                root: Arc::new(Failure {
                    task: self.id,
                    name: self.name.clone(),
                    error,
                }),
            },
        }
    }
}

/// A task as the executor sees it.
pub(crate) trait Job: Send + Sync + 'static {
    fn header(&self) -> &Header;
    /// Runs the body (or records cancellation) and returns the dependents now ready.
    fn run(self: Arc<Self>, worker: WorkerId, thread: u32) -> Ready;
    /// Completes the task with `error` unless it already has a result; returns the
    /// dependents now ready.
    fn fail(self: Arc<Self>, error: Error) -> Ready;
    /// The error it finished with, if it failed.
    fn error(&self) -> Option<Error>;
}

/// A task as a typed handle sees it.
pub(crate) trait Cell<T>: Send + Sync + 'static {
    fn header(&self) -> &Header;
    fn result(&self) -> Option<&Result<T, Error>>;
    /// The same task, seen by the executor.
    fn job(self: Arc<Self>) -> Arc<dyn Job>;
    /// Where the result lives when it is not in this process's memory.
    fn location(&self) -> Option<Location> {
        None
    }
    /// The task as something that can be recomputed from its lineage (remote results only).
    fn recompute(self: Arc<Self>) -> Option<Arc<dyn Recompute>> {
        None
    }
    /// Who counts this result's handles, if anyone does (results on other workers).
    fn tracker(self: Arc<Self>) -> Option<Arc<dyn HandleTracker>> {
        None
    }
}

/// Counts the handles to a result, so its data can be released when the last one goes even
/// while its lineage is kept.
pub(crate) trait HandleTracker: Send + Sync {
    /// A handle was made.
    fn retain(&self);
    /// A handle was dropped.
    fn release_handle(&self);
}

/// The body of a task: resolves its arguments and calls the user function.
pub(crate) type Outcome<T> = Result<T, Error>;

pub(crate) struct Task<T, F> {
    header: Header,
    body: Mutex<Option<F>>,
    result: OnceLock<Outcome<T>>,
}

impl<T, F> Task<T, F>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> Outcome<T> + Send + 'static,
{
    #[inline(always)]
    pub(crate) fn new(header: Header, body: F) -> Self {
        Task {
            header,
            body: Mutex::new(Some(body)),
            result: OnceLock::new(),
        }
    }

    /// [`Task::new`] behind its `Arc`, written in place: a task is a few hundred bytes, and
    /// building it (its header above all) on the stack first costs the spawn path copies of
    /// all of them. `header` makes the header once the memory is there.
    #[inline(always)]
    pub(crate) fn new_arc(header: impl FnOnce() -> Header, body: F) -> Arc<Self> {
        let mut arc = Arc::<Self>::new_uninit();
        match Arc::get_mut(&mut arc) {
            Some(slot) => {
                let p = slot.as_mut_ptr();
                // SAFETY: `p` is the fresh allocation, unshared; each field is written once,
                // in place, and all of them are before the task is taken as initialized.
                unsafe {
                    std::ptr::addr_of_mut!((*p).header).write(header());
                    std::ptr::addr_of_mut!((*p).body).write(Mutex::new(Some(body)));
                    std::ptr::addr_of_mut!((*p).result).write(OnceLock::new());
                    arc.assume_init()
                }
            }
            // A fresh `Arc` is never shared: not reached.
            None => Arc::new(Task::new(header(), body)),
        }
    }

    /// A task that is already finished with `value` (a `tochunk`).
    pub(crate) fn ready(header: Header, value: Outcome<T>) -> Self {
        let t = Task {
            header,
            body: Mutex::new(None),
            result: OnceLock::new(),
        };
        let _ = t.result.set(value);
        t.header.finish();
        t
    }

    fn complete(&self, outcome: Outcome<T>) -> Ready {
        let ok = outcome.is_ok();
        if self.result.set(outcome).is_err() {
            return Ready::new(); // cancelled first: that completion already notified everyone
        }
        finished(&self.header, ok)
    }
}

// The parts of running a task that do not depend on its types, compiled once rather than
// once per task type (hundreds of them in a crate that spawns many closures: dagger-array
// instantiated `Task::run` 690 times, 2.8 MB of code at opt-level 0).

/// Reports a task finished and takes its dependents that are now ready.
#[inline(never)]
fn finished(h: &Header, ok: bool) -> Ready {
    h.observer.emit(h.id, &h.name, || TaskEventKind::Finished {
        ok,
        // Set on the thread that runs the body, before it reports `Started`.
        started: h.ran_on.load(Ordering::Relaxed) != 0,
    });
    // Filtered in place: most tasks have no dependent, and then no list is built.
    let mut ready = h.finish();
    ready.retain(|d| d.header().dep_done());
    ready
}

/// Reports a task started on `thread` of `worker` and enters it: the current-task guard and
/// its `compute` span (dagger-profile's convention; free when nobody records), both held
/// while the body runs.
#[inline(never)]
fn started(h: &Header, worker: WorkerId, thread: u32) -> (Entered, tracing::span::EnteredSpan) {
    h.ran_on.store(thread, Ordering::Relaxed);
    h.observer.emit(h.id, &h.name, || TaskEventKind::Started {
        processor: ProcessorId::thread(worker, thread),
    });
    let current = enter(h);
    let span = tracing::trace_span!(
        target: "dagger",
        "compute",
        task = h.id.0,
        name = h.name.as_deref(),
        timeline = %ProcessorId::thread(worker, thread),
        worker = worker.0,
    )
    .entered();
    (current, span)
}

/// A body's panic as the task's failure (outlined: the payload's text is the cold part; a
/// returned error goes through [`Header::failure`] in place).
#[inline(never)]
fn panicked(h: &Header, panic: Box<dyn Any + Send>) -> Error {
    h.failure(Error::User(panic_message(panic)))
}

impl<T, F> Job for Task<T, F>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> Outcome<T> + Send + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(self: Arc<Self>, worker: WorkerId, thread: u32) -> Ready {
        if self.result.get().is_some() {
            return Ready::new();
        }
        let Some(body) = self.body.lock().take() else {
            return Ready::new();
        };
        if self.header.cancelled.load(Ordering::Acquire) {
            return self.complete(Err(self.header.failure(Error::Cancelled {
                task: self.header.id,
            })));
        }
        let (_current, span) = started(&self.header, worker, thread);
        let outcome = match std::panic::catch_unwind(AssertUnwindSafe(body)) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.header.failure(e)),
            Err(panic) => Err(panicked(&self.header, panic)),
        };
        // Close the span before waking anyone: a waiter may stop the profiler at once.
        drop(span);
        self.complete(outcome)
    }

    fn fail(self: Arc<Self>, error: Error) -> Ready {
        let e = self.header.failure(error);
        let ready = self.complete(Err(e));
        // The body will never run: let go of what it holds now (its arguments; for a lazy
        // thunk, the thunk itself, which may hold this task), not when the task goes.
        drop(self.body.lock().take());
        ready
    }

    fn error(&self) -> Option<Error> {
        self.result.get().and_then(|r| r.as_ref().err().cloned())
    }
}

impl<T, F> Cell<T> for Task<T, F>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> Outcome<T> + Send + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn result(&self) -> Option<&Outcome<T>> {
        self.result.get()
    }

    fn job(self: Arc<Self>) -> Arc<dyn Job> {
        self
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(p: Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "task panicked".to_string()
    }
}

/// The processor a task ran on, from its header.
/// A result returned with `get_result` (or put in directly) belongs to the process, not to a
/// thread.
pub(crate) fn processor_of(h: &Header, worker: WorkerId) -> ProcessorId {
    match h.ran_on.load(Ordering::Relaxed) {
        t if t == 0 || h.get_result => ProcessorId::os(worker),
        t => ProcessorId::thread(worker, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every task carries a header, and the spawn, run, fetch and drop of a task each read
    /// it: the fewer cache lines it spans, the cheaper a tiny task (and the flatter its cost
    /// when 10⁶ of them no longer fit in the caches).
    #[test]
    fn a_task_header_spans_at_most_two_cache_lines() {
        let header = std::mem::size_of::<Header>();
        let task = std::mem::size_of::<Task<u64, fn() -> Outcome<u64>>>();
        eprintln!("header {header} B, task of a u64 {task} B");
        assert!(header <= 128, "a header is {header} bytes");
    }
}
