//! Where data is and how to reach it: a result's [`Site`] and [`Location`], the references a
//! remote task's arguments travel as ([`ArgRef`], [`ItemRef`]), and [`Recompute`], a result
//! that can be made again from its lineage.
//!
//! This is the vocabulary the task cell, the driver and the workers share, so it sits at the
//! bottom of the crate and imports nothing from it.

use bytes::Bytes;
use dagger_core::{ChunkId, Error, Result, WorkerId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

/// Where a remote task's argument is: sent along, or a chunk a worker holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ArgRef {
    /// The encoded value itself.
    Inline(Bytes),
    /// A chunk held by `owner`, fetched from it directly.
    Chunk {
        /// The chunk.
        id: ChunkId,
        /// The worker holding it.
        owner: WorkerId,
    },
    /// A list of values (an `All` argument): each element's reference, in order. The worker
    /// gives the function the postcard encoding of the whole `Vec`. Elements are never lists
    /// themselves, so decoding a frame cannot recurse without bound.
    List(Vec<ItemRef>),
}

/// Where one element of a [`ArgRef::List`] is: sent along, or a chunk a worker holds.
///
/// ```
/// use dagger_core::{ChunkId, WorkerId};
/// use dagger_sched::{ArgRef, ItemRef};
/// let one = ArgRef::Chunk { id: ChunkId(7), owner: WorkerId(2) };
/// let item = ItemRef::try_from(one).unwrap();
/// assert_eq!(item, ItemRef::Chunk { id: ChunkId(7), owner: WorkerId(2) });
/// // A list element is one value, never another list.
/// assert!(ItemRef::try_from(ArgRef::List(vec![item])).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemRef {
    /// The element's encoded value.
    Inline(Bytes),
    /// A chunk held by `owner`, fetched from it directly.
    Chunk {
        /// The chunk.
        id: ChunkId,
        /// The worker holding it.
        owner: WorkerId,
    },
}

impl TryFrom<ArgRef> for ItemRef {
    type Error = Error;
    /// A single value's reference as a list element (a list inside a list is refused).
    fn try_from(a: ArgRef) -> std::result::Result<Self, Error> {
        match a {
            ArgRef::Inline(b) => Ok(ItemRef::Inline(b)),
            ArgRef::Chunk { id, owner } => Ok(ItemRef::Chunk { id, owner }),
            ArgRef::List(_) => Err(Error::Scheduling(
                "a list argument cannot hold another list".into(),
            )),
        }
    }
}

impl From<ItemRef> for ArgRef {
    fn from(i: ItemRef) -> Self {
        match i {
            ItemRef::Inline(b) => ArgRef::Inline(b),
            ItemRef::Chunk { id, owner } => ArgRef::Chunk { id, owner },
        }
    }
}

/// Told where a result's bytes can be fetched (or why they cannot).
pub(crate) type Waiter = Box<dyn FnOnce(Result<ArgRef>) + Send>;

/// A result that can be made available again after the worker holding it was lost.
pub trait Recompute: Send + Sync {
    /// The chunk it produces.
    fn chunk_id(&self) -> ChunkId;
    /// Where its data is now (for placement).
    fn site(&self) -> Option<Site>;
    /// Calls `then` with where the result's bytes can be fetched, recomputing it first if the
    /// worker holding it is gone.
    fn ensure(self: Arc<Self>, then: Box<dyn FnOnce(Result<ArgRef>) + Send>);
    /// The driver's routing state of the task that makes it (the cluster's `forward::Route`),
    /// through which a dependent can be sent ahead to where it is being computed; `None`
    /// when dependents cannot be forwarded on it.
    fn route(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }
}
