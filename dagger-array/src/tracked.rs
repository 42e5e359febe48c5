//! A DArray's blocks as datadeps objects: what a user's region names to read and write
//! blocks in place (Dagger.jl's `spawn_datadeps` over `A.chunks`).
//!
//! [`DArray::tracked_blocks`] makes each block a [`TrackedBlock`] (a 2-D block is shaped
//! `[rows, columns]` and a 1-D one `[len, 1]`, so tasks may name views of it: rows,
//! columns, triangles, the diagonal). A task that writes it receives a
//! [`BlockMut`](crate::resident::BlockMut), one that reads it a
//! [`BlockRef`](crate::resident::BlockRef) (both dereference to the dense block).
//! [`DArray::update_blocks`] runs a region over them and rebinds the array to their final
//! values, or leaves it as it was if the region fails. A whole [`TrackedBlocks`] passed as
//! one argument (`InOut(&blocks)`) names every block, so it is ordered against each task on
//! any of them: it never races.
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! use dagger_sched::{Context, In, InOut};
//! let ctx = Context::builder().threads(2).build();
//! let mut a = DArray::<f64>::ones(&Blocks::new([2, 2]).unwrap(), &[4, 4]).unwrap();
//! a.update_blocks(&ctx, |b| {
//!     // Block (1, 0) += block (0, 0), then the upper triangle of (0, 0) is doubled.
//!     ctx.spawn(|(mut y, x)| y.zip_mut_with(&x, |y, x| *y += x), (InOut(&b[[1, 0]]), In(&b[[0, 0]])));
//!     ctx.spawn(|(mut x,)| x.indexed_iter_mut().for_each(|(i, v)| if i[0] <= i[1] { *v *= 2.0 }),
//!         (InOut(&b[[0, 0]].upper(true)),));
//! })
//! .unwrap();
//! let d = a.collect_dense(&ctx).unwrap();
//! assert_eq!((d[[2, 0]], d[[0, 1]], d[[1, 0]]), (2.0, 2.0, 1.0));
//! ```
//!
//! # On a cluster
//!
//! On a context with worker processes the blocks stay where they live, and the region's
//! tasks are registered functions (`spawn_registered`) that run there:
//!
//! 1. **Pin.** Each block's chunk is put in a cell pinned on its owner (a task there; the
//!    cell shares the chunk's block until a task writes it, so nothing is copied yet).
//! 2. **Write where it lives.** A task that writes a block is scoped to the block's owner
//!    and receives the cell itself (it travels as the cell's id). A task writing blocks of
//!    two workers cannot run (a `SchedulingError`); one that only reads goes where the
//!    scheduler's cost (bytes to move, then queue length) puts it.
//! 3. **Move what is read.** The first read of each version of a block spawns one *export*
//!    task on its owner, ordered as a read of the block, whose result is that version (an
//!    `Arc`, not a copy). Every reader of the version takes that chunk as an argument, so a
//!    reader on another worker fetches it from the owner directly; the next writer copies
//!    the block only if such an export is still alive.
//! 4. **Re-point.** When the region succeeds, each written block's final version is taken
//!    out of its cell as a new chunk on its owner (no copy), and the array's block handle
//!    points to it; unwritten blocks keep their chunks. Then every pin and export handle is
//!    dropped, so the cells, the exports and the copies fetched from them are released on
//!    every worker before `update_blocks` returns (releases are messages: they land
//!    shortly after).
//!
//! A task writing two blocks takes their locks in one global order, so two tasks naming the
//! same blocks in opposite orders (disjoint views, which the region lets run together)
//! cannot deadlock: in the driver in object order before it runs, on a worker in cell order
//! when it first uses one of them (its written arguments decode unlocked).

use crate::block::Kind;
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::{ArrayOptions, Node};
use crate::grid::BlockGrid;
use crate::mem::BlockValue;
use crate::names::{intern, named, or_named};
use crate::resident::{mismatch, BlockCell, Resident};
use crate::tracked_args::{view_shape, BlockRead, BlockWrite, Home, OnWorker};
use dagger_core::{Error, Extent, Mode, Options, Result, Scope};
use dagger_sched::datadeps::{new_object_id, Declared, Tracked};
use dagger_sched::{Arg, Chunk, Context, Dependency, LineageArg, RemoteArg, Site, Val};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub use crate::tracked_args::{BlockView, TrackedBlock};

/// The blocks of a DArray as datadeps objects, indexed by grid coordinates (`b[[i, j]]`).
pub struct TrackedBlocks<T: Element> {
    grid: BlockGrid,
    blocks: Vec<TrackedBlock<T>>,
    /// On a cluster: the chunks the region started from (kept by blocks nobody wrote).
    origin: Option<Vec<Chunk<BlockValue<T>>>>,
}

impl<T: Element> std::fmt::Debug for TrackedBlocks<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrackedBlocks({:?} blocks)", self.grid.grid_shape())
    }
}

impl<T: Element> TrackedBlocks<T> {
    /// The block grid (block shapes and where each block starts).
    pub fn grid(&self) -> &BlockGrid {
        &self.grid
    }

    /// The block at grid coordinates `coords`, if there is one.
    pub fn get(&self, coords: &[usize]) -> Option<&TrackedBlock<T>> {
        let g = self.grid.grid_shape();
        if coords.len() != g.len() || coords.iter().zip(&g).any(|(c, n)| c >= n) {
            return None;
        }
        self.blocks.get(self.grid.block_linear(coords))
    }

    /// The blocks in row-major order of their grid coordinates.
    pub fn iter(&self) -> std::slice::Iter<'_, TrackedBlock<T>> {
        self.blocks.iter()
    }

    /// A DArray of the blocks' current values (waits for tasks writing them). A block whose
    /// shape a task changed is a `DimensionMismatch` naming the block. On a cluster the
    /// blocks stay where they are (the new array's chunks share their versions).
    pub fn to_darray(&self) -> Result<DArray<T>> {
        self.finish(false)
    }

    /// A DArray of the blocks' final values, taken out of their cells (as
    /// [`DArray::update_blocks`] does at its end): for blocks a region over another array
    /// wrote (a factorization's side outputs). On a cluster the blocks stay where they are.
    pub fn into_darray(self) -> Result<DArray<T>> {
        self.finish(true)
    }

    /// The array of the final versions; `retire`: take them out of their cells (the end of
    /// `update_blocks`).
    fn finish(&self, retire: bool) -> Result<DArray<T>> {
        let mut nodes = Vec::with_capacity(self.blocks.len());
        let mut chunks = Vec::with_capacity(self.blocks.len());
        let mut ctx = None;
        for (i, b) in self.blocks.iter().enumerate() {
            let want = self.grid.block_shape(&b.coords);
            match &b.home {
                Home::Here(c) => {
                    let v = if retire {
                        c.take()
                    } else {
                        c.read(Extent::Whole).version()
                    };
                    if v.shape() != want {
                        return Err(mismatch(&b.coords, &v.shape(), &want));
                    }
                    nodes.push(Node::task0(
                        or_named(Options::new(), || intern("block")),
                        move || Ok(v.clone()),
                    ));
                }
                Home::Worker(w) => {
                    let kept = self.origin.as_ref().and_then(|o| o.get(i));
                    let chunk = match kept {
                        Some(c) if !w.written.load(Ordering::Relaxed) => c.clone(),
                        _ => {
                            let opts = named("unpin block").scope(Scope::Process(w.owner));
                            let how = (b.coords.clone(), want, retire);
                            let args = (Val(w.cell.clone()), Val(how));
                            w.ctx
                                .spawn_registered_with(opts, T::kernels().unpin, args)
                                .chunk()?
                        }
                    };
                    ctx.get_or_insert_with(|| w.ctx.clone());
                    nodes.push(Node::done(chunk.task().clone()));
                    chunks.push(chunk);
                }
            }
        }
        let a = DArray::from_blocks(self.grid.clone(), Kind::Dense, nodes);
        match ctx {
            // Each new block's check (a wrong shape, a lost cell) runs beside it.
            Some(ctx) => a.compute(&ctx),
            None => Ok(a),
        }
    }
}

impl<T: Element> std::ops::Index<[usize; 2]> for TrackedBlocks<T> {
    type Output = TrackedBlock<T>;
    /// The block at `[i, j]` of a 2-D grid; panics outside the grid, like ndarray's indexing
    /// (use [`TrackedBlocks::get`] to ask).
    fn index(&self, c: [usize; 2]) -> &TrackedBlock<T> {
        match self.get(&c) {
            Some(d) => d,
            None => panic!(
                "block {c:?} is outside the grid {:?}",
                self.grid.grid_shape()
            ),
        }
    }
}

impl<T: Element> std::ops::Index<usize> for TrackedBlocks<T> {
    type Output = TrackedBlock<T>;
    /// Block `i` in row-major order; panics past the last block.
    fn index(&self, i: usize) -> &TrackedBlock<T> {
        match self.blocks.get(i) {
            Some(d) => d,
            None => panic!("block {i} is past the last of {} blocks", self.blocks.len()),
        }
    }
}

impl<T: Element> DArray<T> {
    /// The array's blocks as datadeps objects: the array itself is unchanged (turn them
    /// back with [`TrackedBlocks::to_darray`]). In a context without workers they are
    /// copies in this process, where closure tasks read and write them; on a cluster each
    /// is pinned where it lives (the array is computed first), for registered-function
    /// tasks there (see the module docs).
    pub fn tracked_blocks(&self, ctx: &Context) -> Result<TrackedBlocks<T>> {
        let grid = self.grid().clone();
        if ctx.workers().iter().any(|w| *w != ctx.worker_id()) {
            return self.resident_blocks(ctx, grid);
        }
        let blocks = self.collect_blocks(ctx, &ArrayOptions::default())?;
        let blocks = blocks
            .into_iter()
            .enumerate()
            .map(|(i, b)| TrackedBlock {
                id: new_object_id(),
                shape: view_shape(&b.shape()),
                coords: grid.block_coords(i),
                home: Home::Here(Arc::new(BlockCell::new(b))),
            })
            .collect();
        Ok(TrackedBlocks {
            grid,
            blocks,
            origin: None,
        })
    }

    /// The blocks pinned in cells where their chunks live.
    fn resident_blocks(&self, ctx: &Context, grid: BlockGrid) -> Result<TrackedBlocks<T>> {
        let done;
        let chunks = match self.chunks() {
            Some(c) => c,
            None => {
                done = self.compute(ctx)?;
                done.chunks().unwrap_or_default()
            }
        };
        let pins: Vec<_> = chunks
            .iter()
            .map(|c| {
                let opts = named("pin block").scope(Scope::Process(c.owner()));
                ctx.spawn_registered_with(opts, T::kernels().pin, (c,))
            })
            .collect();
        let mut blocks = Vec::with_capacity(pins.len());
        for (i, (c, pin)) in chunks.iter().zip(pins).enumerate() {
            let cell = Resident(pin.fetch()??);
            let coords = grid.block_coords(i);
            blocks.push(TrackedBlock {
                id: new_object_id(),
                shape: view_shape(&grid.block_shape(&coords)),
                coords,
                home: Home::Worker(Box::new(OnWorker {
                    ctx: ctx.clone(),
                    owner: c.owner(),
                    cell,
                    _pin: pin,
                    export: Default::default(),
                    written: Default::default(),
                })),
            });
        }
        Ok(TrackedBlocks {
            grid,
            blocks,
            origin: Some(chunks.to_vec()),
        })
    }

    /// Runs `region` as a datadeps region over the array's blocks and, when every task in it
    /// succeeded, rebinds the array to the blocks' final values (dense). On an error the
    /// array is unchanged and the region's first error is returned. On a cluster the tasks
    /// are registered functions running where the blocks live, and the final blocks stay
    /// there (see the module docs).
    pub fn update_blocks<R>(
        &mut self,
        ctx: &Context,
        region: impl FnOnce(&TrackedBlocks<T>) -> R,
    ) -> Result<R> {
        let blocks = self.tracked_blocks(ctx)?;
        let out = ctx.datadeps(|| region(&blocks))?;
        *self = blocks.finish(true)?;
        Ok(out)
    }
}

/// Some tracked blocks named as one argument (`In(&BlockList(vec![&b[[0, 0]], &b[[1, 0]]]))`):
/// the body gets one [`BlockRef`](crate::resident::BlockRef) or
/// [`BlockMut`](crate::resident::BlockMut) per block, in this order (a block column for a
/// panel task, say). Only the whole of each block can be named this way.
#[derive(Debug)]
pub struct BlockList<'a, T: Element>(pub Vec<&'a TrackedBlock<T>>);

impl<T: Element> Tracked for BlockList<'_, T> {
    type Read = AllBlocks<BlockRead<T>>;
    type Write = AllBlocks<BlockWrite<T>>;
    fn read_arg(&self, extent: Extent) -> Self::Read {
        AllBlocks {
            blocks: self.0.iter().map(|d| d.read_arg(extent.clone())).collect(),
        }
    }
    fn write_arg(&self, extent: Extent, mode: Mode) -> Self::Write {
        AllBlocks {
            blocks: self
                .0
                .iter()
                .map(|d| d.write_arg(extent.clone(), mode))
                .collect(),
        }
    }
}

/// Every block of a [`TrackedBlocks`], as one argument stores them: `reads` for `In`,
/// `writes` for `Out`/`InOut`.
#[derive(Debug)]
pub struct AllBlocks<A> {
    blocks: Vec<A>,
}

impl<A: Arg> Arg for AllBlocks<A> {
    type Value = Vec<A::Value>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        self.blocks.iter().for_each(|b| b.visit(f));
    }
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        self.blocks.iter().for_each(|b| b.accesses(f));
    }
    fn resolve(self) -> Result<Self::Value> {
        self.blocks.into_iter().map(Arg::resolve).collect()
    }
}

/// Every block as one list argument of a registered function.
impl<A: RemoteArg> RemoteArg for AllBlocks<A> {
    fn site(&self) -> Option<Site> {
        None
    }
    fn sites(&self, out: &mut Vec<Site>) {
        self.blocks.iter().for_each(|b| b.sites(out));
    }
    fn failure(&self) -> Option<Error> {
        self.blocks.iter().find_map(RemoteArg::failure)
    }
    fn lineage(&self) -> Result<LineageArg> {
        self.blocks
            .iter()
            .map(RemoteArg::lineage)
            .collect::<Result<_>>()
            .map(LineageArg::List)
    }
}

/// `In(&blocks)` reads every block and `InOut(&blocks)` writes every block: the body gets
/// one [`BlockRef`](crate::resident::BlockRef) or [`BlockMut`](crate::resident::BlockMut)
/// per block, in row-major order. Only the whole of each block can be named this way.
impl<T: Element> Tracked for TrackedBlocks<T> {
    type Read = AllBlocks<BlockRead<T>>;
    type Write = AllBlocks<BlockWrite<T>>;
    fn read_arg(&self, extent: Extent) -> Self::Read {
        AllBlocks {
            blocks: self
                .blocks
                .iter()
                .map(|d| d.read_arg(extent.clone()))
                .collect(),
        }
    }
    fn write_arg(&self, extent: Extent, mode: Mode) -> Self::Write {
        AllBlocks {
            blocks: self
                .blocks
                .iter()
                .map(|d| d.write_arg(extent.clone(), mode))
                .collect(),
        }
    }
}
