//! Blocks written in place where they live: a [`BlockCell`] holds the current version of
//! one block in one process; a task that writes it gets a [`BlockMut`] (the version, made
//! its own), a task that reads it a [`BlockRef`] (a shared version). These are the values
//! the tasks of [`DArray::update_blocks`](crate::DArray::update_blocks) receive, in the
//! driver's threads or in a registered function on a worker.
//!
//! A version is an `Arc` of the block: a reader takes a clone (no copy), and a writer copies
//! the block only if a reader or an older chunk still shares the version it writes
//! (`Arc::make_mut`). On a worker a cell is [`Pinned`]: its handle travels as an id, and a
//! [`BlockMut`] decoded there names the cell, and locks it (with the task's other written
//! cells, in cell order) when the task first uses it; a cell that is not there, because
//! its worker was lost, is a decoding error, and the task fails with it. A [`BlockRef`]
//! travels as the block's bytes.
//!
//! ```
//! use dagger_array::resident::{BlockCell, BlockMut};
//! use dagger_array::Block;
//! use dagger_core::Extent;
//! let cell = BlockCell::<f64>::new(Block::Dense(ndarray::ArrayD::zeros(vec![2, 2])));
//! let before = cell.read(Extent::Whole);
//! let mut w: BlockMut<f64> = cell.write(Extent::Whole);
//! w[[0, 1]] = 5.0; // the reader's version is shared, so the writer copied it
//! drop(w);
//! assert_eq!((before[[0, 1]], cell.read(Extent::Whole)[[0, 1]]), (0.0, 5.0));
//! ```

use crate::block::Block;
use crate::mem::{held, Held};
use crate::scalar::Scalar;
use dagger_core::Extent;
use dagger_sched::datadeps::ObjectLock;
use dagger_sched::Pinned;
use ndarray::ArrayD;
use parking_lot::lock_api::ArcRwLockWriteGuard;
use parking_lot::{RawRwLock, RwLock};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use std::any::Any;
use std::cell::OnceCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A version of a block, dense (sparse blocks are made dense when they enter a cell).
type Version<T> = Arc<Held<T>>;

/// The dense version of `b` (itself when it is dense already).
fn dense<T: Scalar>(b: Version<T>) -> Version<T> {
    match &**b {
        Block::Dense(_) => b,
        sparse => held(Block::Dense(sparse.to_dense())),
    }
}

/// The array of a dense version.
fn array<T: Scalar>(b: &Held<T>) -> &ArrayD<T> {
    match &**b {
        Block::Dense(a) => a,
        // Every version in a cell, a `BlockRef` or a `BlockMut` went through `dense`.
        _ => unreachable!("a resident block version is dense"),
    }
}

/// The error of a block whose task changed its shape.
pub(crate) fn mismatch(coords: &[usize], got: &[usize], want: &[usize]) -> dagger_core::Error {
    dagger_core::Error::DimensionMismatch(format!(
        "block {coords:?} was left with shape {got:?}; its place in the grid is {want:?}"
    ))
}

/// The current version of one block, in the process where it lives.
pub struct BlockCell<T: Scalar> {
    version: Arc<RwLock<Version<T>>>,
}

impl<T: Scalar> fmt::Debug for BlockCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockCell({:?})", self.version.read().shape())
    }
}

impl<T: Scalar> BlockCell<T> {
    /// A cell holding `block` (dense from now on).
    pub fn new(block: Block<T>) -> Self {
        Self::of(held(block))
    }

    /// A cell holding a version shared with others (a chunk's block): nothing is copied
    /// until a task writes it.
    pub fn of(version: Arc<Held<T>>) -> Self {
        BlockCell {
            version: Arc::new(RwLock::new(dense(version))),
        }
    }

    /// The current version, for a task that reads `extent` of it.
    pub fn read(&self, extent: Extent) -> BlockRef<T> {
        BlockRef {
            version: self.version.read().clone(),
            extent,
        }
    }

    /// The current version, made this writer's own, for a task that writes `extent` of it
    /// (held locked until the `BlockMut` is dropped).
    pub fn write(&self, extent: Extent) -> BlockMut<T> {
        BlockMut::new(RwLock::write_arc(&self.version), extent)
    }

    /// The current version, leaving an empty block in its place (the cell is being retired:
    /// its block becomes a chunk without a copy).
    pub fn take(&self) -> Arc<Held<T>> {
        let empty = held(Block::Dense(ArrayD::zeros(vec![0])));
        std::mem::replace(&mut *self.version.write(), empty)
    }

    /// The lock a datadeps task takes before it runs (tasks writing two cells take both in
    /// object order, so they cannot deadlock).
    pub(crate) fn lock(&self) -> Arc<dyn ObjectLock> {
        self.version.clone()
    }

    /// The write permit `permit` (taken through [`BlockCell::lock`]) as a writer's block.
    pub(crate) fn write_with(&self, permit: Box<dyn Any + Send>, extent: Extent) -> BlockMut<T> {
        match permit.downcast::<ArcRwLockWriteGuard<RawRwLock, Version<T>>>() {
            Ok(g) => BlockMut::new(*g, extent),
            Err(_) => self.write(extent),
        }
    }
}

/// What a task that reads a block receives: one version of it, shared (`Deref` to the
/// dense array). It travels as the block's bytes.
pub struct BlockRef<T: Scalar> {
    version: Version<T>,
    extent: Extent,
}

impl<T: Scalar> Clone for BlockRef<T> {
    fn clone(&self) -> Self {
        BlockRef {
            version: self.version.clone(),
            extent: self.extent.clone(),
        }
    }
}

impl<T: Scalar> BlockRef<T> {
    /// The part of the block the task declared reading (on a worker, where a version
    /// arrives once for all its readers: the whole block).
    pub fn extent(&self) -> &Extent {
        &self.extent
    }

    /// The version as a block value (shared, not copied).
    pub fn version(&self) -> Arc<Held<T>> {
        self.version.clone()
    }
}

impl<T: Scalar> Deref for BlockRef<T> {
    type Target = ArrayD<T>;
    fn deref(&self) -> &ArrayD<T> {
        array(&self.version)
    }
}

impl<T: Scalar> fmt::Debug for BlockRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Scalar> Serialize for BlockRef<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&*self.version, &self.extent).serialize(s)
    }
}

impl<'de, T: Scalar> Deserialize<'de> for BlockRef<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (h, extent) = <(Held<T>, Extent)>::deserialize(d)?;
        Ok(BlockRef {
            version: dense(Arc::new(h)),
            extent,
        })
    }
}

/// What a task that writes a block receives: the block, exclusively, in place (`DerefMut`
/// to the dense array). It travels as the id of the cell it names, so it is decoded only
/// in the process holding that cell.
///
/// Decoded on a worker, it locks its cell when the task first uses one of its written
/// blocks, together with every other cell the task's arguments named for writing, in cell
/// order: two tasks writing the same two blocks, listed in opposite
/// orders, never hold one each while waiting for the other.
///
/// (The driver's datadeps tasks take their locks in object order before they run.)
pub struct BlockMut<T: Scalar> {
    guard: OnceCell<WriteGuard<T>>,
    /// The cell a decoded write names (`None`: locked when made), with its id.
    cell: Option<(u64, Arc<RwLock<Version<T>>>)>,
    extent: Extent,
}

/// The write lock of a cell, held by a [`BlockMut`].
type WriteGuard<T> = ArcRwLockWriteGuard<RawRwLock, Version<T>>;

/// The version under `guard`, made the writer's own: readers of it and the chunk it came
/// from keep theirs.
fn unshared<T: Scalar>(mut guard: WriteGuard<T>) -> WriteGuard<T> {
    Arc::make_mut(&mut guard);
    guard
}

impl<T: Scalar> BlockMut<T> {
    fn new(guard: WriteGuard<T>, extent: Extent) -> Self {
        BlockMut {
            guard: OnceCell::from(unshared(guard)),
            cell: None,
            extent,
        }
    }

    /// A write of the cell `id` decoded on this thread, locked on first use.
    fn decoded(id: u64, cell: Arc<RwLock<Version<T>>>, extent: Extent) -> Self {
        ordered::pending(id, cell.clone());
        BlockMut {
            guard: OnceCell::new(),
            cell: Some((id, cell)),
            extent,
        }
    }

    /// The part of the block the task declared writing.
    pub fn extent(&self) -> &Extent {
        &self.extent
    }

    /// The locked, unshared version.
    fn guard(&self) -> &WriteGuard<T> {
        self.guard.get_or_init(|| match &self.cell {
            Some((id, cell)) => {
                let permit = ordered::permit(*id, cell.clone());
                match permit.downcast::<WriteGuard<T>>() {
                    Ok(g) => unshared(*g),
                    Err(_) => unshared(RwLock::write_arc(cell)),
                }
            }
            // A `BlockMut` without a cell is made locked.
            None => unreachable!("a BlockMut made in place holds its lock"),
        })
    }
}

impl<T: Scalar> Drop for BlockMut<T> {
    fn drop(&mut self) {
        // Never used: its cell is not left locked, nor waiting to be.
        if let (None, Some((id, _))) = (self.guard.get(), &self.cell) {
            ordered::forget(*id);
        }
    }
}

/// The cells the writes decoded on a thread name, locked together in cell order when the
/// task first uses one (the driver's datadeps tasks take their locks in object order before
/// they run: this is the same rule for tasks decoded on a worker, where the arguments
/// decode one at a time and the body runs right after on the same thread).
mod ordered {
    use dagger_sched::datadeps::ObjectLock;
    use std::any::Any;
    use std::cell::RefCell;
    use std::sync::Arc;

    type Permit = Box<dyn Any + Send>;

    thread_local! {
        /// Cells decoded for writing on this thread, not locked yet.
        static PENDING: RefCell<Vec<(u64, Arc<dyn ObjectLock>)>> = const { RefCell::new(Vec::new()) };
        /// Write permits taken in cell order, each waiting for its `BlockMut`'s first use.
        static TAKEN: RefCell<Vec<(u64, Permit)>> = const { RefCell::new(Vec::new()) };
    }

    /// Records a write of cell `id` decoded on this thread.
    pub(super) fn pending(id: u64, lock: Arc<dyn ObjectLock>) {
        PENDING.with(|p| p.borrow_mut().push((id, lock)));
    }

    /// The write permit of cell `id`: taken earlier for it in cell order, or now, with every
    /// cell still pending on this thread, in cell order.
    pub(super) fn permit(id: u64, lock: Arc<dyn ObjectLock>) -> Permit {
        if let Some(p) = take(id) {
            return p;
        }
        let mut pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
        pending.sort_by_key(|(i, _)| *i);
        let mut mine = None;
        for (i, l) in pending {
            let g = l.acquire(true);
            if i == id && mine.is_none() {
                mine = Some(g);
            } else {
                TAKEN.with(|t| t.borrow_mut().push((i, g)));
            }
        }
        // Not pending here (a `BlockMut` moved to another thread): it locks alone.
        mine.unwrap_or_else(|| lock.acquire(true))
    }

    fn take(id: u64) -> Option<Permit> {
        TAKEN.with(|t| {
            let mut t = t.borrow_mut();
            let i = t.iter().position(|(o, _)| *o == id)?;
            Some(t.swap_remove(i).1)
        })
    }

    /// A write of cell `id` dropped unused: its permit, if taken, is released, and it is
    /// no longer pending.
    pub(super) fn forget(id: u64) {
        drop(take(id));
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if let Some(i) = p.iter().position(|(o, _)| *o == id) {
                p.swap_remove(i);
            }
        });
    }
}

impl<T: Scalar> Deref for BlockMut<T> {
    type Target = ArrayD<T>;
    fn deref(&self) -> &ArrayD<T> {
        array(self.guard())
    }
}

impl<T: Scalar> DerefMut for BlockMut<T> {
    fn deref_mut(&mut self) -> &mut ArrayD<T> {
        self.guard();
        // Unique since it was locked (the lock keeps it so): `get_mut` cannot fail.
        match self
            .guard
            .get_mut()
            .and_then(|g| Arc::get_mut(&mut **g))
            .map(|h| h.block_mut())
        {
            Some(Block::Dense(a)) => a,
            _ => unreachable!("a written block version is dense and unshared"),
        }
    }
}

impl<T: Scalar> fmt::Debug for BlockMut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The handle of a cell pinned in a worker, as it travels to tasks there: decoding it where
/// the cell is not held is an error (the task fails), never a missing block.
pub struct Resident<T: Scalar>(pub(crate) Pinned<BlockCell<T>>);

impl<T: Scalar> Clone for Resident<T> {
    fn clone(&self) -> Self {
        Resident(self.0.clone())
    }
}

impl<T: Scalar> fmt::Debug for Resident<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Resident({:?})", self.0)
    }
}

impl<T: Scalar> Resident<T> {
    /// Pins a new cell holding `version` in this process.
    pub fn pin(version: Arc<Held<T>>) -> Self {
        Resident(Pinned::new(BlockCell::of(version)))
    }

    /// The cell, in the process that holds it.
    pub fn cell(&self) -> Option<&BlockCell<T>> {
        self.0.get()
    }
}

impl<T: Scalar> Serialize for Resident<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Scalar> Deserialize<'de> for Resident<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = Pinned::<BlockCell<T>>::deserialize(d)?;
        if p.get().is_none() {
            return Err(D::Error::custom(format!(
                "block cell {:#x} is not held by this process (its worker was lost?)",
                p.id()
            )));
        }
        Ok(Resident(p))
    }
}

impl<T: Scalar> Serialize for BlockMut<T> {
    /// Never sent: a write travels as `(Resident, Extent)`, made by the argument itself.
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "a written block is not encoded: it stays where it lives",
        ))
    }
}

impl<'de, T: Scalar> Deserialize<'de> for BlockMut<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (r, extent) = <(Resident<T>, Extent)>::deserialize(d)?;
        match r.cell() {
            // Locked on first use, with the task's other written cells (in cell order).
            Some(c) => Ok(BlockMut::decoded(r.0.id(), c.version.clone(), extent)),
            None => Err(D::Error::custom("block cell vanished while decoding")),
        }
    }
}
