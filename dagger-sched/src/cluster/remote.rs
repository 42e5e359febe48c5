//! Tasks whose body is a registered function: placed on any worker of the cluster.
//!
//! The driver keeps the task's handle; when the task is ready it is *dispatched*: placed on
//! the worker with the least estimated completion time (bytes of input that would move, plus
//! that worker's queue), then either run here without encoding anything, or sent to the
//! worker as bytes. The result stays where it was computed; the driver fetches it only when
//! someone asks for the value.

use super::protocol::{ArgRef, DoneOk, RunTask};
use super::Cluster;
use crate::args::{All, Arg, Args, Val};
use crate::handle::{Chunk, DTask};
use crate::lazy::Meta;
use crate::observe::TaskEventKind;
use crate::task::{Cell, Header, Job, Outcome};
use bytes::Bytes;
use dagger_core::{ChunkId, Error, ProcessorId, Result, Scope, WorkerId};
use parking_lot::Mutex;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::atomic::Ordering;
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

/// An argument that can also travel to another process.
pub trait RemoteArg: Arg {
    /// Where its data is (`None`: a plain value, sent along).
    fn site(&self) -> Option<Site>;
    /// The error of a failed dependency.
    fn failure(&self) -> Option<Error>;
    /// How a worker gets it.
    fn to_ref(&self) -> Result<ArgRef>;
}

/// A tuple of [`RemoteArg`]s.
pub trait RemoteArgs: Args {
    /// Every argument's site.
    fn sites(&self, out: &mut Vec<Site>);
    /// The first failed dependency's error.
    fn failure(&self) -> Option<Error>;
    /// Every argument's reference.
    fn refs(&self) -> Result<Vec<ArgRef>>;
}

fn encode_value<T: Serialize>(v: &T) -> Result<ArgRef> {
    postcard::to_allocvec(v)
        .map(|b| ArgRef::Inline(Bytes::from(b)))
        .map_err(|e| Error::Codec(format!("argument {}: {e}", std::any::type_name::<T>())))
}

impl<T: Serialize + Send + 'static> RemoteArg for Val<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        None
    }
    fn to_ref(&self) -> Result<ArgRef> {
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
    fn to_ref(&self) -> Result<ArgRef> {
        match self.cell.location() {
            Some(l) if l.owner != self.worker => Ok(ArgRef::Chunk {
                id: ChunkId(self.id().0),
                owner: l.owner,
            }),
            _ => match self.cell.result() {
                Some(Ok(v)) => encode_value(v),
                Some(Err(e)) => Err(e.clone()),
                None => Err(Error::Scheduling(format!(
                    "argument {} was not ready",
                    self.id()
                ))),
            },
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
    fn to_ref(&self) -> Result<ArgRef> {
        self.task().to_ref()
    }
}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RemoteArg for All<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        self.0.iter().find_map(|t| t.job().error())
    }
    fn to_ref(&self) -> Result<ArgRef> {
        let vals: Vec<T> = self.0.iter().map(DTask::fetch).collect::<Result<_>>()?;
        encode_value(&vals)
    }
}

impl<T: Send + Sync + 'static> RemoteArg for Meta<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        self.0.job().error()
    }
    fn to_ref(&self) -> Result<ArgRef> {
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
                $(if let Some(s) = $v.site() { out.push(s); })*
            }
            fn failure(&self) -> Option<Error> {
                let ($($v,)*) = self;
                None$(.or_else(|| $v.failure()))*
            }
            fn refs(&self) -> Result<Vec<ArgRef>> {
                let ($($v,)*) = self;
                Ok(vec![$($v.to_ref()?),*])
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

/// Told when a task sent to a worker has finished there.
pub(crate) trait Completer: Send + Sync {
    fn done(&self, owner: WorkerId, outcome: Result<DoneOk>) -> Vec<Arc<dyn Job>>;
}

/// A registered-function task, as the driver holds it.
pub(crate) struct RemoteTask<A: Args, R> {
    pub header: Header,
    pub cluster: Arc<Cluster>,
    pub func: &'static str,
    pub local: fn(A::Values) -> R,
    pub scope: Scope,
    pub args: Mutex<Option<A>>,
    /// Arguments kept alive while a worker may still fetch them.
    pub held: Mutex<Option<A>>,
    pub loc: OnceLock<Location>,
    pub value: OnceLock<Outcome<R>>,
}

impl<A, R> RemoteTask<A, R>
where
    A: RemoteArgs,
    A::Values: Send,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn fail_with(&self, e: Error) -> Vec<Arc<dyn Job>> {
        if self.value.set(Err(self.header.failure(e))).is_err() {
            return Vec::new();
        }
        self.held.lock().take();
        let h = &self.header;
        h.observer
            .emit(h.id, &h.name, || TaskEventKind::Finished { ok: false });
        h.finish()
            .into_iter()
            .filter(|d| d.header().dep_done())
            .collect()
    }

    /// Runs the body here, in the driver, on a pool thread.
    fn run_here(self: &Arc<Self>, args: A, thread: u32) -> Vec<Arc<dyn Job>> {
        let h = &self.header;
        h.ran_on.store(thread, Ordering::Relaxed);
        let worker = self.cluster.driver;
        h.observer.emit(h.id, &h.name, || TaskEventKind::Started {
            processor: ProcessorId::thread(worker, thread),
        });
        let _current = crate::cancel::enter(h);
        let _span = tracing::trace_span!(target: "dagger", "compute", task = h.id.0, name = h.name.as_deref(),
            timeline = %ProcessorId::thread(worker, thread), worker = worker.0).entered();
        let local = self.local;
        let out = match args.resolve() {
            Ok(v) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| local(v)))
                .map_err(|p| Error::User(crate::task::panic_message(p))),
            Err(e) => Err(e),
        };
        match out {
            Ok(v) => {
                let size = crate::size::size_of_value(&v);
                let _ = self.value.set(Ok(v));
                self.finish_local(size, thread)
            }
            Err(e) => self.fail_with(e),
        }
    }

    fn finish_local(&self, size: u64, thread: u32) -> Vec<Arc<dyn Job>> {
        let loc = Location {
            owner: self.cluster.driver,
            size,
            thread,
            inline: None,
        };
        let _ = self.loc.set(loc);
        self.held.lock().take();
        let h = &self.header;
        h.observer
            .emit(h.id, &h.name, || TaskEventKind::Finished { ok: true });
        h.finish()
            .into_iter()
            .filter(|d| d.header().dep_done())
            .collect()
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
    fn run(self: Arc<Self>, _worker: WorkerId, _thread: u32) -> Vec<Arc<dyn Job>> {
        if self.value.get().is_some() || self.header.is_done() {
            return Vec::new();
        }
        let Some(args) = self.args.lock().take() else {
            return Vec::new();
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
        let mut sites = Vec::new();
        args.sites(&mut sites);
        let target = match self.cluster.choose(&self.scope, &sites, self.func) {
            Ok(w) => w,
            Err(e) => return self.fail_with(e),
        };
        if target == self.cluster.driver {
            let me = self.clone();
            let cluster = self.cluster.clone();
            cluster.local_started();
            cluster.run_locally(move |thread| {
                let ready = me.run_here(args, thread);
                me.cluster.local_finished();
                ready
            });
            return Vec::new();
        }
        let refs = match args.refs() {
            Ok(r) => r,
            Err(e) => return self.fail_with(e),
        };
        *self.held.lock() = Some(args);
        let run = RunTask {
            task: self.header.id,
            func: self.func.to_string(),
            args: refs,
            inline_limit: self.cluster.inline_limit,
            threads: self.cluster.allowed_threads(target, &self.scope),
        };
        let me: Arc<dyn Completer> = self.clone();
        match self.cluster.submit(target, run, me) {
            Ok(()) => Vec::new(),
            Err(e) => self.fail_with(e),
        }
    }

    fn fail(self: Arc<Self>, error: Error) -> Vec<Arc<dyn Job>> {
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
    fn done(&self, owner: WorkerId, outcome: Result<DoneOk>) -> Vec<Arc<dyn Job>> {
        if self.value.get().is_some() {
            // Cancelled (or failed) meanwhile: the worker's result is not wanted.
            if outcome.is_ok() {
                self.cluster.release(ChunkId(self.header.id.0));
            }
            return Vec::new();
        }
        match outcome {
            Ok(d) => {
                self.header.ran_on.store(d.thread, Ordering::Relaxed);
                let loc = Location {
                    owner,
                    size: d.size,
                    thread: d.thread,
                    inline: d.inline,
                };
                let _ = self.loc.set(loc);
                self.held.lock().take();
                let h = &self.header;
                h.observer
                    .emit(h.id, &h.name, || TaskEventKind::Finished { ok: true });
                h.finish()
                    .into_iter()
                    .filter(|d| d.header().dep_done())
                    .collect()
            }
            Err(e) => self.fail_with(e),
        }
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
        let loc = self.loc.get()?;
        // The value lives on a worker: fetch it now, once.
        let bytes = match &loc.inline {
            Some(b) => Ok(b.clone()),
            None => self.cluster.fetch(loc.owner, ChunkId(self.header.id.0)),
        };
        let v = bytes.and_then(|b| {
            postcard::from_bytes::<R>(&b).map_err(|e| {
                Error::Codec(format!(
                    "result of {} as {}: {e}",
                    self.header.id,
                    std::any::type_name::<R>()
                ))
            })
        });
        let _ = self.value.set(v.map_err(|e| self.header.failure(e)));
        self.value.get()
    }

    fn job(self: Arc<Self>) -> Arc<dyn Job> {
        self
    }

    fn location(&self) -> Option<Location> {
        self.loc.get().cloned()
    }
}

impl<A: Args, R> Drop for RemoteTask<A, R> {
    fn drop(&mut self) {
        if let Some(l) = self.loc.get() {
            if l.owner != self.cluster.driver {
                self.cluster.release(ChunkId(self.header.id.0));
            }
        }
    }
}
