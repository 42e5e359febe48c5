//! Watching tasks as they happen: an [`Observer`] installed on a [`Context`](crate::Context)
//! hears every task spawned, started and finished (dashboards, progress bars, tests).
//!
//! With no observer installed the cost is one branch per event.

use dagger_core::{ProcessorId, TaskId};
use parking_lot::Mutex;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// What happened to a task. More kinds may be added: match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskEventKind<'a> {
    /// Created, waiting for these tasks.
    Spawned {
        /// The tasks it depends on (borrowed: reporting a spawn allocates nothing; an
        /// observer that keeps them copies them, e.g. `deps.to_vec()`).
        deps: &'a [TaskId],
    },
    /// Its body started on this processor, on the thread reporting it (the same thread later
    /// reports `Finished` for a task run in this process).
    Started {
        /// Where it runs.
        processor: ProcessorId,
    },
    /// It was sent to another worker process to run there. No message says when the worker
    /// starts it, so this is the "started" of a remote task; it is reported on whichever
    /// thread dispatched it (not the one that later reports `Finished`), and again if the task
    /// is retried on another worker after a loss.
    Dispatched {
        /// The worker's process (`ProcessorId::os`), or its thread when the task may use only
        /// one.
        processor: ProcessorId,
    },
    /// It finished; `ok` is false when it failed or was cancelled.
    Finished {
        /// Whether it produced a value.
        ok: bool,
        /// Whether `Started` was reported for it: false for a task that never started here
        /// (cancelled or failed while queued, or run on another worker process, whose start
        /// is `Dispatched`). Lets an observer tell running tasks from queued ones without
        /// tracking every start itself.
        started: bool,
    },
}

/// One event of one task. It borrows the task's name from the task, so reporting an event
/// copies no string and touches no reference count; an observer that keeps the name clones
/// it (`e.name.clone()` gives an owned `Option<Arc<str>>`).
///
/// ```
/// use dagger_sched::{TaskEvent, TaskEventKind};
/// use dagger_core::TaskId;
/// use std::sync::Arc;
/// let name: Option<Arc<str>> = Some("load".into());
/// let e = TaskEvent { task: TaskId(7), name: &name, kind: TaskEventKind::Finished { ok: true, started: true } };
/// let kept: Option<Arc<str>> = e.name.clone();
/// assert_eq!(kept.as_deref(), Some("load"));
/// assert_eq!(Arc::strong_count(name.as_ref().unwrap()), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskEvent<'a> {
    /// The task.
    pub task: TaskId,
    /// Its name, if it has one (borrowed from the task).
    pub name: &'a Option<Arc<str>>,
    /// What happened.
    pub kind: TaskEventKind<'a>,
}

/// Receives task events. Called on the scheduler's threads: keep it short and non-blocking.
///
/// ```
/// use dagger_sched::{Context, Observer, TaskEvent, TaskEventKind};
/// use std::sync::{Arc, Mutex};
/// #[derive(Default)]
/// struct Count(Mutex<usize>);
/// impl Observer for Count {
///     fn on_event(&self, e: &TaskEvent) {
///         if matches!(e.kind, TaskEventKind::Finished { ok: true, .. }) { *self.0.lock().unwrap() += 1; }
///     }
/// }
/// let count = Arc::new(Count::default());
/// let ctx = Context::builder().threads(1).observer(count.clone()).build();
/// ctx.spawn(|()| 1, ()).wait();
/// assert_eq!(*count.0.lock().unwrap(), 1);
/// ```
pub trait Observer: Send + Sync {
    /// Called for every event.
    fn on_event(&self, event: &TaskEvent);
}

/// The observer of contexts built without one (see [`set_default_observer`]).
static DEFAULT: OnceLock<Arc<dyn Observer>> = OnceLock::new();

/// Installs the observer every context built without [`ContextBuilder::observer`]
/// (including [`Context::local`]) gets: e.g. a process-wide dashboard started by `dagger::init`
/// when `DAGGER_DASHBOARD` is set, so every context is watched with no code change. The first
/// call wins; returns whether this one did. Contexts already built keep what they had.
///
/// [`ContextBuilder::observer`]: crate::ContextBuilder::observer
/// [`Context::local`]: crate::Context::local
///
/// ```
/// use dagger_sched::{Context, Observer, TaskEvent, TaskEventKind, Options};
/// use std::sync::{Arc, Mutex};
/// #[derive(Default)]
/// struct Names(Mutex<Vec<String>>);
/// impl Observer for Names {
///     fn on_event(&self, e: &TaskEvent) {
///         if let (TaskEventKind::Finished { .. }, Some(n)) = (&e.kind, e.name) {
///             self.0.lock().unwrap().push(n.to_string());
///         }
///     }
/// }
/// let names = Arc::new(Names::default());
/// assert!(dagger_sched::set_default_observer(names.clone()));
/// assert!(!dagger_sched::set_default_observer(Arc::new(Names::default()))); // first wins
/// let ctx = Context::builder().threads(1).build(); // no observer given
/// ctx.spawn_with(&Options::new().name("seen"), |()| 1, ()).wait();
/// assert_eq!(*names.0.lock().unwrap(), ["seen"]);
/// ```
pub fn set_default_observer(o: Arc<dyn Observer>) -> bool {
    let mut installed = false;
    DEFAULT.get_or_init(|| {
        installed = true;
        o
    });
    installed
}

/// The observer of one context, as every task of it sees it: a plain shared reference, so
/// making and finishing a task touches no reference count even with an observer installed.
///
/// Why `'static`: a task may outlive its context (a handle kept after the context is gone can
/// still be cancelled), so the observer must live as long as any task could. Each distinct
/// observer is kept alive once for the whole process (see [`pin`]) instead of being counted by
/// every task; installing the same `Arc` on many contexts keeps it once. A reference to the
/// kept `Arc`, not to the observer: a thin pointer, 8 bytes in every task header, not 16.
#[derive(Clone, Copy)]
pub(crate) struct Observers(pub Option<&'static Arc<dyn Observer>>);

impl Observers {
    /// The observers of a new context: `o`, else (if `use_default`) the default one if any.
    pub(crate) fn new(o: Option<Arc<dyn Observer>>, use_default: bool) -> Self {
        let o = match o {
            Some(o) => Some(o),
            None if use_default => DEFAULT.get().cloned(),
            None => None,
        };
        Observers(o.map(pin))
    }

    pub(crate) fn emit<'a>(
        &self,
        task: TaskId,
        name: &'a Option<Arc<str>>,
        kind: impl FnOnce() -> TaskEventKind<'a>,
    ) {
        if let Some(o) = self.0 {
            o.on_event(&TaskEvent {
                task,
                name,
                kind: kind(),
            });
        }
    }
}

/// Keeps `o` alive for the rest of the process and returns a reference to it; the same
/// observer (same allocation) always gives the same reference, so the memory kept is one
/// small box per distinct observer ever installed, not one per context.
fn pin(o: Arc<dyn Observer>) -> &'static Arc<dyn Observer> {
    static PINNED: Mutex<Vec<&'static Arc<dyn Observer>>> = Mutex::new(Vec::new());
    let mut pinned = PINNED.lock();
    let addr = Arc::as_ptr(&o) as *const ();
    if let Some(p) = pinned.iter().find(|p| Arc::as_ptr(p) as *const () == addr) {
        return p;
    }
    let p: &'static Arc<dyn Observer> = Box::leak(Box::new(o));
    pinned.push(p);
    p
}

impl fmt::Debug for Observers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observers(1)"
        } else {
            "Observers(0)"
        })
    }
}
