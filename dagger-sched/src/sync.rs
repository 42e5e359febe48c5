//! Structured waiting: [`Context::sync`](crate::Context::sync) waits for what its body spawned.

use crate::executor;
use crate::task::Job;
use dagger_core::{Error, Result};
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static SCOPES: RefCell<Vec<Vec<Arc<dyn Job>>>> = const { RefCell::new(Vec::new()) };
}

/// Notes a task spawned on this thread in the innermost open sync block, if any.
pub(crate) fn record(job: &Arc<dyn Job>) {
    SCOPES.with(|s| {
        if let Some(top) = s.borrow_mut().last_mut() {
            top.push(job.clone());
        }
    });
}

pub(crate) fn run<R>(body: impl FnOnce() -> R) -> Result<R> {
    SCOPES.with(|s| s.borrow_mut().push(Vec::new()));
    let out = body();
    let jobs = SCOPES.with(|s| s.borrow_mut().pop()).unwrap_or_default();
    let mut first: Option<Error> = None;
    for j in jobs {
        let h = j.header();
        executor::wait_until(&|| h.is_done(), &|p| h.add_waiter(p));
        if first.is_none() {
            first = j.error();
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
