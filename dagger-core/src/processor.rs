//! Processors: the places a task can run.
//!
//! Every worker process has one OS processor ([`ProcessorKind::Os`], which owns the process's
//! data and runs no tasks by default) and one thread processor per executor thread
//! ([`ProcessorKind::Thread`]). Third parties add their own kinds (a GPU, an FPGA) with
//! [`ProcessorKind::Custom`] and an implementation of [`Processor`].

use crate::ids::{NodeId, WorkerId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a processor. Kinds are what [`Scope::ProcessorType`](crate::Scope) selects.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProcessorKind {
    /// The process itself (Dagger.jl's `OSProc`).
    Os,
    /// One executor thread of a process (Dagger.jl's `ThreadProc`).
    Thread,
    /// A kind defined by another crate, identified by a code that crate chooses.
    Custom(u16),
}

impl ProcessorKind {
    /// Whether [`Scope::Default`](crate::Scope::Default) includes this kind: only CPU threads,
    /// so accelerators are opt-in, as in Dagger.jl.
    pub fn default_enabled(self) -> bool {
        matches!(self, ProcessorKind::Thread)
    }
}

impl fmt::Debug for ProcessorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessorKind::Os => f.write_str("OSProc"),
            ProcessorKind::Thread => f.write_str("ThreadProc"),
            ProcessorKind::Custom(n) => write!(f, "Custom#{n}"),
        }
    }
}

/// The identity of one processor: which worker, which kind, which index (thread number,
/// 1-based as in the reference; 0 for the OS processor).
///
/// ```
/// use dagger_core::{ProcessorId, ProcessorKind, WorkerId};
/// let t = ProcessorId::thread(WorkerId(2), 1);
/// assert_eq!(t.kind, ProcessorKind::Thread);
/// assert_eq!(t.parent(), ProcessorId::os(WorkerId(2)));
/// assert_eq!(t.to_string(), "ThreadProc(w2, 1)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProcessorId {
    /// The process that owns this processor.
    pub worker: WorkerId,
    /// What kind of processor it is.
    pub kind: ProcessorKind,
    /// Index among processors of this kind on the worker (threads count from 1).
    pub index: u32,
}

impl ProcessorId {
    /// The OS processor of `worker`.
    pub const fn os(worker: WorkerId) -> Self {
        Self {
            worker,
            kind: ProcessorKind::Os,
            index: 0,
        }
    }

    /// Thread `index` (1-based) of `worker`.
    pub const fn thread(worker: WorkerId, index: u32) -> Self {
        Self {
            worker,
            kind: ProcessorKind::Thread,
            index,
        }
    }

    /// The processor this one belongs to: the OS processor of its worker (itself for an OS
    /// processor).
    pub const fn parent(self) -> Self {
        Self::os(self.worker)
    }
}

impl fmt::Debug for ProcessorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ProcessorKind::Os => write!(f, "OSProc({})", self.worker),
            kind => write!(f, "{kind:?}({}, {})", self.worker, self.index),
        }
    }
}

impl fmt::Display for ProcessorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Where a processor is: its id and the physical node of its worker. Scopes are matched
/// against this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessorInfo {
    /// The processor.
    pub id: ProcessorId,
    /// The node (machine) its worker runs on.
    pub node: NodeId,
}

/// A unit of work handed to a processor: the scheduler has already resolved the arguments.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A place that executes tasks. The scheduler's thread processors implement this, and a
/// third-party crate adds a new kind of processor (an accelerator, a rate-limited pool) by
/// implementing it and registering it with its context.
///
/// ```
/// use dagger_core::processor::{Job, Processor, ProcessorId, ProcessorKind};
/// use dagger_core::WorkerId;
/// /// Runs each job inline on the caller's thread.
/// #[derive(Debug)]
/// struct Inline(ProcessorId);
/// impl Processor for Inline {
///     fn id(&self) -> ProcessorId { self.0 }
///     fn execute(&self, job: Job) { job() }
/// }
/// let p = Inline(ProcessorId { worker: WorkerId(1), kind: ProcessorKind::Custom(7), index: 1 });
/// assert!(!p.default_enabled());
/// let (tx, rx) = std::sync::mpsc::channel();
/// p.execute(Box::new(move || tx.send(42).unwrap()));
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
pub trait Processor: Send + Sync + fmt::Debug {
    /// This processor's identity.
    fn id(&self) -> ProcessorId;

    /// The processor that owns this one (the OS processor of its worker).
    fn parent(&self) -> ProcessorId {
        self.id().parent()
    }

    /// Whether [`Scope::Default`](crate::Scope::Default) may place tasks here.
    fn default_enabled(&self) -> bool {
        self.id().kind.default_enabled()
    }

    /// Whether an argument of the named type can be used on this processor.
    fn compatible(&self, _type_name: &str) -> bool {
        true
    }

    /// Runs `job` here. It may run on another thread, later; it must run exactly once.
    fn execute(&self, job: Job);
}
