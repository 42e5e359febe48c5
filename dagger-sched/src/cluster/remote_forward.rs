//! The task's side of forwarding (see `forward`): a registered-function task sent ahead to
//! the worker computing its inputs, and what becomes of it when that placement ends early.

use super::driver::Completer;
use super::forward::{self, Forward, Plan};
use super::lineage::RemoteArgs;
use super::protocol::RunTask;
use super::remote::RemoteTask;
use crate::observe::TaskEventKind;
use crate::task::Ready;
use dagger_core::{Error, ProcessorId};
use serde::{de::DeserializeOwned, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl<A, R> RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A task just spawned (outside any task queue): sent ahead now if its inputs are being
    /// computed on one worker, else it follows them (see `forward`, step 1).
    pub(crate) fn offer(self: Arc<Self>) {
        if forward::enabled() {
            forward::wake([self as Arc<dyn Forward>]);
        }
    }

    /// Step 1 of `forward` for this task.
    pub(super) fn try_forward(self: &Arc<Self>) {
        let h = &self.header;
        if self.value.get().is_some() || h.is_done() || h.cancelled.load(Ordering::Acquire) {
            return;
        }
        let mut route = self.route.lock();
        if route.placed.is_some() || route.forwarded {
            return;
        }
        let mut args = self.args.lock();
        let Some(a) = args.as_ref() else {
            return; // dispatched already
        };
        if a.failure().is_some() {
            return;
        }
        // Worked out once, kept for the dispatch (or the next look).
        let mut lineage = self.lineage.lock();
        if lineage.is_none() {
            match a.lineage() {
                Ok(l) => *lineage = Some(l),
                Err(_) => return, // an input that cannot travel yet: the usual path
            }
        }
        let Some(lin) = lineage.as_ref() else {
            return;
        };
        let me: std::sync::Weak<dyn Forward> = self.me.clone();
        let Plan::Go {
            worker,
            refs,
            after,
            mut inputs,
        } = forward::plan(lin, &me, self.cluster.driver, |w| self.cluster.is_alive(w))
        else {
            return;
        };
        let Some(threads) = self.cluster.fits(worker, &self.scope) else {
            return;
        };
        let run = RunTask {
            task: h.id,
            func: self.func.into(),
            args: refs,
            inline_limit: self.cluster.inline_limit,
            threads,
            name: h.name.as_deref().map(str::to_string),
            after,
        };
        let processor = match run.threads.as_slice() {
            [t] => ProcessorId::thread(worker, *t),
            _ => ProcessorId::os(worker),
        };
        let c: Arc<dyn Completer> = self.clone();
        if self.cluster.submit_forwarded(worker, run, c).is_err() {
            return;
        }
        h.observer
            .emit(h.id, &h.name, || TaskEventKind::Dispatched { processor });
        for i in inputs.iter_mut() {
            if i.placed == Some(worker) {
                i.ridden = true;
            }
        }
        drop(inputs);
        drop(lineage);
        *self.held.lock() = args.take();
        drop(args);
        let followers = route.place(worker, true);
        drop(route);
        forward::wake_followers(followers);
    }

    /// A forwarded task's dependencies have all finished: a failed one is its failure
    /// (see `forward`, step 6), as is a cancellation.
    pub(super) fn inputs_finished(self: Arc<Self>) -> Ready {
        let failed = self.held.lock().as_ref().and_then(|a| a.failure());
        if let Some(e) = failed {
            return self.fail_with(e);
        }
        if self.header.cancelled.load(Ordering::Acquire) {
            return self.fail_with(Error::Cancelled {
                task: self.header.id,
            });
        }
        Ready::new()
    }

    /// Its placement ended without a result (`lost`: its worker was lost). A task sent
    /// ahead whose dependencies have not all finished becomes undispatched again (and is
    /// forwarded anew, or dispatched when they finish); any other is retried from its
    /// lineage, counting a loss if `lost` (see `forward`, step 7).
    pub(super) fn retry(self: Arc<Self>, lost: Option<Error>) -> Ready {
        {
            let mut r = self.route.lock();
            if r.forwarded && !r.ready {
                r.forwarded = false;
                let held = self.held.lock().take();
                *self.args.lock() = held;
                drop(r);
                forward::wake([self as Arc<dyn Forward>]);
                return Ready::new();
            }
        }
        match lost {
            Some(e) => self.lost(e),
            None => {
                let remote_only = self.held.lock().is_none();
                self.launch(remote_only)
            }
        }
    }
}

impl<A, R> Forward for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn forward(self: Arc<Self>) {
        self.try_forward();
    }
}
