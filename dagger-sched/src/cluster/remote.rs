//! Tasks whose body is a registered function: the driver-side state machine of one such
//! task, placed on any worker of the cluster.
//!
//! The driver keeps the task's handle; when the task is ready it is *dispatched*: placed on
//! the worker with the least estimated completion time (see `placement`), then either run
//! here without encoding anything, or sent to the worker as bytes. The result stays where it
//! was computed; the driver fetches it only when someone asks for the value.
//!
//! Faults: the task keeps its lineage (see `lineage`), never the data itself. When a worker
//! is lost, the tasks running there are sent elsewhere, and a finished result that lived only
//! there is recomputed from its lineage (recursively) the next time something needs it. A
//! task that loses more workers than the retry limit fails with `WorkerLost`.

use super::driver::{Cluster, Completer};
use super::forward::{self, Ended, RouteCell};
use super::lineage::{gather, LineageArg, RemoteArgs};
use super::protocol::{DoneOk, RunTask};
use crate::args::Args;
use crate::observe::TaskEventKind;
use crate::site::{ArgRef, Location, Recompute, Site, Waiter};
use crate::task::{Header, Job, Outcome, Ready};
use bytes::Bytes;
use dagger_core::{ChunkId, Error, ProcessorId, Result, Scope, WorkerId};
use parking_lot::Mutex;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Where a remote task's data is.
pub(super) enum Data {
    /// Not computed yet.
    Pending,
    /// Here (driver) or on a worker.
    At(Location),
    /// Being computed again; these want to know where it ends up.
    Recomputing(Vec<Waiter>),
}

/// A registered-function task, as the driver holds it.
pub(crate) struct RemoteTask<A: Args, R> {
    pub(super) header: Header,
    pub(super) cluster: Arc<Cluster>,
    pub(super) func: &'static str,
    pub(super) local: fn(A::Values) -> R,
    pub(super) scope: Scope,
    /// The typed arguments, until the first dispatch takes them.
    pub(super) args: Mutex<Option<A>>,
    /// Kept while the task runs remotely, so a retry can still run it here.
    pub(super) held: Mutex<Option<A>>,
    /// How to run it again, without holding any data.
    pub(super) lineage: Mutex<Option<Vec<LineageArg>>>,
    pub(super) data: Mutex<Data>,
    pub(super) value: OnceLock<Outcome<R>>,
    pub(super) attempts: AtomicU32,
    /// Whether its body ran here (in the driver), so `Started` was reported for it.
    pub(super) ran_here: AtomicBool,
    /// User-visible handles; at zero the data is released (the lineage stays).
    pub(super) handles: AtomicUsize,
    /// This task itself, for the paths that only get `&self`.
    pub(super) me: std::sync::Weak<Self>,
    /// The worker whose loss started the current recomputation.
    pub(super) lost_from: Mutex<Option<WorkerId>>,
    /// In a datadeps region: the tasks that wrote what this one touches. Their failure is
    /// its failure (checked at dispatch, then let go).
    pub(super) writers: Mutex<Vec<Arc<dyn Job>>>,
    /// Where it is placed, and whether it was sent ahead of its inputs (see `forward`).
    pub(super) route: RouteCell,
}

impl<A, R> RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A task not yet dispatched.
    pub(crate) fn new(
        header: Header,
        cluster: Arc<Cluster>,
        func: &'static str,
        local: fn(A::Values) -> R,
        scope: Scope,
        args: A,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| RemoteTask {
            me: me.clone(),
            header,
            cluster,
            func,
            local,
            scope,
            args: Mutex::new(Some(args)),
            held: Mutex::new(None),
            lineage: Mutex::new(None),
            data: Mutex::new(Data::Pending),
            value: OnceLock::new(),
            attempts: AtomicU32::new(0),
            ran_here: AtomicBool::new(false),
            handles: AtomicUsize::new(0),
            lost_from: Mutex::new(None),
            writers: Mutex::new(Vec::new()),
            route: RouteCell::default(),
        })
    }

    /// Makes the failure of any of `writers` (the region's writers of what this task
    /// touches) this task's failure.
    pub(crate) fn follow_writers(&self, writers: Vec<Arc<dyn Job>>) {
        *self.writers.lock() = writers;
    }

    pub(super) fn fail_with(&self, e: Error) -> Ready {
        let ended = {
            let mut r = self.route.lock();
            let forwarded = r.forwarded;
            (r.unplace(), forwarded)
        };
        if let (
            Ended {
                worker: Some(w),
                ridden,
            },
            forwarded,
        ) = ended
        {
            // Sent ahead (it may still wait there), or waited for: called off there.
            if forwarded || ridden {
                self.cluster.cancel_on(w, self.header.id);
            }
        }
        let e = self.header.failure(e);
        let waiters = {
            let mut data = self.data.lock();
            match std::mem::replace(&mut *data, Data::Pending) {
                Data::Recomputing(w) => w,
                other => {
                    *data = other;
                    Vec::new()
                }
            }
        };
        for w in waiters {
            w(Err(e.clone()));
        }
        if self.value.set(Err(e)).is_err() || self.header.is_done() {
            return Ready::new();
        }
        self.held.lock().take();
        let h = &self.header;
        h.observer.emit(h.id, &h.name, || TaskEventKind::Finished {
            ok: false,
            started: self.ran_here.load(Ordering::Relaxed),
        });
        h.finish()
            .into_iter()
            .filter(|d| d.header().dep_done())
            .collect()
    }

    /// The result is now at `loc`: first completion finishes the task; a recomputation tells
    /// its waiters.
    fn arrived(&self, loc: Location) -> Ready {
        let r = self.arg_ref(&loc);
        let prev = std::mem::replace(&mut *self.data.lock(), Data::At(loc));
        if let Data::Recomputing(waiters) = prev {
            for w in waiters {
                w(Ok(r.clone()));
            }
        }
        if self.header.is_done() {
            return Ready::new();
        }
        self.held.lock().take();
        let h = &self.header;
        h.observer.emit(h.id, &h.name, || TaskEventKind::Finished {
            ok: true,
            started: self.ran_here.load(Ordering::Relaxed),
        });
        h.finish()
            .into_iter()
            .filter(|d| d.header().dep_done())
            .collect()
    }

    pub(super) fn arg_ref(&self, loc: &Location) -> ArgRef {
        match &loc.inline {
            Some(b) => ArgRef::Inline(b.clone()),
            None => ArgRef::Chunk {
                id: ChunkId(self.header.id.0),
                owner: loc.owner,
            },
        }
    }

    /// Runs the body here, in the driver, on a pool thread.
    fn run_here(self: &Arc<Self>, args: A, thread: u32) -> Ready {
        let h = &self.header;
        h.ran_on.store(thread, Ordering::Relaxed);
        self.ran_here.store(true, Ordering::Relaxed);
        let worker = self.cluster.driver;
        h.observer.emit(h.id, &h.name, || TaskEventKind::Started {
            processor: ProcessorId::thread(worker, thread),
        });
        let out = {
            let _current = crate::task::enter(h);
            let _span = tracing::trace_span!(target: "dagger", "compute", task = h.id.0, name = h.name.as_deref(),
                timeline = %ProcessorId::thread(worker, thread), worker = worker.0).entered();
            let local = self.local;
            match args.resolve() {
                Ok(v) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| local(v)))
                    .map_err(|p| Error::User(crate::task::panic_message(p))),
                Err(e) => Err(e),
            }
        };
        match out {
            Ok(v) => {
                let size = crate::size::size_of_value(&v);
                let _ = self.value.set(Ok(v));
                self.arrived(Location {
                    owner: worker,
                    size,
                    thread,
                    inline: None,
                })
            }
            Err(e) => self.fail_with(e),
        }
    }

    /// Sends the task (again) to a worker: resolves every argument's location, recomputing
    /// lost ones first, then submits. `remote_only` excludes the driver (no typed arguments).
    pub(super) fn launch(self: &Arc<Self>, remote_only: bool) -> Ready {
        let lineage = match self.lineage.lock().clone() {
            Some(l) => l,
            None => {
                return self.fail_with(Error::Scheduling(format!(
                    "task {} has no lineage",
                    self.header.id
                )))
            }
        };
        let mut sites = Vec::new();
        lineage.iter().for_each(|a| a.sites(&mut sites));
        let target =
            match self
                .cluster
                .choose_excluding(&self.scope, &sites, self.func, remote_only)
            {
                Ok(w) => w,
                Err(e) => {
                    // Data pinned to a lost worker cannot be made again anywhere else.
                    let recomputing = matches!(&*self.data.lock(), Data::Recomputing(_));
                    let lost = if recomputing {
                        self.lost_from.lock().take()
                    } else {
                        None
                    };
                    return self.fail_with(match (lost, e) {
                        (Some(worker), _) => Error::WorkerLost {
                            worker,
                            chunk: Some(ChunkId(self.header.id.0)),
                        },
                        // An input pinned to a lost worker: name it.
                        (
                            None,
                            Error::WorkerLost {
                                worker,
                                chunk: None,
                            },
                        ) => Error::WorkerLost {
                            worker,
                            chunk: lineage.iter().find_map(|a| a.chunk_on(worker)),
                        },
                        (None, e) => e,
                    });
                }
            };
        if target == self.cluster.driver {
            if let Some(args) = self.held.lock().take() {
                return self.run_on_driver(args);
            }
        }
        let me = self.clone();
        gather(
            lineage,
            Box::new(move |refs| {
                let ready = match refs {
                    Err(e) => me.fail_with(e),
                    Ok(args) => {
                        let run = RunTask {
                            task: me.header.id,
                            func: me.func.into(),
                            args,
                            inline_limit: me.cluster.inline_limit,
                            threads: me.cluster.allowed_threads(target, &me.scope),
                            name: me.header.name.as_deref().map(str::to_string),
                            after: Vec::new(),
                        };
                        // No message tells the driver when a worker starts a task, so it is
                        // reported when sent (before, so `Finished` cannot come first); a
                        // recomputation of a finished task is not reported again.
                        if !me.header.is_done() {
                            let processor = match run.threads.as_slice() {
                                [t] => ProcessorId::thread(target, *t),
                                _ => ProcessorId::os(target),
                            };
                            let h = &me.header;
                            h.observer
                                .emit(h.id, &h.name, || TaskEventKind::Dispatched { processor });
                        }
                        let c: Arc<dyn Completer> = me.clone();
                        // Placed under its routing lock: a dependent forwarded on it is
                        // queued in order with this run (see `forward`, step 2).
                        let sent = {
                            let mut r = me.route.lock();
                            me.cluster
                                .submit(target, run, c)
                                .map(|()| r.place(target, false))
                        };
                        match sent {
                            Ok(followers) => {
                                forward::wake_followers(followers);
                                Ready::new()
                            }
                            Err(e) => me.clone().lost(e),
                        }
                    }
                };
                me.cluster.schedule(ready);
            }),
        );
        Ready::new()
    }

    fn run_on_driver(self: &Arc<Self>, args: A) -> Ready {
        let me = self.clone();
        self.cluster.local_started();
        let threads = self
            .cluster
            .allowed_threads(self.cluster.driver, &self.scope);
        self.cluster.run_locally(threads, move |thread| {
            let ready = me.run_here(args, thread);
            me.cluster.local_finished();
            ready
        });
        Ready::new()
    }

    /// The worker running this task (or holding an input it needed) was lost: try again.
    pub(super) fn lost(self: Arc<Self>, e: Error) -> Ready {
        let n = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        if self.cluster.is_shutting_down() {
            return self.fail_with(e);
        }
        if n > self.cluster.max_retries {
            let why = Error::User(format!(
                "task {} ({}) lost {n} workers, more than the retry limit {}: last {e}",
                self.header.id, self.func, self.cluster.max_retries
            ));
            return self.fail_with(match e {
                Error::WorkerLost { .. } => e,
                _ => why,
            });
        }
        tracing::warn!(target: "dagger", "task {} retried after {e}", self.header.id);
        let remote_only = self.held.lock().is_none();
        self.launch(remote_only)
    }
}

impl<A, R> Job for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    /// Dispatch: runs inline wherever the task became ready.
    fn run(self: Arc<Self>, _worker: WorkerId, _thread: u32) -> Ready {
        if self.value.get().is_some() || self.header.is_done() {
            return Ready::new();
        }
        let args = {
            let mut r = self.route.lock();
            if r.forwarded {
                r.ready = true;
                drop(r);
                return self.inputs_finished();
            }
            // Taken under the routing lock: forwarding looks for them under it.
            self.args.lock().take()
        };
        let Some(args) = args else {
            return Ready::new();
        };
        let writers = std::mem::take(&mut *self.writers.lock());
        if let Some(e) = args
            .failure()
            .or_else(|| writers.iter().find_map(|w| w.error()))
        {
            return self.fail_with(e);
        }
        drop(writers);
        if self.header.cancelled.load(Ordering::Acquire) {
            return self.fail_with(Error::Cancelled {
                task: self.header.id,
            });
        }
        let _span = tracing::trace_span!(target: "dagger", "scheduler", task = self.header.id.0,
            name = self.header.name.as_deref(), timeline = "scheduler")
        .entered();
        // Worked out already if forwarding looked at it (it names the inputs' tasks, which
        // stay valid however they finish).
        if self.lineage.lock().is_none() {
            match args.lineage() {
                Ok(l) => *self.lineage.lock() = Some(l),
                Err(e) => return self.fail_with(e),
            }
        }
        *self.held.lock() = Some(args);
        self.launch(false)
    }

    fn fail(self: Arc<Self>, error: Error) -> Ready {
        self.fail_with(error)
    }

    fn error(&self) -> Option<Error> {
        self.value.get().and_then(|r| r.as_ref().err().cloned())
    }
}

impl<A, R> Completer for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn done(self: Arc<Self>, owner: WorkerId, outcome: Result<DoneOk>) -> Ready {
        let ended = self.route.lock().unplace();
        if ended.ridden && outcome.is_err() {
            // Tasks forwarded on this one wait for it there: they fail upstream.
            self.cluster.cancel_on(owner, self.header.id);
        }
        if matches!(self.value.get(), Some(Err(_))) {
            // Cancelled or failed meanwhile: the worker's result is not wanted.
            if outcome.is_ok() {
                self.cluster.release(ChunkId(self.header.id.0), owner);
            }
            return Ready::new();
        }
        match outcome {
            Ok(d) => {
                if !self.header.is_done() {
                    self.header.ran_on.store(d.thread, Ordering::Relaxed);
                }
                self.arrived(Location {
                    owner,
                    size: d.size,
                    thread: d.thread,
                    inline: d.inline,
                })
            }
            Err(e @ Error::WorkerLost { .. }) => self.retry(Some(e)),
            Err(e) => self.fail_with(e),
        }
    }

    fn upstream(self: Arc<Self>, owner: WorkerId) -> Ready {
        let ended = self.route.lock().unplace();
        if ended.ridden {
            self.cluster.cancel_on(owner, self.header.id);
        }
        if self.value.get().is_some() {
            return Ready::new();
        }
        // The input failed: that is this task's failure (with the input's root cause);
        // else it is being made again elsewhere, and this task goes with it.
        let failed = self.held.lock().as_ref().and_then(|a| a.failure());
        match failed {
            Some(e) => self.fail_with(e),
            None => self.retry(None),
        }
    }
}

impl<A, R> Recompute for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn chunk_id(&self) -> ChunkId {
        ChunkId(self.header.id.0)
    }

    fn site(&self) -> Option<Site> {
        match &*self.data.lock() {
            Data::At(l) => Some(Site {
                owner: l.owner,
                size: l.size,
            }),
            _ => None,
        }
    }

    fn route(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(&self.route)
    }

    fn ensure(self: Arc<Self>, then: Box<dyn FnOnce(Result<ArgRef>) + Send>) {
        if let Some(Err(e)) = self.value.get() {
            return then(Err(e.clone()));
        }
        let mut data = self.data.lock();
        match &mut *data {
            Data::At(loc) => {
                // Computed here, its value travels encoded (below): a lineage made before
                // it finished names this task even when it ran in the driver.
                let alive = loc.inline.is_some()
                    || (loc.owner != self.cluster.driver && self.cluster.is_alive(loc.owner));
                if alive {
                    let r = self.arg_ref(loc);
                    drop(data);
                    return then(Ok(r));
                }
                if loc.owner == self.cluster.driver {
                    // Computed here: re-encode the value we hold.
                    let r = self.value.get().and_then(|v| v.as_ref().ok()).map(|v| {
                        postcard::to_allocvec(v)
                            .map(|b| ArgRef::Inline(Bytes::from(b)))
                            .map_err(|e| Error::Codec(e.to_string()))
                    });
                    drop(data);
                    return then(r.unwrap_or_else(|| {
                        Err(Error::WorkerLost {
                            worker: self.cluster.driver,
                            chunk: Some(ChunkId(self.header.id.0)),
                        })
                    }));
                }
                tracing::warn!(target: "dagger", "recomputing {} lost with worker {}", self.header.id, loc.owner);
                *self.lost_from.lock() = Some(loc.owner);
                *data = Data::Recomputing(vec![then]);
            }
            Data::Recomputing(ws) => {
                ws.push(then);
                return;
            }
            Data::Pending => {
                drop(data);
                return then(Err(Error::Scheduling(format!(
                    "task {} is not finished",
                    self.header.id
                ))));
            }
        }
        drop(data);
        let ready = self.launch(true);
        self.cluster.schedule(ready);
    }
}
