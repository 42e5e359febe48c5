//! Tasks whose body is a registered function: placed on any worker of the cluster.
//!
//! The driver keeps the task's handle; when the task is ready it is *dispatched*: placed on
//! the worker with the least estimated completion time (bytes of input that would move, plus
//! that worker's queue), then either run here without encoding anything, or sent to the
//! worker as bytes. The result stays where it was computed; the driver fetches it only when
//! someone asks for the value.
//!
//! Faults: a task keeps its *lineage* (its function and, per argument, either the encoded
//! value or the task that produced it), never the data itself. When a worker is lost, the
//! tasks running there are sent elsewhere, and a finished result that lived only there is
//! recomputed from its lineage (recursively) the next time something needs it. A task that
//! loses more workers than the retry limit fails with `WorkerLost`.

use super::protocol::{ArgRef, DoneOk, ItemRef, RunTask};
use super::Cluster;
use crate::args::{All, Arg, Args, Val};
use crate::handle::{Chunk, DTask};
use crate::lazy::Meta;
use crate::observe::TaskEventKind;
use crate::task::{Cell, HandleTracker, Header, Job, Outcome, Ready};
use bytes::Bytes;
use dagger_core::{ChunkId, Error, ProcessorId, Result, Scope, WorkerId};
use parking_lot::Mutex;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Where a piece of data lives and how big it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// The worker holding it.
    pub owner: WorkerId,
    /// Its size in bytes.
    pub size: u64,
}

/// Where a finished result is.
#[derive(Clone, Debug)]
pub(crate) struct Location {
    pub owner: WorkerId,
    pub size: u64,
    pub thread: u32,
    pub inline: Option<Bytes>,
}

/// What a task needs to be run again: per argument, the encoded value or the task that
/// produces it.
#[derive(Clone)]
pub enum LineageArg {
    /// The argument's encoded value.
    Inline(Bytes),
    /// The task whose result is the argument.
    Task(Arc<dyn Recompute>),
    /// A list argument (`All`): each element's own lineage, in order. Elements are
    /// `Inline` or `Task`; a list inside a list is refused when the task is launched.
    List(Vec<LineageArg>),
}

impl LineageArg {
    /// Appends where this argument's data is (for a list: every element's site).
    fn sites(&self, out: &mut Vec<Site>) {
        match self {
            LineageArg::Inline(_) => {}
            LineageArg::Task(t) => out.extend(t.site()),
            LineageArg::List(items) => items.iter().for_each(|i| i.sites(out)),
        }
    }

    /// The chunk of a task this argument reads that lives on `worker`, if any.
    fn chunk_on(&self, worker: WorkerId) -> Option<ChunkId> {
        match self {
            LineageArg::Inline(_) => None,
            LineageArg::Task(t) => t
                .site()
                .is_some_and(|s| s.owner == worker)
                .then(|| t.chunk_id()),
            LineageArg::List(items) => items.iter().find_map(|i| i.chunk_on(worker)),
        }
    }

    /// Calls `then` with where the argument's bytes can be fetched: inline bytes at once, a
    /// task's result once it is available again (recomputed if its worker was lost), a list
    /// once every element is (or with the first element's error).
    fn locate(self, then: Waiter) {
        match self {
            LineageArg::Inline(b) => then(Ok(ArgRef::Inline(b))),
            LineageArg::Task(t) => t.ensure(then),
            LineageArg::List(items) => gather(
                items,
                Box::new(move |r| {
                    then(r.and_then(|refs| {
                        refs.into_iter()
                            .map(ItemRef::try_from)
                            .collect::<Result<Vec<_>>>()
                            .map(ArgRef::List)
                    }))
                }),
            ),
        }
    }
}

/// Locates every argument of `args` (see [`LineageArg::locate`]), then calls `then` once
/// with all their references in order, or with the first error that arrived.
fn gather(args: Vec<LineageArg>, then: Box<dyn FnOnce(Result<Vec<ArgRef>>) + Send>) {
    let n = args.len();
    if n == 0 {
        return then(Ok(Vec::new()));
    }
    let slots: Arc<Mutex<Gathering>> = Arc::new(Mutex::new((vec![None; n], n, None)));
    let then = Arc::new(Mutex::new(Some(then)));
    for (i, a) in args.into_iter().enumerate() {
        let (slots, then) = (slots.clone(), then.clone());
        a.locate(Box::new(move |r: Result<ArgRef>| {
            let finished = {
                let mut g = slots.lock();
                match r {
                    Ok(r) => g.0[i] = Some(r),
                    Err(e) => g.2 = g.2.take().or(Some(e)),
                }
                g.1 -= 1;
                (g.1 == 0).then(|| (std::mem::take(&mut g.0), g.2.take()))
            };
            if let Some((refs, err)) = finished {
                if let Some(f) = then.lock().take() {
                    f(match err {
                        Some(e) => Err(e),
                        // Every slot was filled: no error arrived.
                        None => Ok(refs.into_iter().flatten().collect()),
                    });
                }
            }
        }));
    }
}

/// A result that can be made available again after the worker holding it was lost.
pub trait Recompute: Send + Sync {
    /// The chunk it produces.
    fn chunk_id(&self) -> ChunkId;
    /// Where its data is now (for placement).
    fn site(&self) -> Option<Site>;
    /// Calls `then` with where the result's bytes can be fetched, recomputing it first if the
    /// worker holding it is gone.
    fn ensure(self: Arc<Self>, then: Box<dyn FnOnce(Result<ArgRef>) + Send>);
}

/// An argument that can also travel to another process.
pub trait RemoteArg: Arg {
    /// Where its data is (`None`: a plain value, sent along).
    fn site(&self) -> Option<Site>;
    /// Appends where all of its data is: one site for a single value, one per element for
    /// a list (`All`), none for a plain value.
    fn sites(&self, out: &mut Vec<Site>) {
        out.extend(self.site());
    }
    /// The error of a failed dependency.
    fn failure(&self) -> Option<Error>;
    /// How to get it again: its encoded value, or the task that makes it.
    fn lineage(&self) -> Result<LineageArg>;
}

/// A tuple of [`RemoteArg`]s.
pub trait RemoteArgs: Args {
    /// Every argument's site.
    fn sites(&self, out: &mut Vec<Site>);
    /// The first failed dependency's error.
    fn failure(&self) -> Option<Error>;
    /// Every argument's lineage.
    fn lineage(&self) -> Result<Vec<LineageArg>>;
}

fn encode_value<T: Serialize>(v: &T) -> Result<LineageArg> {
    postcard::to_allocvec(v)
        .map(|b| LineageArg::Inline(Bytes::from(b)))
        .map_err(|e| Error::Codec(format!("argument {}: {e}", std::any::type_name::<T>())))
}

impl<T: Serialize + Send + 'static> RemoteArg for Val<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        None
    }
    fn lineage(&self) -> Result<LineageArg> {
        encode_value(&self.0)
    }
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RemoteArg for DTask<T> {
    fn site(&self) -> Option<Site> {
        Some(self.site())
    }
    fn failure(&self) -> Option<Error> {
        self.job().error()
    }
    fn lineage(&self) -> Result<LineageArg> {
        if let Some(r) = self.cell.clone().recompute() {
            return Ok(LineageArg::Task(r));
        }
        match self.cell.result() {
            Some(Ok(v)) => encode_value(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::Scheduling(format!(
                "argument {} was not ready",
                self.id()
            ))),
        }
    }
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RemoteArg for Chunk<T> {
    fn site(&self) -> Option<Site> {
        Some(self.task().site())
    }
    fn failure(&self) -> Option<Error> {
        RemoteArg::failure(self.task())
    }
    fn lineage(&self) -> Result<LineageArg> {
        self.task().lineage()
    }
}

/// A list travels by reference: each element as a `DTask` would (the task that made it
/// when it lives on a worker, its encoding when the driver holds it); nothing is fetched.
impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RemoteArg for All<T> {
    /// A list has no single site; see [`sites`](RemoteArg::sites).
    fn site(&self) -> Option<Site> {
        None
    }
    fn sites(&self, out: &mut Vec<Site>) {
        out.extend(self.0.iter().map(DTask::site));
    }
    fn failure(&self) -> Option<Error> {
        self.0.iter().find_map(|t| t.job().error())
    }
    fn lineage(&self) -> Result<LineageArg> {
        self.0
            .iter()
            .map(RemoteArg::lineage)
            .collect::<Result<_>>()
            .map(LineageArg::List)
    }
}

impl<T: Send + Sync + 'static> RemoteArg for Meta<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        self.0.job().error()
    }
    fn lineage(&self) -> Result<LineageArg> {
        Err(Error::Scheduling(
            "a meta argument (a Chunk) cannot leave the driver".into(),
        ))
    }
}

impl<T: Send + Sync + 'static> DTask<T> {
    /// Where this task's result is (its owner and size).
    pub fn site(&self) -> Site {
        match self.cell.location() {
            Some(l) => Site {
                owner: l.owner,
                size: l.size,
            },
            None => Site {
                owner: self.worker,
                size: match self.cell.result() {
                    Some(Ok(v)) => crate::size::size_of_value(v),
                    _ => 0,
                },
            },
        }
    }
}

macro_rules! remote_tuple {
    ($($n:ident $v:ident),*) => {
        #[allow(unused_variables, clippy::unused_unit)]
        impl<$($n: RemoteArg),*> RemoteArgs for ($($n,)*) {
            fn sites(&self, out: &mut Vec<Site>) {
                let ($($v,)*) = self;
                $($v.sites(out);)*
            }
            fn failure(&self) -> Option<Error> {
                let ($($v,)*) = self;
                None$(.or_else(|| $v.failure()))*
            }
            fn lineage(&self) -> Result<Vec<LineageArg>> {
                let ($($v,)*) = self;
                Ok(vec![$($v.lineage()?),*])
            }
        }
    };
}
remote_tuple!();
remote_tuple!(A a);
remote_tuple!(A a, B b);
remote_tuple!(A a, B b, C c);
remote_tuple!(A a, B b, C c, D d);
remote_tuple!(A a, B b, C c, D d, E e);
remote_tuple!(A a, B b, C c, D d, E e, F f);

/// Told how a task sent to a worker ended there.
pub(crate) trait Completer: Send + Sync {
    /// It finished (`Ok`) or failed on worker `owner`; `WorkerLost` errors are retried.
    fn done(self: Arc<Self>, owner: WorkerId, outcome: Result<DoneOk>) -> Ready;
}

type Waiter = Box<dyn FnOnce(Result<ArgRef>) + Send>;

/// Arguments being located for a launch: each one's reference, how many are still
/// outstanding, and the first error.
type Gathering = (Vec<Option<ArgRef>>, usize, Option<Error>);

/// Where a remote task's data is.
enum Data {
    /// Not computed yet.
    Pending,
    /// Here (driver) or on a worker.
    At(Location),
    /// Being computed again; these want to know where it ends up.
    Recomputing(Vec<Waiter>),
}

/// A registered-function task, as the driver holds it.
pub(crate) struct RemoteTask<A: Args, R> {
    header: Header,
    cluster: Arc<Cluster>,
    func: &'static str,
    local: fn(A::Values) -> R,
    scope: Scope,
    /// The typed arguments, until the first dispatch takes them.
    args: Mutex<Option<A>>,
    /// Kept while the task runs remotely, so a retry can still run it here.
    held: Mutex<Option<A>>,
    /// How to run it again, without holding any data.
    lineage: Mutex<Option<Vec<LineageArg>>>,
    data: Mutex<Data>,
    value: OnceLock<Outcome<R>>,
    attempts: AtomicU32,
    /// Whether its body ran here (in the driver), so `Started` was reported for it.
    ran_here: AtomicBool,
    /// User-visible handles; at zero the data is released (the lineage stays).
    handles: AtomicUsize,
    /// This task itself, for the paths that only get `&self`.
    me: std::sync::Weak<Self>,
    /// The worker whose loss started the current recomputation.
    lost_from: Mutex<Option<WorkerId>>,
}

impl<A, R> RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// A task not yet dispatched.
    pub fn new(
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
        })
    }

    fn fail_with(&self, e: Error) -> Ready {
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

    fn arg_ref(&self, loc: &Location) -> ArgRef {
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
            let _current = crate::cancel::enter(h);
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
    fn launch(self: &Arc<Self>, remote_only: bool) -> Ready {
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
                            func: me.func.to_string(),
                            args,
                            inline_limit: me.cluster.inline_limit,
                            threads: me.cluster.allowed_threads(target, &me.scope),
                            name: me.header.name.as_deref().map(str::to_string),
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
                        match me.cluster.submit(target, run, c) {
                            Ok(()) => Ready::new(),
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
    fn lost(self: Arc<Self>, e: Error) -> Ready {
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
        let Some(args) = self.args.lock().take() else {
            return Ready::new();
        };
        if let Some(e) = args.failure() {
            return self.fail_with(e);
        }
        if self.header.cancelled.load(Ordering::Acquire) {
            return self.fail_with(Error::Cancelled {
                task: self.header.id,
            });
        }
        let _span = tracing::trace_span!(target: "dagger", "scheduler", task = self.header.id.0,
            name = self.header.name.as_deref(), timeline = "scheduler")
        .entered();
        match args.lineage() {
            Ok(l) => *self.lineage.lock() = Some(l),
            Err(e) => return self.fail_with(e),
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
        if matches!(self.value.get(), Some(Err(_))) {
            // Cancelled or failed meanwhile: the worker's result is not wanted.
            if outcome.is_ok() {
                self.cluster.release(ChunkId(self.header.id.0));
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
            Err(e @ Error::WorkerLost { .. }) => self.lost(e),
            Err(e) => self.fail_with(e),
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

    fn ensure(self: Arc<Self>, then: Box<dyn FnOnce(Result<ArgRef>) + Send>) {
        if let Some(Err(e)) = self.value.get() {
            return then(Err(e.clone()));
        }
        let mut data = self.data.lock();
        match &mut *data {
            Data::At(loc) => {
                let alive = loc.inline.is_some()
                    || loc.owner == self.cluster.driver
                    || self.cluster.is_alive(loc.owner);
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

impl<A, R> Cell<R> for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn result(&self) -> Option<&Outcome<R>> {
        if let Some(v) = self.value.get() {
            return Some(v);
        }
        if !self.header.is_done() {
            return None;
        }
        // The value lives on a worker: fetch it now, once (recomputing it if that worker is
        // gone; a worker lost between finding and fetching is retried).
        let me = self.me.upgrade()?;
        let mut last = Error::WorkerLost {
            worker: WorkerId(0),
            chunk: Some(ChunkId(self.header.id.0)),
        };
        for _ in 0..=self.cluster.max_retries {
            let (tx, rx) = std::sync::mpsc::channel();
            me.clone().ensure(Box::new(move |r| {
                let _ = tx.send(r);
            }));
            let bytes = match rx.recv().unwrap_or(Err(last.clone())) {
                Ok(ArgRef::Inline(b)) => Ok(b),
                Ok(ArgRef::Chunk { id, owner }) => self.cluster.fetch(owner, id),
                // `ensure` of a task only ever answers with one value.
                Ok(ArgRef::List(_)) => Err(Error::Scheduling(format!(
                    "the result of {} was located as a list",
                    self.header.id
                ))),
                Err(e) => Err(e),
            };
            match bytes {
                Err(e @ Error::WorkerLost { .. }) => last = e,
                other => {
                    let v = other.and_then(|b| {
                        postcard::from_bytes::<R>(&b).map_err(|e| {
                            Error::Codec(format!(
                                "result of {} as {}: {e}",
                                self.header.id,
                                std::any::type_name::<R>()
                            ))
                        })
                    });
                    let _ = self.value.set(v.map_err(|e| self.header.failure(e)));
                    return self.value.get();
                }
            }
        }
        let _ = self.value.set(Err(self.header.failure(last)));
        self.value.get()
    }

    fn job(self: Arc<Self>) -> Arc<dyn Job> {
        self
    }

    fn location(&self) -> Option<Location> {
        match &*self.data.lock() {
            Data::At(l) => Some(l.clone()),
            _ => None,
        }
    }

    fn recompute(self: Arc<Self>) -> Option<Arc<dyn Recompute>> {
        match &*self.data.lock() {
            Data::At(l) if l.owner == self.cluster.driver => None,
            _ => Some(self.clone()),
        }
    }

    fn tracker(self: Arc<Self>) -> Option<Arc<dyn HandleTracker>> {
        Some(self)
    }
}

impl<A, R> HandleTracker for RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn retain(&self) {
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    fn release_handle(&self) {
        if self.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Data::At(l) = &*self.data.lock() {
                if l.owner != self.cluster.driver {
                    self.cluster.release(ChunkId(self.header.id.0));
                }
            }
        }
    }
}

impl<A: Args, R> Drop for RemoteTask<A, R> {
    fn drop(&mut self) {
        if let Data::At(l) = &*self.data.lock() {
            if l.owner != self.cluster.driver && self.handles.load(Ordering::Relaxed) > 0 {
                self.cluster.release(ChunkId(self.header.id.0));
            }
        }
    }
}
