//! What every stage of a region shares: the cancel flag, the root cause, and the count of
//! stages still running (here and process-wide).

use dagger_core::{Error, Failure, TaskId};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a blocked stage waits before it looks at the cancel flag again (the teardown
/// latency is a few of these).
pub(crate) const POLL: Duration = Duration::from_millis(2);

thread_local! {
    /// The region of the stage running on this thread.
    static CURRENT: std::cell::RefCell<Option<Arc<Control>>> = const { std::cell::RefCell::new(None) };
}

/// Whether the region of the stage running on this thread is being torn down (false
/// outside a stage). A stage whose function runs long can look at it and return early.
///
/// ```
/// assert!(!dagger_stream::is_cancelled());
/// ```
pub fn is_cancelled() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|c| c.is_cancelled()))
}

/// Stages running in this process, over every region.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// The number of streaming stages running in this process right now (0 once every region
/// has returned: a region waits for all its stages).
pub fn running_stages() -> usize {
    RUNNING.load(Ordering::Acquire)
}

/// The shared state of one region.
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    teardown: AtomicBool,
    root: Mutex<Option<Error>>,
    running: AtomicUsize,
}

impl Control {
    pub(crate) fn new(teardown: bool) -> Arc<Self> {
        let c = Control::default();
        c.teardown.store(teardown, Ordering::Relaxed);
        Arc::new(c)
    }

    /// Whether the region is being torn down.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Cancels the region; the first reason given becomes its error.
    pub(crate) fn cancel(&self, why: Error) {
        self.record(why);
        self.cancelled.store(true, Ordering::Release);
    }

    /// A stage failed: record the root cause, and tear down if teardown is on.
    pub(crate) fn fail(&self, stage: usize, name: &str, error: Error) -> Error {
        let err = Error::TaskFailed {
            task: TaskId(stage as u64),
            root: Arc::new(Failure {
                task: TaskId(stage as u64),
                name: Some(name.into()),
                error,
            }),
        };
        if self.teardown.load(Ordering::Relaxed) {
            self.cancel(err.clone());
        } else {
            self.record(err.clone());
        }
        err
    }

    fn record(&self, why: Error) {
        let mut root = self.root.lock();
        if root.is_none() {
            *root = Some(why);
        }
    }

    /// The region's error, if any.
    pub(crate) fn error(&self) -> Option<Error> {
        self.root.lock().clone()
    }

    /// Counts a stage in for as long as the guard lives.
    pub(crate) fn enter(self: &Arc<Self>) -> Running {
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        self.running.fetch_add(1, Ordering::AcqRel);
        RUNNING.fetch_add(1, Ordering::AcqRel);
        Running(self.clone())
    }

    /// Stages of this region still running.
    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }
}

/// A running stage (see [`Control::enter`]).
#[derive(Debug)]
pub(crate) struct Running(Arc<Control>);

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
        self.0.running.fetch_sub(1, Ordering::AcqRel);
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A handle that cancels a streaming region from any thread (made by
/// [`Streaming::canceller`](crate::Streaming::canceller)).
#[derive(Clone, Debug)]
pub struct Canceller(pub(crate) Arc<Control>);

impl Canceller {
    /// Stops every stage of the region; the region returns [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.0.cancel(Error::Cancelled { task: TaskId(0) });
    }

    /// Whether the region has been cancelled (by this, or by a failing stage).
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Stages of the region still running.
    pub fn running(&self) -> usize {
        self.0.running()
    }
}
