//! One thunk as the graph walk sees it: a [`Node`] (its id, body and the slot of its task
//! in the computation that uses it), the [`Memo`] of one computation, and the traits a
//! thunk is seen through ([`AnyThunk`] by the walk, [`ThunkArg`] as another's argument,
//! [`TypedThunk`] by its handle and its consumers, [`Body`] by the spawn).

use crate::context::state::Context;
use crate::handle::DTask;
use crate::id_hash::IdHasher;
use dagger_core::Options;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

static NEXT_THUNK: AtomicU64 = AtomicU64::new(1);

/// The id of the next computation (`submit` call); 0 is never used, so it marks "none".
static NEXT_COMPUTATION: AtomicU64 = AtomicU64::new(1);

/// The options of a thunk made without any: shared, so such a thunk stores none.
static DEFAULT_OPTIONS: LazyLock<Options> = LazyLock::new(Options::default);

/// The tasks spawned so far in one computation.
///
/// Each thunk keeps the task of the computation that uses it in its own slot, tagged with
/// the computation's id: no map entry and no box per thunk (the boxes, and the map's
/// rehashing, made a lazy computation several times dearer per task than an eager spawn).
/// Only when two computations overlap on one thunk does the later one keep its task here,
/// by thunk id.
pub struct Memo {
    computation: u64,
    overflow: HashMap<u64, Box<dyn Any + Send + Sync>, BuildHasherDefault<IdHasher>>,
    /// How many thunks gave their task to their last consumer and let go of their slot
    /// (see [`Node::take_in`]): when all but the root did, the walk's end has nothing
    /// else to let go of.
    released: AtomicUsize,
}

impl Memo {
    /// The memo of a new computation.
    pub(super) fn new() -> Memo {
        Memo {
            computation: NEXT_COMPUTATION.fetch_add(1, Ordering::Relaxed),
            overflow: HashMap::default(),
            released: AtomicUsize::new(0),
        }
    }

    /// How many thunks let go of their slot in this computation.
    pub(super) fn released(&self) -> usize {
        self.released.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Memo(computation {}, {} overflow tasks)",
            self.computation,
            self.overflow.len()
        )
    }
}

/// A thunk as an argument of another (or as the root of a computation): what the walk
/// holds for each input, borrowed from the argument itself. Why not a list of the inputs
/// in each node: it held every input a second time (an `Arc` clone per edge when the graph
/// is built, and its release when it goes) and made every node 40 bytes larger.
pub trait ThunkArg: Send + Sync {
    /// The thunk.
    fn node(&self) -> &dyn AnyThunk;
    /// Spawns it in `memo`'s computation (see [`AnyThunk::submit`]).
    fn submit(&self, ctx: &Context, memo: &mut Memo) -> bool;
}

/// A thunk of any result type, as the graph walk sees it.
pub trait AnyThunk: Send + Sync {
    /// The thunk's id.
    fn id(&self) -> u64;
    /// Calls `f` with each thunk among its arguments, in order.
    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg));
    /// Spawns it (its inputs are already spawned in `memo`); false if it already was.
    fn submit(self: Arc<Self>, ctx: &Context, memo: &mut Memo) -> bool;
    /// Whether it is spawned in `memo`'s computation.
    fn spawned_in(&self, memo: &Memo) -> bool;
    /// Drops its task of `memo`'s computation (the computation's walk is over).
    fn forget(&self, memo: &Memo);
    /// Counts one more (`true`) or one fewer (`false`) live thunk taking this one as an
    /// input (see [`Node::take_in`]). Thunks that count nothing are always safe: their
    /// task is then let go of at the walk's end.
    #[doc(hidden)]
    fn count_consumer(&self, _more: bool) {}
}

/// A thunk of result type `T`, as its handle and its consumers see it.
pub(super) trait TypedThunk<T>: AnyThunk {
    /// Its task in `memo`'s computation, if spawned.
    fn task_in(&self, memo: &Memo) -> Option<DTask<T>>;
    /// Its task in `memo`'s computation for the spawn of one of its consumers, given up
    /// (not cloned) to the last of them.
    fn take_in(&self, memo: &Memo) -> Option<DTask<T>>;
    /// The options it was made with.
    fn options(&self) -> &Options;
}

/// How a thunk's task is spawned: its function and lazy arguments.
pub(super) trait Body<T>: Send + Sync + Sized + 'static {
    /// Calls `f` with each thunk among its arguments, in order.
    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg));
    /// Spawns `node`'s task in `memo`'s computation.
    fn spawn(node: &Arc<Node<T, Self>>, ctx: &Context, memo: &Memo) -> DTask<T>;
}

/// What only some thunks have: options other than the defaults, and the task that
/// `persist` or `cache` keeps. Boxed apart, so that the common thunk (default options) is
/// small: a lazy graph allocates one node per task on top of the task itself.
struct Extra<T> {
    opts: Options,
    kept: Mutex<Option<DTask<T>>>,
}

/// One thunk: one allocation holding its function and arguments (they were four: the node,
/// a boxed spawner, the shared function and the input vector); its inputs are the thunks
/// among the arguments.
pub(super) struct Node<T, B: Body<T>> {
    id: u64,
    /// `None` for the default options.
    extra: Option<Box<Extra<T>>>,
    /// What the task runs (read by the body's spawn).
    pub(super) body: B,
    /// The computation whose task `spawned` holds (0: none), readable without the lock:
    /// the walk asks several times per node whether it is spawned.
    spawned_by: AtomicU64,
    /// Its task in computation `spawned_by` (see [`Memo`]).
    spawned: Mutex<Option<DTask<T>>>,
    /// Live thunks taking this one as an input, once per input slot.
    consumers: AtomicU32,
    /// Consumers of computation `spawned_by` that have not been spawned yet.
    uses_left: AtomicU32,
}

impl<T: Send + Sync + 'static, B: Body<T>> Node<T, B> {
    /// A new thunk, spawned by `body`.
    pub(super) fn new(opts: Options, body: B) -> Node<T, B> {
        let extra = (opts != *DEFAULT_OPTIONS).then(|| {
            Box::new(Extra {
                opts,
                kept: Mutex::new(None),
            })
        });
        body.visit_inputs(&mut |i| i.node().count_consumer(true));
        Node {
            id: NEXT_THUNK.fetch_add(1, Ordering::Relaxed),
            extra,
            body,
            spawned_by: AtomicU64::new(0),
            spawned: Mutex::new(None),
            consumers: AtomicU32::new(0),
            uses_left: AtomicU32::new(0),
        }
    }

    /// The options it was made with.
    pub(super) fn opts(&self) -> &Options {
        match &self.extra {
            Some(e) => &e.opts,
            None => &DEFAULT_OPTIONS,
        }
    }

    /// Records `task` as its task in `memo`'s computation.
    fn record(&self, memo: &mut Memo, task: DTask<T>) {
        // The slot is claimed first, so a computation that finds it taken by another one
        // uses its overflow map instead.
        let claimed = self
            .spawned_by
            .compare_exchange(0, memo.computation, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if claimed {
            // Every consumer of this computation is alive and counted (the graph below the
            // root is fixed); consumers outside it only make the count larger, never
            // smaller, so the task is at worst kept to the walk's end.
            self.uses_left
                .store(self.consumers.load(Ordering::Acquire), Ordering::Relaxed);
            *self.spawned.lock() = Some(task);
        } else {
            memo.overflow.insert(self.id, Box::new(task));
        }
    }
}

impl<T: Send + Sync + 'static, B: Body<T>> TypedThunk<T> for Node<T, B> {
    fn task_in(&self, memo: &Memo) -> Option<DTask<T>> {
        if self.spawned_by.load(Ordering::Acquire) == memo.computation {
            return self.spawned.lock().clone();
        }
        memo.overflow
            .get(&self.id)
            .and_then(|b| b.downcast_ref::<DTask<T>>())
            .cloned()
    }

    /// Why: the walk keeps each thunk's task in its slot until every consumer is spawned;
    /// letting go of them all at the end was one more pass over every node and every task
    /// (whose reference counts the pool threads had just written: a cache miss each, an
    /// eighth of the spawning thread's time). The last consumer takes the task instead, and
    /// the slot is free at once. No later spawn of this computation asks for it: each of
    /// its consumers is spawned once, and the walk has no copy of it left to visit (those
    /// its consumers pushed are visited before they are spawned).
    fn take_in(&self, memo: &Memo) -> Option<DTask<T>> {
        if self.spawned_by.load(Ordering::Acquire) != memo.computation {
            return self.task_in(memo);
        }
        // Only the computation that owns the slot counts its uses (one thread, its walk).
        let left = self.uses_left.load(Ordering::Relaxed);
        if left != 1 {
            self.uses_left
                .store(left.saturating_sub(1), Ordering::Relaxed);
            return self.spawned.lock().clone();
        }
        self.uses_left.store(0, Ordering::Relaxed);
        let mut slot = self.spawned.lock();
        let task = slot.take();
        self.spawned_by.store(0, Ordering::Release);
        drop(slot);
        memo.released
            .store(memo.released.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        task
    }

    fn options(&self) -> &Options {
        self.opts()
    }
}

impl<T: Send + Sync + 'static, B: Body<T>> AnyThunk for Node<T, B> {
    fn id(&self) -> u64 {
        self.id
    }

    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        self.body.visit_inputs(f)
    }

    fn submit(self: Arc<Self>, ctx: &Context, memo: &mut Memo) -> bool {
        if self.spawned_in(memo) {
            return false;
        }
        let Some(extra) = &self.extra else {
            let task = B::spawn(&self, ctx, memo);
            self.record(memo, task);
            return true;
        };
        if extra.opts.cache {
            let kept = extra.kept.lock().clone();
            if let Some(t) = kept.filter(|t| !matches!(t.cell.result(), Some(Err(_)))) {
                self.record(memo, t);
                return true;
            }
        }
        let task = B::spawn(&self, ctx, memo);
        if extra.opts.persist || extra.opts.cache {
            *extra.kept.lock() = Some(task.clone());
        }
        self.record(memo, task);
        true
    }

    fn spawned_in(&self, memo: &Memo) -> bool {
        self.spawned_by.load(Ordering::Acquire) == memo.computation
            || (!memo.overflow.is_empty() && memo.overflow.contains_key(&self.id))
    }

    fn forget(&self, memo: &Memo) {
        if self.spawned_by.load(Ordering::Acquire) != memo.computation {
            return;
        }
        let mut slot = self.spawned.lock();
        let task = slot.take();
        // Released while the slot is locked: a computation that claims it next waits for
        // the lock to put its task there, after this one's is gone.
        self.spawned_by.store(0, Ordering::Release);
        drop(slot);
        drop(task);
    }

    fn count_consumer(&self, more: bool) {
        if more {
            self.consumers.fetch_add(1, Ordering::AcqRel);
        } else {
            self.consumers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<T, B: Body<T>> Drop for Node<T, B> {
    fn drop(&mut self) {
        self.body
            .visit_inputs(&mut |i| i.node().count_consumer(false));
    }
}
