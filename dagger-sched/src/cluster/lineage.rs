//! Lineage arguments: how a registered-function task's arguments travel to another process
//! and how they are found again after a loss.
//!
//! A task keeps its *lineage* (its function and, per argument, either the encoded value or
//! the task that produced it), never the data itself. [`RemoteArg`] says, for each kind of
//! argument (plain value, task, chunk, list), where its data is, which dependency failed, and
//! what its lineage is; [`LineageArg::locate`] turns a lineage back into the reference a
//! worker can fetch, recomputing a lost result first.

use crate::args::{All, Arg, Args, Meta, Val};
use crate::handle::{Chunk, DTask};
use crate::lineage_key::KeyHasher;
use crate::site::{ArgRef, ItemRef, Recompute, Site, Waiter};
use bytes::Bytes;
use dagger_core::{ChunkId, Error, Result, WorkerId};
use parking_lot::Mutex;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt;
use std::sync::Arc;

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

impl fmt::Debug for LineageArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineageArg::Inline(b) => write!(f, "Inline({} bytes)", b.len()),
            LineageArg::Task(t) => write!(f, "Task({})", t.chunk_id()),
            LineageArg::List(items) => f.debug_tuple("List").field(items).finish(),
        }
    }
}

impl LineageArg {
    /// Appends where this argument's data is (for a list: every element's site).
    pub(crate) fn sites(&self, out: &mut Vec<Site>) {
        match self {
            LineageArg::Inline(_) => {}
            // A result the driver holds travels inline, from anywhere alike.
            LineageArg::Task(t) => out.extend(t.site().filter(|s| s.owner != WorkerId::DRIVER)),
            LineageArg::List(items) => items.iter().for_each(|i| i.sites(out)),
        }
    }

    /// The chunk of a task this argument reads that lives on `worker`, if any.
    pub(crate) fn chunk_on(&self, worker: WorkerId) -> Option<ChunkId> {
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
    pub(crate) fn locate(self, then: Waiter) {
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
pub(crate) fn gather(args: Vec<LineageArg>, then: Box<dyn FnOnce(Result<Vec<ArgRef>>) + Send>) {
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
/// Arguments being located for a launch: each one's reference, how many are still
/// outstanding, and the first error.
type Gathering = (Vec<Option<ArgRef>>, usize, Option<Error>);

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
    /// Adds this argument to a checkpoint key: a plain value by its encoding, a handle by
    /// its task's key. `false`: it has no stable key (then neither has the task). The
    /// default has none, so an argument kind that says nothing is never checkpointed.
    fn lineage_key(&self, h: &mut KeyHasher) -> bool {
        let _ = h;
        false
    }
}

/// A tuple of [`RemoteArg`]s.
pub trait RemoteArgs: Args {
    /// Every argument's site.
    fn sites(&self, out: &mut Vec<Site>);
    /// The first failed dependency's error.
    fn failure(&self) -> Option<Error>;
    /// Every argument's lineage.
    fn lineage(&self) -> Result<Vec<LineageArg>>;
    /// Adds every argument to a checkpoint key, in order; `false` if one has no key.
    fn lineage_key(&self, h: &mut KeyHasher) -> bool {
        let _ = h;
        false
    }
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
    fn lineage_key(&self, h: &mut KeyHasher) -> bool {
        match postcard::to_allocvec(&self.0) {
            Ok(b) => {
                h.value(&b);
                true
            }
            Err(_) => false,
        }
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
    fn lineage_key(&self, h: &mut KeyHasher) -> bool {
        match &self.key {
            Some(k) => {
                h.task(k);
                true
            }
            None => false,
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
    fn lineage_key(&self, h: &mut KeyHasher) -> bool {
        RemoteArg::lineage_key(self.task(), h)
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
    fn lineage_key(&self, h: &mut KeyHasher) -> bool {
        h.list(self.0.len());
        self.0.iter().all(|t| RemoteArg::lineage_key(t, h))
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
            fn lineage_key(&self, h: &mut KeyHasher) -> bool {
                let ($($v,)*) = self;
                true $(&& RemoteArg::lineage_key($v, h))*
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
