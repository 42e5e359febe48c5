//! Pinned values as datadeps objects: `In`/`Out`/`InOut` on a pinned value's chunk (the
//! whole value, or a view of it), so that registered-function tasks in a region, on
//! whichever worker holds the value, are ordered by what they declare.
//!
//! A pinned value is never copied: every task that names it runs in the process that holds
//! it (its chunk's scope says where), so the region has only to order them. The value's type
//! brings its own interior mutability (a `Mutex`, atomics); the region guarantees that a
//! writer runs alone among the tasks that overlap it, and readers of one version together.
//!
//! ```
//! use dagger_sched::{Context, In, InOut, Pinned};
//! use std::sync::Mutex;
//! dagger_sched::register! {
//!     fn make_log() -> Pinned<Mutex<Vec<u32>>> { Pinned::new(Mutex::new(Vec::new())) }
//!     fn push(log: Pinned<Mutex<Vec<u32>>>, v: u32) -> () {
//!         if let Some(l) = log.get() { l.lock().unwrap().push(v) }
//!     }
//!     fn length(log: Pinned<Mutex<Vec<u32>>>) -> usize {
//!         log.get().map_or(0, |l| l.lock().unwrap().len())
//!     }
//! }
//! let ctx = Context::builder().threads(2).build();
//! let log = ctx.spawn_registered(MAKE_LOG, ()).chunk().unwrap();
//! let n = ctx
//!     .datadeps(|| {
//!         for v in 0..10u32 {
//!             ctx.spawn_registered(PUSH, (InOut(log.whole()), v));
//!         }
//!         ctx.spawn_registered(LENGTH, (In(log.whole()),))
//!     })
//!     .unwrap();
//! assert_eq!(n.fetch().unwrap(), 10);
//! ```

use super::lineage::{LineageArg, RemoteArg};
use super::pinned::Pinned;
use crate::access::Declared;
use crate::args::{Arg, IntoArg};
use crate::data::{In, InOut, Out};
use crate::handle::Chunk;
use crate::site::Site;
use crate::task::Dependency;
use dagger_core::{Access, Error, Extent, Mode, ObjectId, Result, Scope};

/// Object ids of pinned values: their chunk's id with the top bit set, apart from the ids
/// [`Data`](crate::Data) values draw from their counter.
const PINNED_OBJECT: u64 = 1 << 63;

/// A pinned value's chunk, or a view of it, to declare an access on (see the module docs).
pub struct PinnedView<'a, T> {
    chunk: &'a Chunk<Pinned<T>>,
    shape: Option<[usize; 2]>,
    extent: Extent,
}

impl<T: Send + Sync + 'static> std::fmt::Debug for PinnedView<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PinnedView(chunk {}, {})", self.chunk.id(), self.extent)
    }
}

impl<T: Send + Sync + 'static> std::fmt::Debug for PinnedAccess<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PinnedAccess(chunk {}, {:?})",
            self.chunk.id(),
            self.access
        )
    }
}

impl<T: Send + Sync + 'static> Chunk<Pinned<T>> {
    /// The whole pinned value, as a datadeps object: `InOut(log.whole())`.
    pub fn whole(&self) -> PinnedView<'_, T> {
        PinnedView {
            chunk: self,
            shape: None,
            extent: Extent::Whole,
        }
    }

    /// A part of the pinned value, seen as a `rows × cols` matrix (`shape`), as a datadeps
    /// object: accesses to disjoint parts do not order each other. An extent outside
    /// `shape` is an [`Error::Argument`] when the task is spawned.
    pub fn view(&self, shape: [usize; 2], extent: Extent) -> PinnedView<'_, T> {
        PinnedView {
            chunk: self,
            shape: Some(shape),
            extent,
        }
    }
}

/// The argument an access to a pinned value becomes: the value's chunk (the task receives
/// the [`Pinned`] handle and runs where it lives) plus the declared access.
pub struct PinnedAccess<T> {
    chunk: Chunk<Pinned<T>>,
    access: Access,
    shape: Option<[usize; 2]>,
}

impl<T: Send + Sync + 'static> PinnedAccess<T> {
    fn new(v: PinnedView<'_, T>, mode: Mode) -> Self {
        PinnedAccess {
            chunk: v.chunk.clone(),
            access: Access {
                object: ObjectId(PINNED_OBJECT | v.chunk.id().0),
                extent: v.extent,
                mode,
            },
            shape: v.shape,
        }
    }
}

impl<T: Send + Sync + 'static> Arg for PinnedAccess<T> {
    type Value = Pinned<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        self.chunk.visit(f)
    }
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        let checked = self.access.extent.check(self.shape).map_err(|e| match e {
            Error::Argument(m) => Error::Argument(format!("pinned chunk {}: {m}", self.chunk.id())),
            other => other,
        });
        f(checked.map(|()| Declared {
            access: self.access.clone(),
            shape: self.shape,
            lock: None,
        }))
    }
    fn resolve(self) -> Result<Pinned<T>> {
        self.chunk.resolve()
    }
}

impl<T: Send + Sync + 'static> RemoteArg for PinnedAccess<T> {
    fn site(&self) -> Option<Site> {
        RemoteArg::site(&self.chunk)
    }
    fn failure(&self) -> Option<Error> {
        RemoteArg::failure(&self.chunk)
    }
    fn lineage(&self) -> Result<LineageArg> {
        RemoteArg::lineage(&self.chunk)
    }
}

/// An access already made (code that picks the mode at run time builds these first).
impl<T: Send + Sync + 'static> IntoArg for PinnedAccess<T> {
    type Arg = PinnedAccess<T>;
    fn into_arg(self) -> PinnedAccess<T> {
        self
    }
}

macro_rules! pinned_access {
    ($($wrap:ident => $mode:ident),*) => {$(
        impl<T: Send + Sync + 'static> IntoArg for $wrap<PinnedView<'_, T>> {
            type Arg = PinnedAccess<T>;
            fn into_arg(self) -> PinnedAccess<T> {
                PinnedAccess::new(self.0, Mode::$mode)
            }
        }
    )*};
}
pinned_access!(In => In, Out => Out, InOut => InOut);
