//! Watching tasks as they happen: an [`Observer`] installed on a [`Context`](crate::Context)
//! hears every task spawned, started and finished (dashboards, progress bars, tests).
//!
//! With no observer installed the cost is one branch per event.

use dagger_core::{ProcessorId, TaskId};
use std::fmt;
use std::sync::Arc;

/// What happened to a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskEventKind {
    /// Created, waiting for these tasks.
    Spawned {
        /// The tasks it depends on.
        deps: Vec<TaskId>,
    },
    /// Its body started on this processor.
    Started {
        /// Where it runs.
        processor: ProcessorId,
    },
    /// It finished; `ok` is false when it failed or was cancelled.
    Finished {
        /// Whether it produced a value.
        ok: bool,
    },
}

/// One event of one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskEvent {
    /// The task.
    pub task: TaskId,
    /// Its name, if it has one.
    pub name: Option<Arc<str>>,
    /// What happened.
    pub kind: TaskEventKind,
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
///         if matches!(e.kind, TaskEventKind::Finished { ok: true }) { *self.0.lock().unwrap() += 1; }
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

/// A shared observer.
#[derive(Clone)]
pub(crate) struct Observers(pub Option<Arc<dyn Observer>>);

impl Observers {
    pub fn emit(
        &self,
        task: TaskId,
        name: &Option<Arc<str>>,
        kind: impl FnOnce() -> TaskEventKind,
    ) {
        if let Some(o) = &self.0 {
            o.on_event(&TaskEvent {
                task,
                name: name.clone(),
                kind: kind(),
            });
        }
    }
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
