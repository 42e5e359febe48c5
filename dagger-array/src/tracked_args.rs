//! One DArray block as a datadeps object ([`TrackedBlock`]), its views, and the task
//! arguments that reading or writing it becomes: [`BlockRead`] (the task receives a
//! [`BlockRef`]) and [`BlockWrite`] (a [`BlockMut`]).
//!
//! A block lives either in this process (a [`BlockCell`] the tasks here read and write,
//! through the lock the region takes in object order), or in a cell pinned on the worker
//! that holds it (see [`crate::tracked`] for the protocol): a write then scopes its task to
//! that worker and travels as the cell's id; a read names the *export* of the block's
//! current version, one small task on the owner per version, whose result the reading
//! task's worker fetches (worker to worker) like any chunk.

use crate::element::Element;
use crate::names::named;
use crate::resident::{BlockCell, BlockMut, BlockRef, Resident};
use dagger_core::{Access, Error, Extent, Mode, ObjectId, Result, Scope, WorkerId};
use dagger_sched::datadeps::{take_permit, Declared, Tracked};
use dagger_sched::{Arg, Context, DTask, Dependency, LineageArg, RemoteArg, Site};
use parking_lot::Mutex;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where a tracked block lives.
pub(crate) enum Home<T: Element> {
    /// In this process.
    Here(Arc<BlockCell<T>>),
    /// In a cell pinned on a worker (boxed: most of a block's handle).
    Worker(Box<OnWorker<T>>),
}

/// A block pinned on a worker for the length of a region.
pub(crate) struct OnWorker<T: Element> {
    pub(crate) ctx: Context,
    pub(crate) owner: WorkerId,
    /// The cell's id (its value is here only when this process is the owner).
    pub(crate) cell: Resident<T>,
    /// The task that pinned it: the cell lives as long as its result.
    pub(crate) _pin: DTask<Result<dagger_sched::Pinned<BlockCell<T>>>>,
    /// The export of the current version, shared by every reader of that version.
    pub(crate) export: Mutex<Option<DTask<BlockRef<T>>>>,
    /// Whether a task was given write access (the block then has a new version to keep).
    pub(crate) written: AtomicBool,
}

impl<T: Element> Drop for OnWorker<T> {
    fn drop(&mut self) {
        // A cell pinned in this process by a task run here stays in the process's table:
        // empty it, so that it keeps no block alive.
        if let Some(c) = self.cell.cell() {
            c.take();
        }
    }
}

/// One block of a DArray as a datadeps object (`b[[i, j]]` of
/// [`TrackedBlocks`](crate::TrackedBlocks)): `In(&block)`, `InOut(&block)`, and views
/// (`InOut(&block.upper(true))`).
pub struct TrackedBlock<T: Element> {
    pub(crate) id: ObjectId,
    pub(crate) shape: Option<[usize; 2]>,
    pub(crate) coords: Vec<usize>,
    pub(crate) home: Home<T>,
}

impl<T: Element> std::fmt::Debug for TrackedBlock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.home {
            Home::Here(_) => write!(f, "TrackedBlock({:?}, here)", self.coords),
            Home::Worker(w) => write!(f, "TrackedBlock({:?}, on {})", self.coords, w.owner),
        }
    }
}

/// The `[rows, columns]` a block's views are checked against (a vector is `[len, 1]`).
pub(crate) fn view_shape(shape: &[usize]) -> Option<[usize; 2]> {
    match *shape {
        [r, c] => Some([r, c]),
        [n] => Some([n, 1]),
        _ => None,
    }
}

impl<T: Element> TrackedBlock<T> {
    /// The object's id.
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// The block's `[rows, columns]` (`[len, 1]` for a vector block).
    pub fn shape(&self) -> Option<[usize; 2]> {
        self.shape
    }

    /// The process holding the block's current version (`None`: this one).
    pub fn owner(&self) -> Option<WorkerId> {
        match &self.home {
            Home::Here(_) => None,
            Home::Worker(w) => Some(w.owner),
        }
    }

    /// A copy of the block's current value (call it outside a region: it waits for a task
    /// writing the block now, not for tasks not yet run).
    pub fn get(&self) -> Result<ndarray::ArrayD<T>> {
        match &self.home {
            Home::Here(c) => Ok((*c.read(Extent::Whole)).clone()),
            Home::Worker(w) => {
                let opts = named("export block").scope(Scope::Process(w.owner));
                let t = w.ctx.spawn_registered_with(
                    opts,
                    T::kernels().export,
                    (dagger_sched::Val(w.cell.clone()),),
                );
                Ok((*t.fetch()?).clone())
            }
        }
    }

    /// Part of the block, for a task to declare (`In(&b.view(e))`).
    pub fn view(&self, extent: Extent) -> BlockView<'_, T> {
        BlockView {
            block: self,
            extent,
        }
    }

    /// Rows `r` (every column).
    pub fn rows(&self, r: Range<usize>) -> BlockView<'_, T> {
        self.view(Extent::rows(r))
    }

    /// Columns `c` (every row).
    pub fn cols(&self, c: Range<usize>) -> BlockView<'_, T> {
        self.view(Extent::cols(c))
    }

    /// The upper triangle, with the diagonal if `diagonal`.
    pub fn upper(&self, diagonal: bool) -> BlockView<'_, T> {
        self.view(Extent::upper(diagonal))
    }

    /// The lower triangle, with the diagonal if `diagonal`.
    pub fn lower(&self, diagonal: bool) -> BlockView<'_, T> {
        self.view(Extent::lower(diagonal))
    }

    /// The diagonal.
    pub fn diagonal(&self) -> BlockView<'_, T> {
        self.view(Extent::Diagonal)
    }

    fn access(&self, extent: Extent, mode: Mode) -> Access {
        Access {
            object: self.id,
            extent,
            mode,
        }
    }

    /// The export of the current version (made on first use after each write).
    fn export(&self, w: &OnWorker<T>) -> DTask<BlockRef<T>> {
        let mut e = w.export.lock();
        if let Some(t) = &*e {
            return t.clone();
        }
        let arg = ExportArg {
            cell: w.cell.clone(),
            scope: Scope::Process(w.owner),
            access: self.access(Extent::Whole, Mode::In),
            shape: self.shape,
        };
        let opts = named("export block").scope(Scope::Process(w.owner));
        let t = w
            .ctx
            .spawn_registered_with(opts, T::kernels().export, (arg,));
        *e = Some(t.clone());
        t
    }
}

/// Part of a tracked block, as a task declares it: `InOut(&b[[0, 0]].upper(true))`.
#[derive(Debug)]
pub struct BlockView<'a, T: Element> {
    block: &'a TrackedBlock<T>,
    extent: Extent,
}

/// A view declares its own extent: `In(&view)` reads that part.
impl<T: Element> Tracked for BlockView<'_, T> {
    type Read = BlockRead<T>;
    type Write = BlockWrite<T>;
    fn read_arg(&self, _: Extent) -> BlockRead<T> {
        self.block.read_arg(self.extent.clone())
    }
    fn write_arg(&self, _: Extent, mode: Mode) -> BlockWrite<T> {
        self.block.write_arg(self.extent.clone(), mode)
    }
}

impl<T: Element> Tracked for TrackedBlock<T> {
    type Read = BlockRead<T>;
    type Write = BlockWrite<T>;
    fn read_arg(&self, extent: Extent) -> BlockRead<T> {
        let access = self.access(extent.clone(), Mode::In);
        let from = match &self.home {
            Home::Here(c) => ReadFrom::Here(c.clone()),
            Home::Worker(w) => ReadFrom::Export(self.export(w)),
        };
        BlockRead {
            from,
            access,
            shape: self.shape,
            extent,
        }
    }
    fn write_arg(&self, extent: Extent, mode: Mode) -> BlockWrite<T> {
        let access = self.access(extent.clone(), mode);
        let to = match &self.home {
            Home::Here(c) => WriteTo::Here(c.clone()),
            Home::Worker(w) => {
                // The next reader reads the version this write makes.
                w.export.lock().take();
                w.written.store(true, Ordering::Relaxed);
                WriteTo::Worker(w.cell.clone(), Scope::Process(w.owner))
            }
        };
        BlockWrite {
            to,
            access,
            shape: self.shape,
            extent,
        }
    }
}

/// `extent` checked against `shape`, as the declaration of `access`.
fn declared<T: Element>(
    access: &Access,
    shape: Option<[usize; 2]>,
    lock: Option<&Arc<BlockCell<T>>>,
) -> Result<Declared> {
    access.extent.check(shape)?;
    Ok(Declared {
        access: access.clone(),
        shape,
        lock: lock.map(|c| c.lock()),
    })
}

/// The postcard encoding of `v`, as a task argument sent inline.
fn inline<V>(v: V) -> Result<LineageArg>
where
    V: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    dagger_sched::postcard_codec::<V>()
        .encode_value(&v)
        .map(LineageArg::Inline)
}

/// Where a read gets its version.
enum ReadFrom<T: Element> {
    Here(Arc<BlockCell<T>>),
    /// The export task of the version, on the block's worker.
    Export(DTask<BlockRef<T>>),
}

/// A read of a tracked block, as stored in a task until it runs.
pub struct BlockRead<T: Element> {
    from: ReadFrom<T>,
    access: Access,
    shape: Option<[usize; 2]>,
    extent: Extent,
}

impl<T: Element> std::fmt::Debug for BlockRead<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockRead({:?})", self.access)
    }
}

impl<T: Element> Arg for BlockRead<T> {
    type Value = BlockRef<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        if let ReadFrom::Export(t) = &self.from {
            t.visit(f)
        }
    }
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        let lock = match &self.from {
            ReadFrom::Here(c) => Some(c),
            ReadFrom::Export(_) => None,
        };
        f(declared(&self.access, self.shape, lock))
    }
    fn resolve(self) -> Result<BlockRef<T>> {
        match self.from {
            ReadFrom::Here(c) => {
                // A read permit taken in object order (for a task that also writes) is let
                // go first: the version is a shared `Arc`, read under a lock of its own.
                drop(take_permit(self.access.object));
                Ok(c.read(self.extent))
            }
            ReadFrom::Export(t) => t.resolve(),
        }
    }
}

impl<T: Element> RemoteArg for BlockRead<T> {
    fn site(&self) -> Option<Site> {
        match &self.from {
            ReadFrom::Here(_) => None,
            ReadFrom::Export(t) => RemoteArg::site(t),
        }
    }
    fn failure(&self) -> Option<Error> {
        match &self.from {
            ReadFrom::Here(_) => None,
            ReadFrom::Export(t) => RemoteArg::failure(t),
        }
    }
    fn lineage(&self) -> Result<LineageArg> {
        match &self.from {
            ReadFrom::Here(c) => inline(c.read(self.extent.clone())),
            ReadFrom::Export(t) => t.lineage(),
        }
    }
}

/// Where a write goes.
enum WriteTo<T: Element> {
    Here(Arc<BlockCell<T>>),
    /// The cell pinned on a worker, and the scope that sends the task there.
    Worker(Resident<T>, Scope),
}

/// A write of a tracked block, as stored in a task until it runs.
pub struct BlockWrite<T: Element> {
    to: WriteTo<T>,
    access: Access,
    shape: Option<[usize; 2]>,
    extent: Extent,
}

impl<T: Element> std::fmt::Debug for BlockWrite<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockWrite({:?})", self.access)
    }
}

impl<T: Element> Arg for BlockWrite<T> {
    type Value = BlockMut<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        if let WriteTo::Worker(_, scope) = &self.to {
            f(None, Some(scope))
        }
    }
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        let lock = match &self.to {
            WriteTo::Here(c) => Some(c),
            WriteTo::Worker(..) => None,
        };
        f(declared(&self.access, self.shape, lock))
    }
    fn resolve(self) -> Result<BlockMut<T>> {
        match self.to {
            WriteTo::Here(c) => Ok(match take_permit(self.access.object) {
                Some(p) => c.write_with(p, self.extent),
                None => c.write(self.extent),
            }),
            // A task run in this process on a block pinned here (the driver holds blocks
            // too); anywhere else the block is out of reach of a closure.
            WriteTo::Worker(r, scope) => match r.cell() {
                Some(c) => Ok(c.write(self.extent)),
                None => Err(Error::Scheduling(format!(
                    "a block held by {scope} cannot be written by a closure task in this \
                     process: spawn a registered function (`spawn_registered`) on it"
                ))),
            },
        }
    }
}

impl<T: Element> RemoteArg for BlockWrite<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        None
    }
    fn lineage(&self) -> Result<LineageArg> {
        match &self.to {
            WriteTo::Here(_) => Err(Error::Scheduling(
                "a block held in the driver's own region cannot be written on a worker".into(),
            )),
            WriteTo::Worker(r, _) => inline((r.clone(), self.extent.clone())),
        }
    }
}

/// The argument of an export task: the cell (sent as its id, the task scoped to the
/// owner), declared as a read of the whole block so that the region orders it after the
/// version's writer and before the next one.
pub(crate) struct ExportArg<T: Element> {
    cell: Resident<T>,
    scope: Scope,
    access: Access,
    shape: Option<[usize; 2]>,
}

impl<T: Element> Arg for ExportArg<T> {
    type Value = Resident<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        f(None, Some(&self.scope))
    }
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        f(declared::<T>(&self.access, self.shape, None))
    }
    fn resolve(self) -> Result<Resident<T>> {
        Ok(self.cell)
    }
}

impl<T: Element> RemoteArg for ExportArg<T> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn failure(&self) -> Option<Error> {
        None
    }
    fn lineage(&self) -> Result<LineageArg> {
        inline(self.cell.clone())
    }
}

impl<T: Element> dagger_sched::IntoArg for ExportArg<T> {
    type Arg = ExportArg<T>;
    fn into_arg(self) -> ExportArg<T> {
        self
    }
}
