//! [`DArray`]: a lazy blocked array on the dagger-sched scheduler. Every operation returns a
//! new lazy array (one [`Node`] per block, built from this crate's block kernels) or a
//! [`Lazy`] value; nothing runs until `compute` or `collect`, which first lower the graph
//! (fusing element-wise chains unless [`ArrayOptions::fuse`] is off) and then submit it.
//!
//! A block task's value is a [`BlockValue`]: the block behind an `Arc` (task arguments are
//! cloned, so big blocks are shared, not copied) in a [`Held`](crate::mem::Held) that counts its bytes, or the
//! [`Error`](dagger_core::Error) that stopped it, which then flows to every dependent and comes out of
//! `compute`/`collect`. Block tasks use the scheduler's default options: an intermediate
//! block is released as soon as its consumers ran.
//!
//! The `DArray` API is cut by what the operations do, one `impl` block per file: `create`
//! (constant, random and distributed arrays), `elementwise` (`map`, unary functions,
//! arithmetic), `reblock` (re-blocking and indexing), `io` (save and load) and `linalg`
//! (transpose and products); [`Lazy`] values are in `lazy`. This file holds the type
//! itself, computing and collecting. Reductions, structure operations, sorting and block
//! placement add their own `impl` blocks in [`crate::dreduce`], [`crate::structure`],
//! [`crate::sort`] and [`crate::assign`].

mod create;
mod elementwise;
mod io;
pub(crate) mod lazy;
mod linalg;
mod reblock;

use crate::block::{Block, Kind};
use crate::element::Element;
use crate::fuse::Ew;
use crate::graph::{kernel_node, lower, ArrayOptions, Node};
use crate::grid::BlockGrid;
use crate::kernel::named::Kernel;
use crate::mem::held;
use crate::meta::ArrayMeta;
use dagger_core::{Options, Result};
use dagger_sched::{Chunk, Context};
use ndarray::ArrayD;
use std::fmt;
use std::sync::Arc;

pub use crate::mem::BlockValue;
pub use lazy::{reducebykey, Lazy};

/// The number of processors `AutoBlocks` adapts to when an array is built without a context:
/// the threads of `Context::local()`, one per core.
pub fn default_nprocs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A lazy blocked array of `T`, dense or sparse.
///
/// ```
/// use dagger_array::{Blocks, DArray};
/// use dagger_sched::Context;
/// let ctx = Context::local();
/// let x = DArray::<f64>::ones(&Blocks::new([4, 4]).unwrap(), &[10, 10]).unwrap();
/// let y = x.map(|v| v * 2.0);
/// assert_eq!(y.sum().collect(&ctx).unwrap(), 200.0);
/// assert_eq!(y.to_string(), "10×10 f64 in 9 parts of at most 4×4");
/// ```
pub struct DArray<T: Element> {
    pub(crate) meta: ArrayMeta,
    pub(crate) blocks: Vec<Node<BlockValue<T>>>,
    /// The element-wise chain this array is the result of (dense arrays only).
    pub(crate) ew: Option<Arc<Ew<T>>>,
    pub(crate) chunks: Option<Vec<Chunk<BlockValue<T>>>>,
}

impl<T: Element> Clone for DArray<T> {
    fn clone(&self) -> Self {
        Self {
            meta: self.meta.clone(),
            blocks: self.blocks.clone(),
            ew: self.ew.clone(),
            chunks: self.chunks.clone(),
        }
    }
}

impl<T: Element> fmt::Display for DArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.chunks.is_some() {
            write!(f, "Computed({})", self.meta)
        } else {
            self.meta.fmt(f)
        }
    }
}

/// The summary line, then the tasks computing the array would spawn and where each runs:
/// `[any process]` for registered kernels (on a cluster, where their input blocks live),
/// `[driver]` for closures, which cannot travel (`map_registered` runs a user's element
/// function on the workers instead).
///
/// ```
/// use dagger_array::{Blocks, DArray};
/// let x = DArray::<f64>::ones(&Blocks::new([4, 4]).unwrap(), &[8, 8]).unwrap();
/// let registered = &x * 2.0; // a named kernel: it runs where its block lives
/// let closure = x.map(|v| v * 2.0); // a closure: it runs in the driver
/// assert_eq!(
///     format!("{registered:?}"),
///     "DArray(8×8 f64 in 4 parts of at most 4×4; to run: ones ×4 [any process], \
///      fused(*2) ×4 [any process])"
/// );
/// assert_eq!(
///     format!("{closure:?}"),
///     "DArray(8×8 f64 in 4 parts of at most 4×4; to run: ones ×4 [any process], \
///      fused(map) ×4 [driver])"
/// );
/// ```
impl<T: Element> fmt::Debug for DArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DArray({self}")?;
        crate::graph::fmt_pending(f, &self.blocks)?;
        f.write_str(")")
    }
}

impl<T: Element> DArray<T> {
    pub(crate) fn from_blocks(
        grid: BlockGrid,
        kind: Kind,
        blocks: Vec<Node<BlockValue<T>>>,
    ) -> Self {
        Self {
            meta: ArrayMeta::new(grid, T::NAME, kind),
            blocks,
            ew: None,
            chunks: None,
        }
    }

    fn from_fn(
        grid: BlockGrid,
        kind: Kind,
        mut make: impl FnMut(usize, Vec<usize>) -> Node<BlockValue<T>>,
    ) -> Self {
        let blocks = (0..grid.num_blocks())
            .map(|i| make(i, grid.block_shape(&grid.block_coords(i))))
            .collect();
        Self::from_blocks(grid, kind, blocks)
    }

    /// Shape, grid, element type and kind.
    pub fn meta(&self) -> &ArrayMeta {
        &self.meta
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        self.meta.grid.shape()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The block grid.
    pub fn grid(&self) -> &BlockGrid {
        &self.meta.grid
    }

    /// The block nodes, in row-major block order.
    pub fn blocks(&self) -> &[Node<BlockValue<T>>] {
        &self.blocks
    }

    /// The computed blocks' chunks (where each lives, its size), after [`DArray::compute`].
    pub fn chunks(&self) -> Option<&[Chunk<BlockValue<T>>]> {
        self.chunks.as_deref()
    }

    /// Runs every block (fusion on) and returns an array whose blocks are the resulting
    /// chunks (kept where they were computed). The first failed block's error is returned.
    pub fn compute(&self, ctx: &Context) -> Result<DArray<T>> {
        self.compute_with(ctx, &ArrayOptions::default())
    }

    /// [`DArray::compute`] lowered with `opts` (e.g. `fuse: false`).
    pub fn compute_with(&self, ctx: &Context, opts: &ArrayOptions) -> Result<DArray<T>> {
        crate::remote::register_block_sizes();
        // One lowering for all blocks: shared inputs run once, everything runs in parallel.
        let tasks = lower(ctx, opts, &self.blocks);
        // A block's value may be the error that stopped it. On a cluster, ask where each
        // block lives (a tiny `check` task beside it, scoped there once the block is made:
        // by cost alone a busy worker's checks went to the driver, fetching the blocks)
        // instead of moving the blocks here.
        let on_cluster = ctx.workers().iter().any(|w| *w != ctx.worker_id());
        let mut chunks = Vec::with_capacity(tasks.len());
        let mut checks = Vec::with_capacity(tasks.len());
        for t in &tasks {
            let c = t.chunk()?;
            if on_cluster {
                let opts =
                    crate::names::named("check").scope(dagger_core::Scope::Process(c.owner()));
                checks.push(ctx.spawn_registered_with(
                    opts,
                    T::kernels().p1,
                    (dagger_sched::Val(Kernel::<T>::Check), t),
                ));
            } else if let Some(e) = c.with(|v| v.as_ref().err().cloned())? {
                return Err(e);
            }
            chunks.push(c);
        }
        for check in checks {
            check.fetch()??;
        }
        let blocks = chunks
            .iter()
            .map(|c| Node::done(c.task().clone()))
            .collect();
        Ok(DArray {
            meta: self.meta.clone(),
            blocks,
            ew: None,
            chunks: Some(chunks),
        })
    }

    /// Computes every block and assembles the whole array in this process: sparse if the
    /// blocks are sparse.
    pub fn collect(&self, ctx: &Context) -> Result<Block<T>> {
        self.collect_with(ctx, &ArrayOptions::default())
    }

    /// [`DArray::collect`] lowered with `opts`.
    pub fn collect_with(&self, ctx: &Context, opts: &ArrayOptions) -> Result<Block<T>> {
        let blocks = self.collect_blocks(ctx, opts)?;
        crate::dist::assemble(self.grid(), &blocks)
    }

    /// Computes every block and returns them (row-major block order).
    pub fn collect_blocks(&self, ctx: &Context, opts: &ArrayOptions) -> Result<Vec<Block<T>>> {
        let done = self.compute_with(ctx, opts)?;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for c in done.chunks.iter().flatten() {
            let b = c.with(|v| v.clone())??;
            blocks.push(b.into_block());
        }
        Ok(blocks)
    }

    /// [`DArray::collect`] as a dense ndarray.
    pub fn collect_dense(&self, ctx: &Context) -> Result<ArrayD<T>> {
        Ok(self.collect(ctx)?.to_dense())
    }

    /// [`DArray::collect_dense`] lowered with `opts`.
    pub fn collect_dense_with(&self, ctx: &Context, opts: &ArrayOptions) -> Result<ArrayD<T>> {
        Ok(self.collect_with(ctx, opts)?.to_dense())
    }

    /// One task per block applying `f` (no fusion record).
    pub(crate) fn derive<U: Element>(
        &self,
        kind: Kind,
        f: impl Fn(&Block<T>) -> Result<Block<U>> + Send + Sync + 'static,
    ) -> DArray<U> {
        let f = Arc::new(f);
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let f = f.clone();
                Node::task1("map", b, move |v: BlockValue<T>| f(&**v?).map(held))
            })
            .collect();
        DArray::from_blocks(self.meta.grid.clone(), kind, blocks)
    }

    /// One task per block running the named kernel `k` (a registered function: it runs on
    /// any process of a cluster).
    pub(crate) fn derive_k(&self, kind: Kind, k: Kernel<T>) -> DArray<T> {
        let blocks = self
            .blocks
            .iter()
            .map(|b| kernel_node(Options::new(), k.clone(), std::slice::from_ref(b)))
            .collect();
        DArray::from_blocks(self.meta.grid.clone(), kind, blocks)
    }

    /// The element-wise chain that reading this array amounts to: its own chain, or this
    /// array as a leaf. `None` for sparse arrays (they are not fused).
    pub(crate) fn chain(&self) -> Option<Ew<T>> {
        if self.meta.kind != Kind::Dense {
            return None;
        }
        Some(match &self.ew {
            Some(e) => (**e).clone(),
            None => Ew::leaf(self.blocks.clone(), false),
        })
    }

    /// Records `ew` as the fused form of `self`'s blocks.
    pub(crate) fn with_chain(mut self, ew: Option<Ew<T>>) -> Self {
        if let Some(ew) = ew {
            if self.meta.kind == Kind::Dense {
                self.blocks = self
                    .blocks
                    .iter()
                    .enumerate()
                    .map(|(i, u)| Node::switch(ew.block(i), u.clone()))
                    .collect();
                self.ew = Some(Arc::new(ew));
            }
        }
        self
    }
}
