//! The bridge from the pool's synchronous API to async stores.
//!
//! The scheduler's worker threads are not async, so the pool runs store futures on one
//! small tokio runtime shared by every pool in the process, and waits for them with a plain
//! blocking wait. Waiting on a spawned task (rather than `Runtime::block_on`) works from any
//! thread, including one inside another tokio runtime, where `block_on` would panic.

use dagger_core::{Error, Result};
use std::future::Future;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static IO_RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

fn runtime() -> Result<&'static Runtime> {
    IO_RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("dagger-pool-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Storage(format!("cannot start the memory pool's I/O runtime: {e}")))
}

/// Runs `fut` on the shared I/O runtime and waits for its result.
pub(crate) fn run<T: Send + 'static>(
    fut: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let handle = runtime()?.spawn(fut);
    // Unconstrained: called from inside a tokio task (a worker's message loop removing a
    // spilled result), the join handle would draw on that task's co-operative budget,
    // which only resets when the task yields to its runtime. Once it ran out the handle
    // answered `Pending` and woke itself forever: a busy hang of the loop (issue #21).
    futures::executor::block_on(tokio::task::unconstrained(handle))
        .map_err(|e| Error::Storage(format!("memory pool I/O task failed: {e}")))?
}
