//! Values pinned in a worker process: created there, used there by reference, never copied
//! or serialized (the multi-process side of `mutable` and `Shard`).
//!
//! A registered function returns a [`Pinned<T>`]: the worker keeps the value in its table of
//! live values and the result that travels is only an id. A registered function that takes a
//! `Pinned<T>` argument on the same worker gets the very same value back. Give the result's
//! chunk the owner's scope (`chunk.with_scope(Scope::Process(w))`) and every task using it
//! runs there; a task whose scope excludes that worker fails with a `SchedulingError`.

use dagger_core::ProcessorId;
use parking_lot::Mutex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Live values of this process, by id.
type Table = Mutex<HashMap<u64, Arc<dyn Any + Send + Sync>>>;

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(Default::default)
}

static NEXT: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Ids pinned by the task running on this thread (freed with its result).
    static MADE: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
}

/// Starts noting the ids pinned by the task about to run on this thread.
pub(crate) fn begin_task() {
    MADE.with(|m| *m.borrow_mut() = Some(Vec::new()));
}

/// The ids the finished task pinned.
pub(crate) fn end_task() -> Vec<u64> {
    MADE.with(|m| m.borrow_mut().take().unwrap_or_default())
}

/// Forgets pinned values (their result was released everywhere).
pub(crate) fn unpin(ids: &[u64]) {
    let mut t = table().lock();
    for id in ids {
        t.remove(id);
    }
}

/// How many values this process holds pinned.
pub fn pinned_count() -> usize {
    table().lock().len()
}

/// A value that stays in the process that made it. Only its id is ever serialized.
///
/// ```
/// use dagger_sched::Pinned;
/// use std::sync::atomic::{AtomicI64, Ordering};
/// let p = Pinned::new(AtomicI64::new(0));
/// p.get().unwrap().fetch_add(2, Ordering::SeqCst);
/// // Through its id (as a task argument travels) it is the same value in this process:
/// let again: Pinned<AtomicI64> = postcard::from_bytes(&postcard::to_allocvec(&p).unwrap()).unwrap();
/// assert_eq!(again.get().unwrap().load(Ordering::SeqCst), 2);
/// ```
pub struct Pinned<T> {
    id: u64,
    /// The thread processor that made it (per-thread shards pick their piece by it).
    processor: Option<ProcessorId>,
    value: Option<Arc<T>>,
}

impl<T: Send + Sync + 'static> Pinned<T> {
    /// Pins `value` in this process.
    pub fn new(value: T) -> Self {
        let id = NEXT.fetch_add(1, Ordering::Relaxed) | (u64::from(std::process::id()) << 40);
        let value = Arc::new(value);
        table().lock().insert(id, value.clone());
        MADE.with(|m| {
            if let Some(v) = m.borrow_mut().as_mut() {
                v.push(id);
            }
        });
        Pinned {
            id,
            processor: crate::executor::current_processor(),
            value: Some(value),
        }
    }

    /// The thread processor that made it, if a task did.
    pub fn processor(&self) -> Option<ProcessorId> {
        self.processor
    }

    /// The value, in the process that holds it (`None` elsewhere, e.g. in the driver).
    pub fn get(&self) -> Option<&T> {
        self.value.as_deref()
    }

    /// Its id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<T> Clone for Pinned<T> {
    fn clone(&self) -> Self {
        Pinned {
            id: self.id,
            processor: self.processor,
            value: self.value.clone(),
        }
    }
}

impl<T> fmt::Debug for Pinned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Pinned({:#x}{})",
            self.id,
            if self.value.is_some() { ", here" } else { "" }
        )
    }
}

impl<T> Serialize for Pinned<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.id, self.processor).serialize(s)
    }
}

impl<'de, T: Send + Sync + 'static> Deserialize<'de> for Pinned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (id, processor) = <(u64, Option<ProcessorId>)>::deserialize(d)?;
        let value = table()
            .lock()
            .get(&id)
            .cloned()
            .and_then(|v| v.downcast::<T>().ok());
        Ok(Pinned {
            id,
            processor,
            value,
        })
    }
}

/// Among the pieces of a shard, the one local to the calling task: the piece made on this
/// thread processor if there is one, else the piece held by this process.
///
/// ```
/// use dagger_sched::{local_piece, Pinned};
/// let pieces = vec![Pinned::new(1u32), Pinned::new(2u32)];
/// assert_eq!(local_piece(&pieces), Some(&1)); // outside a task: the first held here
/// ```
pub fn local_piece<T: Send + Sync + 'static>(pieces: &[Pinned<T>]) -> Option<&T> {
    let here = crate::executor::current_processor();
    pieces
        .iter()
        .find(|p| p.value.is_some() && here.is_some() && p.processor == here)
        .or_else(|| pieces.iter().find(|p| p.value.is_some()))
        .and_then(|p| p.get())
}
