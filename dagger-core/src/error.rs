//! The one error type of dagger-rs.
//!
//! Every failure a user can observe is an [`Error`]. A failed task is
//! [`Error::TaskFailed`]: it names the task that was fetched and carries the [`Failure`] of
//! the root task where things went wrong, so a dependent's error says both.

use crate::ids::{ChunkId, TaskId, WorkerId};
use std::fmt;
use std::sync::Arc;

/// Shorthand for `std::result::Result<T, dagger_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong.
///
/// ```
/// use dagger_core::{Error, Failure, TaskId};
/// use std::sync::Arc;
/// let root = Arc::new(Failure { task: TaskId(3), name: None, error: Error::User("Test".into()) });
/// let own = Error::TaskFailed { task: TaskId(3), root: root.clone() };
/// let dep = Error::TaskFailed { task: TaskId(4), root };
/// assert!(own.to_string().starts_with("DTaskFailedException:"));
/// assert!(!own.to_string().contains("Root Task"));
/// assert!(dep.to_string().contains("Root Task") && dep.to_string().contains("Test"));
/// ```
// Serde: errors travel inside task results between processes (e.g. an array block's
// `Result<Block>` computed on a worker).
#[derive(Clone, Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Error {
    /// The fetched task, or one it depends on, failed.
    #[error("{}", fmt_task_failed(*.task, root))]
    TaskFailed {
        /// The task whose result was asked for.
        task: TaskId,
        /// Where the failure started.
        root: Arc<Failure>,
    },
    /// An error returned or a panic raised by user code in a task body.
    #[error("{0}")]
    User(String),
    /// No processor can run the task (its scope is empty or names nothing that exists).
    #[error("SchedulingError: {0}")]
    Scheduling(String),
    /// The task was cancelled before it produced a result.
    #[error("InterruptException: task {task} was cancelled")]
    Cancelled {
        /// The cancelled task.
        task: TaskId,
    },
    /// A worker died or left, taking data that cannot be recomputed.
    #[error("WorkerLost: worker {worker} was lost{}", chunk.map(|c| format!(" with chunk {c}")).unwrap_or_default())]
    WorkerLost {
        /// The worker that was lost.
        worker: WorkerId,
        /// The chunk that lived only there, if one is the reason.
        chunk: Option<ChunkId>,
    },
    /// A caller passed an invalid argument (Julia's `ArgumentError`).
    #[error("ArgumentError: {0}")]
    Argument(String),
    /// Shapes or sizes that must agree do not (Julia's `DimensionMismatch`).
    #[error("DimensionMismatch: {0}")]
    DimensionMismatch(String),
    /// A matrix that must be symmetric positive definite is not: a Cholesky factorization
    /// met a pivot that is not positive.
    #[error(
        "NotPositiveDefinite: pivot {pivot} of diagonal tile ({}, {}) is not positive (the \
         leading minor of order {} is not positive definite)",
        tile[0], tile[1], column + 1
    )]
    NotPositiveDefinite {
        /// The diagonal tile (block row, block column) where the factorization stopped.
        tile: [usize; 2],
        /// The pivot's index inside that tile.
        pivot: usize,
        /// The pivot's column in the whole matrix.
        column: usize,
    },
    /// A matrix is exactly singular: an LU factorization met a zero pivot.
    #[error(
        "Singular: the matrix is exactly singular (zero pivot {pivot} of diagonal tile ({}, {}), \
         column {column})",
        tile[0], tile[1]
    )]
    Singular {
        /// The diagonal tile (block row, block column) holding the zero pivot.
        tile: [usize; 2],
        /// The pivot's index inside that tile.
        pivot: usize,
        /// The pivot's column in the whole matrix.
        column: usize,
    },
    /// A task used a handle in a way the API forbids (e.g. waiting inside a bulk region).
    #[error("ConcurrencyViolation: {0}")]
    Concurrency(String),
    /// A value could not be encoded or decoded.
    #[error("codec error: {0}")]
    Codec(String),
    /// A store has no value under this key.
    #[error("not found: {0}")]
    NotFound(String),
    /// Stored or received bytes are damaged.
    #[error("corrupt data in {what}: {detail}")]
    Corrupt {
        /// What was being read (a chunk id, a file path, a frame).
        what: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A storage backend failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// A connection failed or broke.
    #[error("transport error: {0}")]
    Transport(String),
    /// A peer sent something that breaks the wire protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A peer could not prove it knows the cluster cookie.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// A task named a registered function this process does not have.
    #[error("unknown registered function: {0}")]
    UnknownFunction(String),
    /// An operating-system I/O error, with what was being done.
    #[error("I/O error: {0}")]
    Io(String),
}

impl Error {
    /// The error at the root of a task failure (`self` for every other error).
    pub fn root_cause(&self) -> &Error {
        match self {
            Error::TaskFailed { root, .. } => root.error.root_cause(),
            e => e,
        }
    }

    /// Whether the root cause is a cancellation.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.root_cause(), Error::Cancelled { .. })
    }

    /// Whether the root cause is a scheduling error.
    pub fn is_scheduling(&self) -> bool {
        matches!(self.root_cause(), Error::Scheduling(_))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// The failure of one task: which task, and why.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The task that failed first.
    pub task: TaskId,
    /// Its name, if it was given one.
    pub name: Option<Arc<str>>,
    /// What went wrong.
    pub error: Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{} ({n}): {}", self.task, self.error),
            None => write!(f, "{}: {}", self.task, self.error),
        }
    }
}

fn fmt_task_failed(task: TaskId, root: &Failure) -> String {
    if task == root.task {
        format!("DTaskFailedException: task {root}")
    } else {
        format!("DTaskFailedException: task {task} failed because a dependency failed\n  Root Task {root}")
    }
}
