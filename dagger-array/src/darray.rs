//! [`DArray`]: a lazy blocked array on the dagger-sched scheduler. Every operation returns a
//! new lazy array (one [`Node`] per block, built from this crate's block kernels) or a
//! [`Lazy`] value; nothing runs until `compute` or `collect`, which first lower the graph
//! (fusing element-wise chains unless [`ArrayOptions::fuse`] is off) and then submit it.
//!
//! A block task's value is a [`BlockValue`]: the block behind an `Arc` (task arguments are
//! cloned, so big blocks are shared, not copied) in a [`Held`] that counts its bytes, or the
//! [`Error`] that stopped it, which then flows to every dependent and comes out of
//! `compute`/`collect`. Block tasks use the scheduler's default options: an intermediate
//! block is released as soon as its consumers ran.

use crate::binary::Side;
use crate::block::{Block, Kind};

use crate::element::{ArithOp, Element};
use crate::fuse::Ew;
use crate::graph::{kernel_node, load_node, lower, save_node, ArrayOptions, Node};
use crate::grid::BlockGrid;
use crate::index::{Index, IndexPlan};
use crate::io;
use crate::kernel::named::Kernel;
use crate::kernel::program::{scalar_tile, Op};
use crate::linalg::LinalgElement;
use crate::mem::held;

pub use crate::mem::BlockValue;
use crate::meta::ArrayMeta;
use crate::names::{intern, named, or_named};
use crate::reduce;
use crate::unary::{map_block, UnaryOp};
use dagger_core::{Error, Options, Partitioning, Result};
use dagger_sched::{Chunk, Context};
use ndarray::ArrayD;
use num_traits::Float;
use rand::distributions::{Distribution, Standard};
use rand_distr::StandardNormal;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;


/// The number of processors `AutoBlocks` adapts to when an array is built without a context:
/// the threads of `Context::local()`, one per core.
pub fn default_nprocs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// A lazily computed value (a reduction, an index result, a save): [`Lazy::collect`] runs it.
pub struct Lazy<V> {
    pub(crate) node: Node<Result<V>>,
}

impl<V> Clone for Lazy<V> {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> Lazy<V> {
    /// Runs the computation (fusion on) and returns its value.
    pub fn collect(&self, ctx: &Context) -> Result<V> {
        self.collect_with(ctx, &ArrayOptions::default())
    }

    /// Runs the computation lowered with `opts` and returns its value.
    pub fn collect_with(&self, ctx: &Context, opts: &ArrayOptions) -> Result<V> {
        let task = lower(ctx, opts, std::slice::from_ref(&self.node)).pop();
        match task {
            Some(t) => t.fetch()?,
            None => Err(Error::Scheduling("lazy value was not lowered".into())),
        }
    }

    /// The underlying graph node (to use as an input of other lazy values).
    pub fn node(&self) -> &Node<Result<V>> {
        &self.node
    }

    /// A lazy value computed from this one.
    pub fn then<W: Clone + Send + Sync + 'static>(
        &self,
        f: impl Fn(V) -> Result<W> + Send + Sync + 'static,
    ) -> Lazy<W> {
        Lazy {
            node: Node::task1("then", &self.node, move |v: Result<V>| f(v?)),
        }
    }
}

/// Combines nodes pairwise (a balanced tree, so partial results merge in parallel).
pub(crate) fn tree<V, F>(level: Vec<Node<Result<V>>>, f: F) -> Option<Node<Result<V>>>
where
    V: Clone + Send + Sync + 'static,
    F: Fn(V, V) -> Result<V> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let mut level = level;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            if let [a, b] = pair {
                let f = f.clone();
                next.push(Node::task2(
                    "combine",
                    a,
                    b,
                    move |a: Result<V>, b: Result<V>| f(a?, b?),
                ));
            } else {
                next.push(pair[0].clone());
            }
        }
        level = next;
    }
    level.pop()
}

/// Gathers nodes into one node of the vector of their values (in order).
pub(crate) fn gather<V: Clone + Send + Sync + 'static>(
    items: &[Node<Result<V>>],
) -> Node<Result<Vec<V>>> {
    Node::task_all(named("gather"), items, |vs| vs.into_iter().collect())
}

/// Julia's `reducebykey(f, c)` over a distributed collection of `(key, value)` pairs given
/// as parts: each part is reduced by its own task, then the per-part dictionaries are
/// merged pairwise.
///
/// ```
/// use dagger_array::darray::reducebykey;
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let parts = vec![vec![("a", 1), ("b", 2)], vec![("a", 3)], vec![]];
/// let m = reducebykey(parts, |x, y| x + y).collect(&ctx).unwrap();
/// assert_eq!((m["a"], m["b"]), (4, 2));
/// ```
pub fn reducebykey<K, V, F>(parts: Vec<Vec<(K, V)>>, f: F) -> Lazy<HashMap<K, V>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Fn(V, V) -> V + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let maps = parts
        .into_iter()
        .map(|p| {
            let (f, p) = (f.clone(), Arc::new(p));
            Node::task0(named("reducebykey"), move || {
                Ok(reduce::reducebykey(p.iter().cloned(), |a, b| f(a, b)))
            })
        })
        .collect();
    let g = f.clone();
    let node = tree(maps, move |a, b| {
        Ok(reduce::merge_by_key(a, b, |x, y| g(x, y)))
    })
    .unwrap_or_else(|| Node::task0(named("reducebykey"), || Ok(HashMap::new())));
    Lazy { node }
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

impl<T: Element> fmt::Debug for DArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DArray({self})")
    }
}

/// Moves a value between two types that are known (by `TypeId`) to be the same.
fn same_type<A: 'static, B: 'static>(a: A) -> Option<B> {
    let b: Box<dyn Any> = Box::new(a);
    b.downcast::<B>().ok().map(|b| *b)
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

    /// An array whose block `i` of shape `s` is made by the kernel `make(s, i)`.
    fn alloc(
        part: &dyn Partitioning,
        shape: &[usize],
        kind: Kind,
        make: impl Fn(Vec<usize>, usize) -> Kernel<T>,
    ) -> Result<Self> {
        let grid = BlockGrid::new(shape, part, default_nprocs())?;
        Ok(Self::from_fn(grid, kind, |i, s| {
            kernel_node(Options::new(), make(s, i), &[])
        }))
    }

    /// An array of ones (the reference's `ones(Blocks(..), dims...)`).
    pub fn ones(part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::fill(T::one(), part, shape)
    }

    /// An array of zeros.
    pub fn zeros(part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::fill(T::zero(), part, shape)
    }

    /// An array filled with `v`.
    pub fn fill(v: T, part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::alloc(part, shape, Kind::Dense, move |shape, _| Kernel::Fill {
            shape,
            value: v,
        })
    }

    /// Uniform random values (`[0, 1)` for floats); every call draws a new seed.
    pub fn rand(part: &dyn Partitioning, shape: &[usize]) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::rand_seeded(part, shape, rand::random::<u64>())
    }

    /// Uniform random values from `seed` (block `i` uses stream `i`: reproducible anywhere).
    pub fn rand_seeded(part: &dyn Partitioning, shape: &[usize], seed: u64) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::alloc(part, shape, Kind::Dense, move |shape, block| Kernel::Rand {
            shape,
            seed,
            block,
        })
    }

    /// Standard normal values; every call draws a new seed.
    pub fn randn(part: &dyn Partitioning, shape: &[usize]) -> Result<Self>
    where
        StandardNormal: Distribution<T>,
    {
        Self::randn_seeded(part, shape, rand::random::<u64>())
    }

    /// Standard normal values from `seed`.
    pub fn randn_seeded(part: &dyn Partitioning, shape: &[usize], seed: u64) -> Result<Self>
    where
        StandardNormal: Distribution<T>,
    {
        Self::alloc(part, shape, Kind::Dense, move |shape, block| {
            Kernel::Randn { shape, seed, block }
        })
    }

    /// A sparse random matrix (2-D shape) or vector (1-D) with the given density.
    pub fn sprand(part: &dyn Partitioning, shape: &[usize], density: f64) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::sprand_seeded(part, shape, density, rand::random::<u64>())
    }

    /// [`DArray::sprand`] from `seed`.
    pub fn sprand_seeded(
        part: &dyn Partitioning,
        shape: &[usize],
        density: f64,
        seed: u64,
    ) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        if !(0.0..=1.0).contains(&density) || !(1..=2).contains(&shape.len()) {
            return Err(Error::Argument(format!(
                "sprand: needs a 1-D or 2-D shape and a density in [0, 1], got {shape:?} and {density}"
            )));
        }
        Self::alloc(part, shape, Kind::Sparse, move |shape, block| {
            Kernel::Sprand {
                shape,
                density,
                seed,
                block,
            }
        })
    }

    /// Cuts a whole array (dense or sparse) into blocks (the reference's
    /// `Distribute(Blocks(..), a)`).
    pub fn distribute(whole: Block<T>, part: &dyn Partitioning) -> Result<Self> {
        Self::distribute_with(whole, part, |_| Options::new())
    }

    /// [`DArray::distribute`] with the options of block `i`'s task (its scope: see
    /// [`crate::assign`]).
    pub(crate) fn distribute_with(
        whole: Block<T>,
        part: &dyn Partitioning,
        opts: impl Fn(usize) -> Options,
    ) -> Result<Self> {
        let grid = BlockGrid::new(&whole.shape(), part, default_nprocs())?;
        let kind = whole.kind();
        let blocks = crate::dist::distribute(&whole, &grid)?;
        let mut it = blocks.into_iter().map(held);
        Ok(Self::from_fn(grid, kind, |i, _| {
            let b = it.next();
            Node::task0(or_named(opts(i), || intern("distribute")), move || {
                b.clone()
                    .ok_or_else(|| Error::Argument("distribute: missing block".into()))
            })
        }))
    }

    /// [`DArray::distribute`] of a dense ndarray.
    pub fn from_array(a: ArrayD<T>, part: &dyn Partitioning) -> Result<Self> {
        Self::distribute(Block::Dense(a), part)
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
        // block lives (a tiny `check` task beside it) instead of moving the blocks here.
        let checks: Vec<_> = if ctx.workers().iter().any(|w| *w != ctx.worker_id()) {
            tasks
                .iter()
                .map(|t| {
                    Some(ctx.spawn_fn_with(
                        &crate::names::named("check"),
                        T::kernels().p1,
                        (dagger_sched::Val(Kernel::<T>::Check), t),
                    ))
                })
                .collect()
        } else {
            tasks.iter().map(|_| None).collect()
        };
        let mut chunks = Vec::with_capacity(tasks.len());
        for (t, check) in tasks.into_iter().zip(checks) {
            let c = t.chunk()?;
            match check {
                Some(check) => {
                    check.fetch()??;
                }
                None => {
                    if let Some(e) = c.with(|v| v.as_ref().err().cloned())? {
                        return Err(e);
                    }
                }
            }
            chunks.push(c);
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

    /// `f` applied to every element (`map(f, c)`); sparse stays sparse when `f(0) == 0`.
    /// A map from `T` to `T` on a dense array joins the element-wise chain (fusion).
    pub fn map<U: Element>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DArray<U> {
        let kind = if f(T::zero()) == U::zero() {
            self.meta.kind
        } else {
            Kind::Dense
        };
        let f = Arc::new(f);
        let g = f.clone();
        let out = self.derive(kind, move |b| Ok(map_block(b, &*g)));
        if TypeId::of::<U>() != TypeId::of::<T>() {
            return out;
        }
        let ew = self.chain().map(|c| {
            c.then(move |out: &mut [T]| {
                for v in out.iter_mut() {
                    // U is T here (checked above), so the cast is the identity; it keeps
                    // the user's closure statically known, so the loop inlines it.
                    *v = T::from(f(*v)).unwrap_or(*v);
                }
                Ok(())
            })
        });
        match same_type::<Option<Ew<T>>, Option<Ew<U>>>(ew) {
            Some(ew) => out.with_chain(ew),
            None => out,
        }
    }

    /// A named element-wise function (`exp.(X)`, `sinc.(X)`, …).
    pub fn unary(&self, op: UnaryOp) -> DArray<T>
    where
        T: Float,
    {
        let kind = if op.apply(T::zero()) == T::zero() {
            self.meta.kind
        } else {
            Kind::Dense
        };
        let out = self.derive_k(kind, Kernel::Unary(op));
        let ew = self.chain().map(|c| {
            c.then_named(Op::Unary(op), move |out: &mut [T]| {
                for v in out.iter_mut() {
                    *v = op.apply(*v);
                }
                Ok(())
            })
        });
        out.with_chain(ew)
    }

    /// This array with the blocking `grid` (same shape): each new block is cut and glued from
    /// the old blocks it overlaps, one task per new block. A no-op when the grids agree.
    pub fn reblock(&self, grid: &BlockGrid) -> Result<DArray<T>> {
        if grid.shape() != self.shape() {
            return Err(Error::DimensionMismatch(format!(
                "cannot re-block a {:?} array into a {:?} grid",
                self.shape(),
                grid.shape()
            )));
        }
        if grid == self.grid() {
            return Ok(self.clone());
        }
        let blocks = grid
            .iter_coords()
            .map(|c| {
                let idx: Vec<Index> = grid
                    .block_ranges(&c)
                    .into_iter()
                    .map(Index::Range)
                    .collect();
                let plan = Arc::new(IndexPlan::new(self.grid(), &idx)?);
                let srcs: Vec<_> = plan
                    .pieces()
                    .iter()
                    .map(|p| self.blocks[p.block].clone())
                    .collect();
                // In one process, one task cuts and glues straight from the source blocks;
                // on a cluster each piece is cut where its source block lives, so only the
                // pieces move.
                let local = kernel_node(Options::new(), Kernel::Reblock((*plan).clone()), &srcs);
                let pieces: Vec<_> = plan
                    .pieces()
                    .iter()
                    .zip(&srcs)
                    .map(|(p, s)| {
                        kernel_node(
                            Options::new(),
                            Kernel::Gather(p.clone()),
                            std::slice::from_ref(s),
                        )
                    })
                    .collect();
                let cluster =
                    kernel_node(Options::new(), Kernel::Assemble((*plan).clone()), &pieces);
                Ok(Node::placed(cluster, local))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DArray::from_blocks(grid.clone(), self.meta.kind, blocks))
    }

    /// [`DArray::reblock`] by a partitioning (`distribute(A::DArray, Blocks(..))`).
    pub fn redistribute(&self, part: &dyn Partitioning) -> Result<DArray<T>> {
        self.reblock(&BlockGrid::new(self.shape(), part, default_nprocs())?)
    }

    fn check_same_shape(&self, other: &DArray<T>) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(Error::DimensionMismatch(format!(
                "Sizes of A {:?} and B {:?} must match",
                self.shape(),
                other.shape()
            )));
        }
        Ok(())
    }

    /// `self op other` element-wise; the shapes must agree. When the blockings differ,
    /// `other` is re-blocked to `self`'s blocking first.
    pub fn arith(&self, other: &DArray<T>, op: ArithOp) -> Result<DArray<T>> {
        self.check_same_shape(other)?;
        let other = other.reblock(self.grid())?;
        let sparse = self.meta.kind == Kind::Sparse && other.meta.kind == Kind::Sparse;
        let zero = T::arith(op, T::zero(), T::zero());
        let kind = if sparse && zero == Some(T::zero()) {
            Kind::Sparse
        } else {
            Kind::Dense
        };
        let blocks = self
            .blocks
            .iter()
            .zip(&other.blocks)
            .map(|(a, b)| kernel_node(Options::new(), Kernel::Arith(op), &[a.clone(), b.clone()]))
            .collect();
        let out = DArray::from_blocks(self.meta.grid.clone(), kind, blocks);
        let ew = match (self.chain(), other.chain()) {
            (Some(a), Some(b)) => a.zip(&b, op),
            _ => None,
        };
        Ok(out.with_chain(ew))
    }

    /// `self op s` (or `s op self`) element-wise (`X .* 3.4`).
    pub fn arith_scalar(&self, s: T, op: ArithOp, side: Side) -> DArray<T> {
        let keeps = match side {
            Side::Right => T::arith(op, T::zero(), s),
            Side::Left => T::arith(op, s, T::zero()),
        } == Some(T::zero());
        let kind = if keeps { self.meta.kind } else { Kind::Dense };
        let out = self.derive_k(kind, Kernel::ArithScalar { op, s, side });
        let ew = self.chain().map(|c| {
            c.then_named(Op::Scalar(op, s, side), move |out: &mut [T]| {
                scalar_tile(out, op, s, side)
            })
        });
        out.with_chain(ew)
    }

    /// The transpose of a matrix (`x'`): block `(i, j)` is the transpose of block `(j, i)`.
    /// A dense transpose joins the element-wise chain: a fused consumer reads the source
    /// blocks through a transposed view.
    pub fn transpose(&self) -> Result<DArray<T>> {
        if self.grid().ndim() != 2 {
            return Err(Error::Argument(format!(
                "transpose of a {}-d array",
                self.grid().ndim()
            )));
        }
        let g = self.grid();
        let tg = g.transposed();
        let perm: Vec<usize> = tg
            .iter_coords()
            .map(|c| g.block_linear(&[c[1], c[0]]))
            .collect();
        let blocks = perm
            .iter()
            .map(|&j| {
                kernel_node(
                    Options::new(),
                    Kernel::Transpose,
                    std::slice::from_ref(&self.blocks[j]),
                )
            })
            .collect();
        let out = DArray::from_blocks(tg, self.meta.kind, blocks);
        let ew = self.chain().map(|c| c.transposed(&perm));
        Ok(out.with_chain(ew))
    }

    /// Saves the array: the metadata file at `path` and one payload per block in
    /// `<path>_data/`. Each block is written by a registered kernel where the block lives
    /// (a worker process on a cluster), which sends back only the block's record; the
    /// metadata file is written last, from those records, so it only ever describes
    /// complete payloads. `path` is a local path (made absolute here, so every process
    /// reads it alike) or a store location such as `s3://bucket/prefix/name`.
    pub fn save(&self, path: impl AsRef<Path>) -> Lazy<io::SavedArray> {
        let path: Arc<PathBuf> = Arc::new(
            io::shared_path(path.as_ref()).unwrap_or_else(|_| path.as_ref().to_path_buf()),
        );
        let parts: Vec<_> = self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| save_node(path.clone(), i, b))
            .collect();
        let all = gather(&parts);
        let meta = self.meta.clone();
        let node = Node::task1("save", &all, move |v: Result<Vec<io::SavedBlock>>| {
            let saved = io::SavedArray {
                format: io::FORMAT.into(),
                meta: meta.clone(),
                blocks: v?,
            };
            io::write_meta(&path, &saved)?;
            Ok(saved)
        });
        Lazy { node }
    }

    /// Opens an array saved at `path`: the metadata is read (and checked) now, in this
    /// process; each block is read by its own registered kernel, which on a cluster runs on
    /// a worker process and keeps the block there (it never passes through this process).
    /// A missing or damaged payload comes out of `compute`/`collect` as
    /// [`Error::NotFound`]/[`Error::Corrupt`] naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<DArray<T>> {
        let path = io::shared_path(path.as_ref())?;
        let saved = io::read_meta(&path)?;
        if saved.meta.eltype != T::NAME {
            return Err(Error::Argument(format!(
                "{} holds {} elements, not {}",
                path.display(),
                saved.meta.eltype,
                T::NAME
            )));
        }
        let path = Arc::new(path);
        Ok(Self::from_fn(
            saved.meta.grid.clone(),
            saved.meta.kind,
            // ok: `read_meta` checked there is one entry per block of the grid.
            |i, shape| load_node(path.clone(), saved.blocks[i].clone(), shape),
        ))
    }

    /// `X[idx...]` (ranges, index lists, `:`, scalars; 0-based): the selected elements,
    /// assembled (sparse for sparse arrays, scalar dimensions dropped).
    pub fn index(&self, idx: &[Index]) -> Result<Lazy<Block<T>>> {
        let plan = Arc::new(IndexPlan::new(self.grid(), idx)?);
        let parts: Vec<_> = plan
            .pieces()
            .iter()
            .map(|p| {
                let src = &self.blocks[p.block];
                kernel_node(
                    Options::new(),
                    Kernel::Gather(p.clone()),
                    std::slice::from_ref(src),
                )
            })
            .collect();
        // The pieces are assembled where the result is asked for (the driver).
        let all = Node::task_all(named("gather"), &parts, |vs: Vec<BlockValue<T>>| {
            vs.into_iter()
                .map(|v| v.map(|h| h.into_block()))
                .collect::<Result<Vec<_>>>()
        });
        let node = Node::task1(
            "getindex assemble",
            &all,
            move |v: Result<Vec<Block<T>>>| plan.assemble(&v?),
        );
        Ok(Lazy { node })
    }
}

impl<T: LinalgElement> DArray<T> {
    /// The matrix product `self · other` (matrix × matrix or matrix × vector): block `(i, j)`
    /// accumulates `A[i, k] · B[k, j]` over `k`, one task per partial product. The inner block
    /// splits must agree.
    pub fn matmul(&self, other: &DArray<T>) -> Result<DArray<T>> {
        let (ag, bg) = (self.grid(), other.grid());
        let cg = ag.matmul(bg)?;
        let kn = ag.grid_shape()[1];
        let kind = if self.meta.kind == Kind::Sparse && other.meta.kind == Kind::Sparse {
            Kind::Sparse
        } else {
            Kind::Dense
        };
        let blocks = cg
            .iter_coords()
            .map(|c| {
                let mut acc: Option<Node<BlockValue<T>>> = None;
                for k in 0..kn {
                    let a = &self.blocks[ag.block_linear(&[c[0], k])];
                    let bc = if bg.ndim() == 2 {
                        vec![k, c[1]]
                    } else {
                        vec![k]
                    };
                    let b = &other.blocks[bg.block_linear(&bc)];
                    acc = Some(match acc {
                        None => {
                            kernel_node(Options::new(), Kernel::Matmul, &[a.clone(), b.clone()])
                        }
                        // c += a·b in place when dense: no temporary partial product.
                        Some(prev) => kernel_node(
                            Options::new(),
                            Kernel::MatmulAcc,
                            &[prev, a.clone(), b.clone()],
                        ),
                    });
                }
                let shape = cg.block_shape(&c);
                acc.unwrap_or_else(|| {
                    kernel_node(
                        Options::new(),
                        Kernel::Fill {
                            shape,
                            value: T::zero(),
                        },
                        &[],
                    )
                })
            })
            .collect();
        Ok(DArray::from_blocks(cg, kind, blocks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::{AutoBlocks, Blocks};

    fn ctx() -> Context {
        Context::builder().threads(2).build()
    }

    #[test]
    fn sum_of_squares_of_randn() {
        let ctx = ctx();
        let (n, m) = (300, 200);
        let x = DArray::<f64>::randn(&Blocks::from([128, 128]), &[n, m]).unwrap();
        let s = x.map(|v| v * v).sum().collect(&ctx).unwrap();
        let nm = (n * m) as f64;
        // The sum of n·m squared normals has mean n·m and standard deviation sqrt(2·n·m).
        assert!((s - nm).abs() < 6.0 * (2.0 * nm).sqrt(), "{s}");
    }

    #[test]
    fn distribute_map_sum_1000() {
        let ctx = ctx();
        let a = crate::create::rand_block::<f64>(&[1000, 1000], 5, 0);
        let want: f64 = a.iter().map(|x| x * x).sum();
        let b = DArray::from_array(a.clone(), &Blocks::from([100, 100])).unwrap();
        assert_eq!(b.grid().grid_shape(), vec![10, 10]);
        let c = b.map(|x| x * x);
        let d = c.sum().collect(&ctx).unwrap();
        assert!((d - want).abs() < 1e-9 * want);
        assert_eq!(b.collect_dense(&ctx).unwrap(), a);
        let computed = c.compute(&ctx).unwrap();
        assert_eq!(computed.chunks().map(<[_]>::len), Some(100));
        assert!(computed
            .chunks()
            .unwrap()
            .iter()
            .all(|ch| ch.size_bytes() >= 100 * 100 * 8));
        assert!(computed
            .to_string()
            .starts_with("Computed(1000×1000 f64 in 100 parts"));
        // Reusing the computed array in new work.
        let e = computed
            .arith_scalar(2.0, ArithOp::Mul, Side::Right)
            .sum()
            .collect(&ctx)
            .unwrap();
        assert!((e - 2.0 * want).abs() < 1e-9 * want);
    }

    #[test]
    fn sparse_matvec_against_sprs() {
        let ctx = ctx();
        let s1 =
            DArray::<f64>::sprand_seeded(&Blocks::from([40, 40]), &[100, 100], 0.05, 1).unwrap();
        let s2 = DArray::<f64>::sprand_seeded(&Blocks::from([40]), &[100], 0.3, 2).unwrap();
        assert_eq!(s2.to_string(), "100 sparse f64 in 3 parts of at most 40");
        let y = s1.matmul(&s2).unwrap();
        let got = y.collect(&ctx).unwrap();
        assert!(matches!(got, Block::SparseVec(_)));
        let (Block::SparseMat(m), Block::SparseVec(v)) =
            (s1.collect(&ctx).unwrap(), s2.collect(&ctx).unwrap())
        else {
            panic!("sparse blocks expected")
        };
        let want = (&m * &v).to_dense();
        let diff = (&got.to_dense() - &want.into_dyn()).mapv(f64::abs).sum();
        assert!(diff < 1e-12, "{diff}");
    }

    #[test]
    fn dense_products_transpose_and_dims() {
        let ctx = ctx();
        let a = crate::create::rand_block::<f64>(&[30, 20], 1, 0);
        let x = DArray::from_array(a.clone(), &Blocks::from([10, 8])).unwrap();
        let xt = x.transpose().unwrap();
        assert_eq!(xt.grid().grid_shape(), vec![3, 3]);
        assert_eq!(xt.collect_dense(&ctx).unwrap(), a.t().to_owned());
        let g = x.matmul(&xt).unwrap().collect_dense(&ctx).unwrap();
        let want = crate::linalg::matmul_dense(&a, &crate::linalg::transpose_dense(&a)).unwrap();
        assert!((&g - &want).mapv(f64::abs).sum() < 1e-10);
        let bad = DArray::from_array(a.clone(), &Blocks::from([10, 10])).unwrap();
        assert!(matches!(x.matmul(&bad), Err(Error::DimensionMismatch(_))));
        let s1 = x.sum_dim(0).unwrap().collect_dense(&ctx).unwrap();
        assert_eq!(s1.shape(), &[1, 20]);
        assert!((s1.sum() - a.sum()).abs() < 1e-9);
        let mx = x.maximum().collect(&ctx).unwrap();
        assert_eq!(mx, a.iter().copied().fold(f64::MIN, f64::max));
        assert!((x.mean().collect(&ctx).unwrap() - a.mean().unwrap()).abs() < 1e-12);
        let nb = x.reduceblock(|b| b.nnz()).collect(&ctx).unwrap();
        assert_eq!(nb.shape(), &[3, 3]);
        assert_eq!(nb.sum(), 600);
        let sub = x
            .index(&[(2..8).into(), vec![19, 0, 5].into()])
            .unwrap()
            .collect(&ctx)
            .unwrap();
        assert_eq!(sub.to_dense()[[0, 0]], a[[2, 19]]);
        assert_eq!(sub.shape(), vec![6, 3]);
    }

    #[test]
    fn errors_flow_and_save_load() {
        let ctx = ctx();
        let a = DArray::<i64>::ones(&AutoBlocks, &[4, 6]).unwrap();
        let z = DArray::<i64>::zeros(&AutoBlocks, &[4, 6]).unwrap();
        let q = a.arith(&z, ArithOp::Div).unwrap();
        assert!(
            matches!(q.sum().collect(&ctx).unwrap_err().root_cause(), Error::Argument(m) if m.contains("DivideError"))
        );
        assert!(q.compute(&ctx).is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("X_sq");
        let x = DArray::<f64>::randn_seeded(&Blocks::from([7, 7]), &[20, 15], 3).unwrap();
        let sq = x.map(|v| v * v);
        sq.save(&path).collect(&ctx).unwrap();
        let back = DArray::<f64>::load(&path).unwrap();
        assert_eq!(
            back.collect_dense(&ctx).unwrap(),
            sq.collect_dense(&ctx).unwrap()
        );
        assert!(DArray::<f32>::load(&path).is_err());
        std::fs::remove_file(io::data_dir(&path).join("block_0.bin")).unwrap();
        let err = DArray::<f64>::load(&path)
            .unwrap()
            .sum()
            .collect(&ctx)
            .unwrap_err();
        assert!(err.to_string().contains("block_0.bin"), "{err}");
    }

    /// The save and load kernels (what a worker runs) on a local context: the round trip,
    /// and a damaged, missing or misnamed payload as a typed error naming the file.
    #[test]
    fn save_and_load_kernels() {
        let ctx = dagger_sched::Context::builder().threads(2).build();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("K");
        let x = DArray::<i32>::rand_seeded(&Blocks::from([4, 3]), &[9, 7], 5).unwrap();
        let saved = x.save(&path).collect(&ctx).unwrap();
        assert_eq!(saved.blocks.len(), 9);
        let back = DArray::<i32>::load(&path).unwrap();
        assert_eq!(back.collect(&ctx).unwrap(), x.collect(&ctx).unwrap());

        let entry = saved.blocks[4].clone();
        let shape = saved
            .meta
            .grid
            .block_shape(&saved.meta.grid.block_coords(4));
        let ok = crate::remote::load_block::<i32>(&path, &entry, &shape).unwrap();
        assert_eq!(ok.shape(), shape);
        let bad = io::SavedBlock {
            file: "../block_4.bin".into(),
            ..entry.clone()
        };
        let err = crate::remote::load_block::<i32>(&path, &bad, &shape).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        // A wrong shape from the driver is a corrupt-payload error, not a panic.
        let err = crate::remote::load_block::<i32>(&path, &entry, &[3, 3]).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");

        // A damaged payload fails the load task; the error names the file.
        let f = io::data_dir(&path).join("block_4.bin");
        let mut bytes = std::fs::read(&f).unwrap();
        bytes[0] ^= 1;
        std::fs::write(&f, &bytes).unwrap();
        let err = DArray::<i32>::load(&path)
            .unwrap()
            .collect(&ctx)
            .unwrap_err();
        match err.root_cause() {
            Error::Corrupt { what, detail } => {
                assert!(what.ends_with("block_4.bin") && detail.contains("checksum"))
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // A truncated one too.
        std::fs::write(&f, &bytes[..bytes.len() - 4]).unwrap();
        let err = crate::remote::load_block::<i32>(&path, &entry, &shape).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { what, detail } if what.ends_with("block_4.bin") && detail.contains("expected")),
            "{err:?}"
        );
        std::fs::remove_file(&f).unwrap();
        let err = DArray::<i32>::load(&path)
            .unwrap()
            .collect(&ctx)
            .unwrap_err();
        assert!(
            matches!(err.root_cause(), Error::NotFound(p) if p.ends_with("block_4.bin")),
            "{err:?}"
        );
    }
}
