//! A DArray's blocks as datadeps objects: what a user's region names to read and write
//! blocks in place (Dagger.jl's `spawn_datadeps` over `A.chunks`).
//!
//! [`DArray::tracked_blocks`] puts each block's values in a [`Data`] (a 2-D block is shaped
//! `[rows, columns]` and a 1-D one `[len, 1]`, so tasks may name views of it: rows, columns,
//! triangles, the diagonal). [`DArray::update_blocks`] runs a region over them and rebinds
//! the array to their final values, or leaves it as it was if the region fails. A whole
//! [`TrackedBlocks`] passed as one argument (`InOut(&blocks)`) names every block, so it is
//! ordered against each task on any of them: it never races.
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
//!         (InOut(b[[0, 0]].upper(true)),));
//! })
//! .unwrap();
//! let d = a.collect_dense(&ctx).unwrap();
//! assert_eq!((d[[2, 0]], d[[0, 1]], d[[1, 0]]), (2.0, 2.0, 1.0));
//! ```

use crate::block::{Block, Kind};
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::{ArrayOptions, Node};
use crate::grid::BlockGrid;
use crate::mem::held;
use crate::names::{intern, or_named};
use dagger_core::{Error, Extent, Mode, Options, Result, Scope};
use dagger_sched::datadeps::{Declared, Tracked};
use dagger_sched::{Arg, Context, Data, Dependency, ReadArg, WriteArg};
use ndarray::ArrayD;

/// The blocks of a DArray as [`Data`] objects, indexed by grid coordinates (`b[[i, j]]`).
pub struct TrackedBlocks<T> {
    grid: BlockGrid,
    blocks: Vec<Data<ArrayD<T>>>,
}

impl<T> std::fmt::Debug for TrackedBlocks<T> {
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
    pub fn get(&self, coords: &[usize]) -> Option<&Data<ArrayD<T>>> {
        let g = self.grid.grid_shape();
        if coords.len() != g.len() || coords.iter().zip(&g).any(|(c, n)| c >= n) {
            return None;
        }
        self.blocks.get(self.grid.block_linear(coords))
    }

    /// The blocks in row-major order of their grid coordinates.
    pub fn iter(&self) -> std::slice::Iter<'_, Data<ArrayD<T>>> {
        self.blocks.iter()
    }

    /// A DArray of the blocks' current values (waits for tasks writing them). A block whose
    /// shape a task changed is a `DimensionMismatch` naming the block.
    pub fn to_darray(&self) -> Result<DArray<T>> {
        let mut nodes = Vec::with_capacity(self.blocks.len());
        for (i, d) in self.blocks.iter().enumerate() {
            let coords = self.grid.block_coords(i);
            let want = self.grid.block_shape(&coords);
            let a = d.get();
            if a.shape() != want.as_slice() {
                return Err(Error::DimensionMismatch(format!(
                    "block {coords:?} was left with shape {:?}; its place in the grid is {want:?}",
                    a.shape()
                )));
            }
            let b = held(Block::Dense(a));
            nodes.push(Node::task0(
                or_named(Options::new(), || intern("block")),
                move || Ok(b.clone()),
            ));
        }
        Ok(DArray::from_blocks(self.grid.clone(), Kind::Dense, nodes))
    }
}

impl<T: Element> std::ops::Index<[usize; 2]> for TrackedBlocks<T> {
    type Output = Data<ArrayD<T>>;
    /// The block at `[i, j]` of a 2-D grid; panics outside the grid, like ndarray's indexing
    /// (use [`TrackedBlocks::get`] to ask).
    fn index(&self, c: [usize; 2]) -> &Data<ArrayD<T>> {
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
    type Output = Data<ArrayD<T>>;
    /// Block `i` in row-major order; panics past the last block.
    fn index(&self, i: usize) -> &Data<ArrayD<T>> {
        match self.blocks.get(i) {
            Some(d) => d,
            None => panic!("block {i} is past the last of {} blocks", self.blocks.len()),
        }
    }
}

impl<T: Element> DArray<T> {
    /// The array's blocks as datadeps objects holding copies of their values: the array
    /// itself is unchanged (turn them back with [`TrackedBlocks::to_darray`]). On a cluster
    /// the blocks come to this process, where closure tasks run.
    pub fn tracked_blocks(&self, ctx: &Context) -> Result<TrackedBlocks<T>> {
        let blocks = self.collect_blocks(ctx, &ArrayOptions::default())?;
        let grid = self.grid().clone();
        let blocks = blocks
            .into_iter()
            .map(|b| {
                let a = match b {
                    Block::Dense(a) => a,
                    sparse => sparse.to_dense(),
                };
                match *a.shape() {
                    [r, c] => Data::with_shape(a, [r, c]),
                    [n] => Data::with_shape(a, [n, 1]),
                    _ => Data::new(a),
                }
            })
            .collect();
        Ok(TrackedBlocks { grid, blocks })
    }

    /// Runs `region` as a datadeps region over the array's blocks and, when every task in it
    /// succeeded, rebinds the array to the blocks' final values (dense). On an error the
    /// array is unchanged and the region's first error is returned.
    pub fn update_blocks<R>(
        &mut self,
        ctx: &Context,
        region: impl FnOnce(&TrackedBlocks<T>) -> R,
    ) -> Result<R> {
        let blocks = self.tracked_blocks(ctx)?;
        let out = ctx.datadeps(|| region(&blocks))?;
        *self = blocks.to_darray()?;
        Ok(out)
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
    fn visit(&self, _: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {}
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        self.blocks.iter().for_each(|b| b.accesses(f));
    }
    fn resolve(self) -> Result<Self::Value> {
        self.blocks.into_iter().map(Arg::resolve).collect()
    }
}

/// `In(&blocks)` reads every block and `InOut(&blocks)` writes every block: the body gets
/// one [`DataRef`](dagger_sched::DataRef) or [`DataMut`](dagger_sched::DataMut) per block, in row-major order. Only the whole of each
/// block can be named this way.
impl<T: Element> Tracked for TrackedBlocks<T> {
    type Read = AllBlocks<ReadArg<ArrayD<T>>>;
    type Write = AllBlocks<WriteArg<ArrayD<T>>>;
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
