//! Block-cyclic distributions over a 2-D process grid (Dagger.jl's processor grids,
//! ScaLAPACK's layout): with a `p × q` grid of worker processes, block `(i, j)` of an array
//! lives on the worker at `(i mod p, j mod q)`, so that every worker holds blocks of every
//! part of the array and tiled linear algebra keeps all of them busy. A 1-D array's block
//! `i` is at `(i mod p, 0)`.
//!
//! Blocks are made by their creation kernel on their worker ([`DArray::rand_cyclic`],
//! [`DArray::fill_cyclic`]) or cut in the driver and taken there ([`DArray::distribute_cyclic`]);
//! operations that run where their block lives (updates, stencils) keep the layout.
//!
//! ```
//! use dagger_array::cyclic::ProcessGrid;
//! use dagger_array::{Blocks, DArray};
//! use dagger_core::WorkerId;
//! let ctx = dagger_sched::Context::local();
//! let g = ProcessGrid::of(&ctx, 1, 1).unwrap();
//! assert_eq!(g.owner(&[3, 5]), WorkerId::DRIVER);
//! let a = DArray::<f64>::fill_cyclic(2.0, &Blocks::new([2, 2]).unwrap(), &[4, 4], &g).unwrap();
//! assert_eq!(a.compute(&ctx).unwrap().sum().collect(&ctx).unwrap(), 32.0);
//! ```

use crate::block::{Block, Kind};
use crate::darray::{default_nprocs, DArray};
use crate::element::Element;
use crate::graph::kernel_node;
use crate::grid::BlockGrid;
use crate::kernel::named::Kernel;
use dagger_core::{Error, Options, Partitioning, Result, Scope, WorkerId};
use dagger_sched::Context;
use rand::distributions::{Distribution, Standard};

/// A `rows × cols` grid of worker processes, in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessGrid {
    rows: usize,
    cols: usize,
    workers: Vec<WorkerId>,
}

impl ProcessGrid {
    /// The grid of `workers` (row-major); `rows · cols` must be their number and not 0 (an
    /// [`Error::Argument`] otherwise).
    pub fn new(workers: Vec<WorkerId>, rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 || rows.checked_mul(cols) != Some(workers.len()) {
            return Err(Error::Argument(format!(
                "a {rows}×{cols} process grid of {} workers",
                workers.len()
            )));
        }
        Ok(Self {
            rows,
            cols,
            workers,
        })
    }

    /// A `rows × cols` grid of `ctx`'s live worker processes (the driver only when it has none),
    /// repeated as often as `rows · cols` needs: two workers make a `1 × 2`, `2 × 1` or
    /// `2 × 2` grid.
    pub fn of(ctx: &Context, rows: usize, cols: usize) -> Result<Self> {
        let me = ctx.worker_id();
        // Live ones only: a block placed on a lost worker would fail every task that makes it.
        let mut ws: Vec<WorkerId> = ctx
            .live_workers()
            .into_iter()
            .filter(|w| *w != me)
            .collect();
        if ws.is_empty() {
            ws.push(me);
        }
        ws.sort();
        let n = rows.saturating_mul(cols);
        Self::new(ws.iter().copied().cycle().take(n).collect(), rows, cols)
    }

    /// The grid's shape `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The worker of the block at `coords` (block coordinates).
    pub fn owner(&self, coords: &[usize]) -> WorkerId {
        let i = coords.first().copied().unwrap_or(0) % self.rows;
        let j = coords.get(1).copied().unwrap_or(0) % self.cols;
        self.workers[i * self.cols + j]
    }

    /// The worker of every block of `grid`, in row-major block order.
    pub fn placement(&self, grid: &BlockGrid) -> Vec<WorkerId> {
        grid.iter_coords().map(|c| self.owner(&c)).collect()
    }
}

impl<T: Element> DArray<T> {
    /// An array whose block `i` is made by `make(shape, i)` on its worker of `pg`.
    fn alloc_cyclic(
        part: &dyn Partitioning,
        shape: &[usize],
        pg: &ProcessGrid,
        make: impl Fn(Vec<usize>, usize) -> Kernel<T>,
    ) -> Result<Self> {
        let grid = BlockGrid::new(shape, part, default_nprocs())?;
        let blocks = grid
            .iter_coords()
            .enumerate()
            .map(|(i, c)| {
                let opts = Options::new().scope(Scope::Process(pg.owner(&c)));
                kernel_node(opts, make(grid.block_shape(&c), i), &[])
            })
            .collect();
        Ok(DArray::from_blocks(grid, Kind::Dense, blocks))
    }

    /// [`DArray::fill`] with every block made on its worker of `pg`.
    pub fn fill_cyclic(
        v: T,
        part: &dyn Partitioning,
        shape: &[usize],
        pg: &ProcessGrid,
    ) -> Result<Self> {
        Self::alloc_cyclic(part, shape, pg, |shape, _| Kernel::Fill { shape, value: v })
    }

    /// [`DArray::rand_seeded`] with every block made on its worker of `pg`.
    pub fn rand_cyclic(
        part: &dyn Partitioning,
        shape: &[usize],
        seed: u64,
        pg: &ProcessGrid,
    ) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::alloc_cyclic(part, shape, pg, |shape, block| Kernel::Rand {
            shape,
            seed,
            block,
        })
    }

    /// [`DArray::distribute`] with every block then sent to its worker of `pg` (as a dense
    /// block): the driver cuts the blocks, a task on each block's worker takes it there.
    pub fn distribute_cyclic(
        whole: Block<T>,
        part: &dyn Partitioning,
        pg: &ProcessGrid,
    ) -> Result<Self> {
        Ok(Self::distribute(whole, part)?.to_cyclic(pg))
    }

    /// This array with every block taken (as a dense block) by a task on its worker of `pg`
    /// (lazy: compute it to move the blocks). Blocks already there are not copied over the
    /// network; the others come from where they live.
    pub fn to_cyclic(&self, pg: &ProcessGrid) -> Self {
        let grid = self.grid().clone();
        let blocks = grid
            .iter_coords()
            .zip(&self.blocks)
            .map(|(c, b)| {
                let opts = Options::new().scope(Scope::Process(pg.owner(&c)));
                kernel_node(opts, Kernel::ToDense, std::slice::from_ref(b))
            })
            .collect();
        DArray::from_blocks(grid, Kind::Dense, blocks)
    }
}

impl ProcessGrid {
    /// The most square grid of `ctx`'s live worker processes (`p × q` with `p ≤ q`, `p · q` their
    /// number; the driver alone when it has none): two workers make a `1 × 2` grid, four a
    /// `2 × 2`, six a `2 × 3`.
    pub fn square(ctx: &Context) -> Result<Self> {
        let me = ctx.worker_id();
        let n = ctx
            .live_workers()
            .iter()
            .filter(|w| **w != me)
            .count()
            .max(1);
        let p = (1..=n)
            .filter(|p| n % p == 0 && p * p <= n)
            .max()
            .unwrap_or(1);
        Self::of(ctx, p, n / p)
    }
}
