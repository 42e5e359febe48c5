//! Helpers shared by the test modules.

use dagger_core::ProcessorId;
use dagger_sched::Context;

/// A local context with `threads` thread processors.
pub(crate) fn ctx(threads: usize) -> Context {
    Context::builder().threads(threads).build()
}

/// Thread processor `t` of `ctx`'s own worker.
pub(crate) fn thread(ctx: &Context, t: u32) -> ProcessorId {
    ProcessorId::thread(ctx.worker_id(), t)
}
