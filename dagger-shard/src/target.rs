//! Where pinned state lives: checking requested workers and processors against a context, and
//! the scope that keeps data on its processor.
//!
//! Everything here is phrased per worker (`WorkerId`) and per processor, read from the
//! context's universe, so that remote workers need no change here when they join.

use dagger_core::{Error, ProcessorId, ProcessorKind, Result, Scope, WorkerId};
use dagger_sched::Context;

/// The scope that pins data to `p`: its whole process for an OS processor (any thread of that
/// worker may use it), exactly `p` otherwise.
pub(crate) fn home_scope(p: ProcessorId) -> Scope {
    match p.kind {
        ProcessorKind::Os => Scope::Process(p.worker),
        _ => Scope::Exact(p),
    }
}

/// Every worker of the context, in order.
pub(crate) fn workers(ctx: &Context) -> Vec<WorkerId> {
    ctx.universe().workers.iter().map(|(w, _)| *w).collect()
}

/// Fails with an [`Error::Argument`] unless `w` is a worker of the context.
pub(crate) fn check_worker(ctx: &Context, w: WorkerId) -> Result<()> {
    if ctx.universe().workers.iter().any(|(id, _)| *id == w) {
        Ok(())
    } else {
        Err(Error::Argument(format!(
            "worker {w} is not part of this context (workers: {:?})",
            workers(ctx)
        )))
    }
}

/// Fails with an [`Error::Argument`] unless `p` is a processor of the context.
pub(crate) fn check_processor(ctx: &Context, p: ProcessorId) -> Result<()> {
    if ctx.processors().iter().any(|i| i.id == p) {
        Ok(())
    } else {
        Err(Error::Argument(format!(
            "processor {p} is not part of this context"
        )))
    }
}

/// The thread processors of worker `w`, in order.
pub(crate) fn threads_of(ctx: &Context, w: WorkerId) -> Vec<ProcessorId> {
    ctx.processors()
        .iter()
        .map(|i| i.id)
        .filter(|p| p.worker == w && p.kind == ProcessorKind::Thread)
        .collect()
}

/// The processors of the context that `scope` admits (used to check, when a pinned value is
/// handed to a task, that the task really runs where the value lives).
pub(crate) fn admitted(ctx: &Context, scope: &Scope) -> Vec<ProcessorId> {
    ctx.processors()
        .iter()
        .filter(|i| scope.matches(i))
        .map(|i| i.id)
        .collect()
}
