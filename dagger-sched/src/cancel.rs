//! Cooperative cancellation from inside a running task.
//!
//! Rust cannot interrupt a thread, so cancelling a running task completes its handle at once
//! (fetch returns `Cancelled`, dependents fail) and tells the body through
//! [`is_cancelled`]; [`sleep`] is a sleep that ends early when the task is cancelled.

use crate::task::with_current;
use dagger_core::{Error, Result, TaskId};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The id of the task running on this thread, if any.
pub fn current_task() -> Option<TaskId> {
    with_current(|h| h.map(|h| h.id))
}

/// Whether the task running on this thread has been cancelled.
pub fn is_cancelled() -> bool {
    with_current(|h| h.is_some_and(|h| h.cancelled.load(Ordering::Acquire)))
}

/// Sleeps for `d`, returning `Err(Cancelled)` early if the running task is cancelled.
///
/// ```
/// let t0 = std::time::Instant::now();
/// dagger_sched::sleep(std::time::Duration::from_millis(5)).unwrap(); // outside a task: plain sleep
/// assert!(t0.elapsed().as_millis() >= 5);
/// ```
pub fn sleep(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    loop {
        if is_cancelled() {
            let task = current_task().unwrap_or_default();
            return Err(Error::Cancelled { task });
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(5)));
    }
}
