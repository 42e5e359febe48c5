//! [`DArray`]: a lazy blocked array on the dagger-sched scheduler. Every operation returns a
//! new lazy array (one [`Thunk`] per block, built from this crate's block kernels) or a
//! [`Lazy`] value; nothing runs until `compute` or `collect`.
//!
//! A block task's value is a [`BlockValue`]: the block behind an `Arc` (task arguments are
//! cloned, so big blocks are shared, not copied), or the [`Error`] that stopped it, which
//! then flows to every dependent and comes out of `compute`/`collect`.

use crate::binary::{arith_block, arith_scalar_block, Side};
use crate::block::{Block, Kind};
use crate::create::{ones_block, rand_block, randn_block, sprand_block, zeros_block};
use crate::element::{ArithOp, Element};
use crate::grid::BlockGrid;
use crate::index::{Index, IndexPlan};
use crate::io;
use crate::linalg::{accumulate, matmul_block, transpose_block, LinalgElement};
use crate::meta::ArrayMeta;
use crate::reduce::{self, ReduceOp};
use crate::unary::{map_block, UnaryOp};
use dagger_core::{Error, Options, Partitioning, Result};
use dagger_sched::{delayed_with, Chunk, Context, Thunk};
use ndarray::ArrayD;
use num_traits::Float;
use rand::distributions::{Distribution, Standard};
use rand_distr::StandardNormal;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one block task produces.
pub type BlockValue<T> = Result<Arc<Block<T>>>;

/// Block tasks are cached so that a block used by several later tasks (a matrix product uses
/// each input block many times) runs once even when its users are submitted separately.
fn opts() -> Options {
    Options::new().cache(true)
}

/// The number of processors `AutoBlocks` adapts to when an array is built without a context:
/// the threads of `Context::local()`, one per core.
pub fn default_nprocs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn block_size<T: Element>(v: &BlockValue<T>) -> u64 {
    v.as_ref().map(|b| b.nbytes() as u64).unwrap_or(0)
}

/// A lazily computed value (a reduction, an index result, a save): [`Lazy::collect`] runs it.
pub struct Lazy<V> {
    thunk: Thunk<Result<V>>,
}

impl<V: Clone + Send + Sync + 'static> Lazy<V> {
    /// Runs the computation and returns its value.
    pub fn collect(&self, ctx: &Context) -> Result<V> {
        self.thunk.collect(ctx)?
    }

    /// The underlying thunk (to use as an input of other lazy tasks).
    pub fn thunk(&self) -> &Thunk<Result<V>> {
        &self.thunk
    }
}

/// Combines thunks pairwise (a balanced tree, so partial results merge in parallel).
fn tree<V, F>(level: Vec<Thunk<Result<V>>>, f: F) -> Option<Thunk<Result<V>>>
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
                next.push(delayed_with(
                    opts(),
                    move |(a, b): (Result<V>, Result<V>)| f(a?, b?),
                    (a, b),
                ));
            } else {
                next.push(pair[0].clone());
            }
        }
        level = next;
    }
    level.pop()
}

/// Gathers thunks into one thunk of the vector of their values (in order).
fn gather<V: Clone + Send + Sync + 'static>(items: Vec<Thunk<Result<V>>>) -> Thunk<Result<Vec<V>>> {
    let wrapped = items
        .iter()
        .map(|t| delayed_with(opts(), |(v,): (Result<V>,)| v.map(|v| vec![v]), (t,)))
        .collect();
    tree(wrapped, |mut a: Vec<V>, b| {
        a.extend(b);
        Ok(a)
    })
    .unwrap_or_else(|| delayed_with(opts(), |()| Ok(Vec::new()), ()))
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
            delayed_with(
                opts(),
                move |()| Ok(reduce::reducebykey(p.iter().cloned(), |a, b| f(a, b))),
                (),
            )
        })
        .collect();
    let g = f.clone();
    let thunk = tree(maps, move |a, b| {
        Ok(reduce::merge_by_key(a, b, |x, y| g(x, y)))
    })
    .unwrap_or_else(|| delayed_with(opts(), |()| Ok(HashMap::new()), ()));
    Lazy { thunk }
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
pub struct DArray<T> {
    meta: ArrayMeta,
    blocks: Vec<Thunk<BlockValue<T>>>,
    chunks: Option<Vec<Chunk<BlockValue<T>>>>,
}

impl<T> Clone for DArray<T> {
    fn clone(&self) -> Self {
        Self {
            meta: self.meta.clone(),
            blocks: self.blocks.clone(),
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

impl<T: Element> DArray<T> {
    fn from_fn(
        grid: BlockGrid,
        kind: Kind,
        mut make: impl FnMut(usize, Vec<usize>) -> Thunk<BlockValue<T>>,
    ) -> Self {
        let blocks = (0..grid.num_blocks())
            .map(|i| make(i, grid.block_shape(&grid.block_coords(i))))
            .collect();
        Self {
            meta: ArrayMeta::new(grid, T::NAME, kind),
            blocks,
            chunks: None,
        }
    }

    fn alloc(
        part: &dyn Partitioning,
        shape: &[usize],
        kind: Kind,
        f: impl Fn(&[usize], usize) -> Result<Block<T>> + Send + Sync + 'static,
    ) -> Result<Self> {
        let grid = BlockGrid::new(shape, part, default_nprocs())?;
        let f = Arc::new(f);
        Ok(Self::from_fn(grid, kind, |i, s| {
            let f = f.clone();
            delayed_with(opts(), move |()| f(&s, i).map(Arc::new), ())
        }))
    }

    /// An array of ones (the reference's `ones(Blocks(..), dims...)`).
    pub fn ones(part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::alloc(part, shape, Kind::Dense, |s, _| {
            Ok(Block::Dense(ones_block(s)))
        })
    }

    /// An array of zeros.
    pub fn zeros(part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::alloc(part, shape, Kind::Dense, |s, _| {
            Ok(Block::Dense(zeros_block(s)))
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
        Self::alloc(part, shape, Kind::Dense, move |s, i| {
            Ok(Block::Dense(rand_block(s, seed, i)))
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
        Self::alloc(part, shape, Kind::Dense, move |s, i| {
            Ok(Block::Dense(randn_block(s, seed, i)))
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
        Self::alloc(part, shape, Kind::Sparse, move |s, i| {
            sprand_block(s, density, seed, i)
        })
    }

    /// Cuts a whole array (dense or sparse) into blocks (the reference's
    /// `Distribute(Blocks(..), a)`).
    pub fn distribute(whole: Block<T>, part: &dyn Partitioning) -> Result<Self> {
        let grid = BlockGrid::new(&whole.shape(), part, default_nprocs())?;
        let kind = whole.kind();
        let blocks = crate::dist::distribute(&whole, &grid)?;
        let mut it = blocks.into_iter().map(Arc::new);
        Ok(Self::from_fn(grid, kind, |_, _| {
            let b = it.next();
            delayed_with(
                opts(),
                move |()| {
                    b.clone()
                        .ok_or_else(|| Error::Argument("distribute: missing block".into()))
                },
                (),
            )
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

    /// The block grid.
    pub fn grid(&self) -> &BlockGrid {
        &self.meta.grid
    }

    /// The block thunks, in row-major block order.
    pub fn blocks(&self) -> &[Thunk<BlockValue<T>>] {
        &self.blocks
    }

    /// The computed blocks' chunks (where each lives, its size), after [`DArray::compute`].
    pub fn chunks(&self) -> Option<&[Chunk<BlockValue<T>>]> {
        self.chunks.as_deref()
    }

    /// Runs every block and returns an array whose blocks are the resulting chunks (kept where
    /// they were computed). The first failed block's error is returned.
    pub fn compute(&self, ctx: &Context) -> Result<DArray<T>> {
        dagger_sched::register_size::<BlockValue<T>>(block_size::<T>);
        // Submit everything before waiting on anything, so blocks run in parallel.
        let tasks: Vec<_> = self.blocks.iter().map(|b| b.submit(ctx)).collect();
        let mut chunks = Vec::with_capacity(tasks.len());
        for t in tasks {
            let c = t.chunk()?;
            if let Some(e) = c.with(|v| v.as_ref().err().cloned())? {
                return Err(e);
            }
            chunks.push(c);
        }
        let blocks = chunks
            .iter()
            .map(|c| delayed_with(opts(), |(v,): (BlockValue<T>,)| v, (c,)))
            .collect();
        Ok(DArray {
            meta: self.meta.clone(),
            blocks,
            chunks: Some(chunks),
        })
    }

    /// Computes every block and assembles the whole array in this process: sparse if the
    /// blocks are sparse.
    pub fn collect(&self, ctx: &Context) -> Result<Block<T>> {
        let done = self.compute(ctx)?;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for c in done.chunks.iter().flatten() {
            let b = c.with(|v| v.clone())??;
            blocks.push(Arc::try_unwrap(b).unwrap_or_else(|a| (*a).clone()));
        }
        crate::dist::assemble(self.grid(), &blocks)
    }

    /// [`DArray::collect`] as a dense ndarray.
    pub fn collect_dense(&self, ctx: &Context) -> Result<ArrayD<T>> {
        Ok(self.collect(ctx)?.to_dense())
    }

    fn derive<U: Element>(
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
                delayed_with(
                    opts(),
                    move |(v,): (BlockValue<T>,)| f(&*v?).map(Arc::new),
                    (b,),
                )
            })
            .collect();
        DArray {
            meta: ArrayMeta::new(self.meta.grid.clone(), U::NAME, kind),
            blocks,
            chunks: None,
        }
    }

    /// `f` applied to every element (`map(f, c)`); sparse stays sparse when `f(0) == 0`.
    pub fn map<U: Element>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DArray<U> {
        let kind = if f(T::zero()) == U::zero() {
            self.meta.kind
        } else {
            Kind::Dense
        };
        self.derive(kind, move |b| Ok(map_block(b, &f)))
    }

    /// A named element-wise function (`exp.(X)`, `sinc.(X)`, …).
    pub fn unary(&self, op: UnaryOp) -> DArray<T>
    where
        T: Float,
    {
        self.map(move |x| op.apply(x))
    }

    /// `self op other` element-wise; both arrays must have the same shape and blocking.
    pub fn arith(&self, other: &DArray<T>, op: ArithOp) -> Result<DArray<T>> {
        if self.shape() != other.shape() {
            return Err(Error::DimensionMismatch(format!(
                "Sizes of A {:?} and B {:?} must match",
                self.shape(),
                other.shape()
            )));
        }
        if self.grid() != other.grid() {
            return Err(Error::DimensionMismatch(
                "element-wise operands have different block distributions".into(),
            ));
        }
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
            .map(|(a, b)| {
                delayed_with(
                    opts(),
                    move |(a, b): (BlockValue<T>, BlockValue<T>)| {
                        arith_block(&*a?, &*b?, op).map(Arc::new)
                    },
                    (a, b),
                )
            })
            .collect();
        Ok(DArray {
            meta: ArrayMeta::new(self.meta.grid.clone(), T::NAME, kind),
            blocks,
            chunks: None,
        })
    }

    /// `self op s` (or `s op self`) element-wise (`X .* 3.4`).
    pub fn arith_scalar(&self, s: T, op: ArithOp, side: Side) -> DArray<T> {
        let keeps = match side {
            Side::Right => T::arith(op, T::zero(), s),
            Side::Left => T::arith(op, s, T::zero()),
        } == Some(T::zero());
        let kind = if keeps { self.meta.kind } else { Kind::Dense };
        self.derive(kind, move |b| arith_scalar_block(b, s, op, side))
    }

    /// The transpose of a matrix (`x'`): block `(i, j)` is the transpose of block `(j, i)`.
    pub fn transpose(&self) -> Result<DArray<T>> {
        if self.grid().ndim() != 2 {
            return Err(Error::Argument(format!(
                "transpose of a {}-d array",
                self.grid().ndim()
            )));
        }
        let g = self.grid();
        let tg = g.transposed();
        let blocks = tg
            .iter_coords()
            .map(|c| {
                let src = &self.blocks[g.block_linear(&[c[1], c[0]])];
                delayed_with(
                    opts(),
                    |(v,): (BlockValue<T>,)| Ok(Arc::new(transpose_block(&*v?))),
                    (src,),
                )
            })
            .collect();
        Ok(DArray {
            meta: ArrayMeta::new(tg, T::NAME, self.meta.kind),
            blocks,
            chunks: None,
        })
    }

    fn partials(&self, op: ReduceOp) -> Vec<Thunk<Result<Option<T>>>> {
        self.blocks
            .iter()
            .map(|b| {
                delayed_with(
                    opts(),
                    move |(v,): (BlockValue<T>,)| Ok(reduce::reduce_op_block(&*v?, op)),
                    (b,),
                )
            })
            .collect()
    }

    fn reduce_op(&self, op: ReduceOp) -> Lazy<T> {
        let root = tree(self.partials(op), move |a: Option<T>, b: Option<T>| {
            Ok(reduce::combine(&[a, b], &|x, y| op.apply(x, y)))
        });
        let thunk = match root {
            Some(r) => delayed_with(
                opts(),
                move |(v,): (Result<Option<T>>,)| reduce::finish(&[v?], op),
                (&r,),
            ),
            None => delayed_with(opts(), move |()| reduce::finish(&[], op), ()),
        };
        Lazy { thunk }
    }

    /// The sum of all elements.
    pub fn sum(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Sum)
    }

    /// The product of all elements.
    pub fn prod(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Prod)
    }

    /// The smallest element (an error for an empty array; NaN propagates).
    pub fn minimum(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Min)
    }

    /// The largest element.
    pub fn maximum(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Max)
    }

    /// The mean of all elements, as `f64`.
    pub fn mean(&self) -> Lazy<f64> {
        let n: usize = self.shape().iter().product();
        let s = self.sum();
        let thunk = delayed_with(
            opts(),
            move |(v,): (Result<T>,)| reduce::mean_from_sums(&[Some(v?)], n),
            (&s.thunk,),
        );
        Lazy { thunk }
    }

    /// Reduces all elements with an associative `f` (`reduce(f, c)`); an error if empty.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> Lazy<T> {
        let f = Arc::new(f);
        let parts = self
            .blocks
            .iter()
            .map(|b| {
                let f = f.clone();
                delayed_with(
                    opts(),
                    move |(v,): (BlockValue<T>,)| Ok(reduce::reduce_block(&*v?, |x, y| f(x, y))),
                    (b,),
                )
            })
            .collect();
        let g = f.clone();
        let root = tree(parts, move |a: Option<T>, b: Option<T>| {
            Ok(reduce::combine(&[a, b], &|x, y| g(x, y)))
        });
        let thunk = match root {
            Some(r) => delayed_with(
                opts(),
                |(v,): (Result<Option<T>>,)| {
                    v?.ok_or_else(|| Error::Argument("reducing over an empty collection".into()))
                },
                (&r,),
            ),
            None => delayed_with(
                opts(),
                |()| Err(Error::Argument("reducing over an empty collection".into())),
                (),
            ),
        };
        Lazy { thunk }
    }

    /// A built-in reduction along dimension `dim` (kept with length 1): a distributed array.
    pub fn reduce_dim(&self, op: ReduceOp, dim: usize) -> Result<DArray<T>> {
        if dim >= self.grid().ndim() {
            return Err(Error::Argument(format!(
                "dimension {dim} out of range for a {}-d array",
                self.grid().ndim()
            )));
        }
        let g = self.grid().clone();
        let og = g.reduced(dim);
        let mut lines: Vec<Vec<Thunk<Result<ArrayD<T>>>>> = vec![Vec::new(); og.num_blocks()];
        for (c, b) in g.iter_coords().zip(&self.blocks) {
            let part = delayed_with(
                opts(),
                move |(v,): (BlockValue<T>,)| reduce::reduce_axis(&v?.to_dense(), dim, op),
                (b,),
            );
            let mut oc = c.clone();
            oc[dim] = 0;
            lines[og.block_linear(&oc)].push(part);
        }
        let blocks = lines
            .into_iter()
            .map(|line| {
                let root = tree(line, move |a, b| reduce::combine_partials(&a, &b, op));
                let root = root.unwrap_or_else(|| {
                    delayed_with(
                        opts(),
                        |()| Err(Error::Argument("empty reduction".into())),
                        (),
                    )
                });
                delayed_with(
                    opts(),
                    |(v,): (Result<ArrayD<T>>,)| Ok(Arc::new(Block::Dense(v?))),
                    (&root,),
                )
            })
            .collect();
        Ok(DArray {
            meta: ArrayMeta::new(og, T::NAME, Kind::Dense),
            blocks,
            chunks: None,
        })
    }

    /// The sum along `dim`.
    pub fn sum_dim(&self, dim: usize) -> Result<DArray<T>> {
        self.reduce_dim(ReduceOp::Sum, dim)
    }

    /// `f` applied to each whole block (`reduceblock(f, c)`): the results in the grid's shape.
    pub fn reduceblock<R: Clone + Send + Sync + 'static>(
        &self,
        f: impl Fn(&Block<T>) -> R + Send + Sync + 'static,
    ) -> Lazy<ArrayD<R>> {
        let f = Arc::new(f);
        let parts = self
            .blocks
            .iter()
            .map(|b| {
                let f = f.clone();
                delayed_with(opts(), move |(v,): (BlockValue<T>,)| Ok(f(&*v?)), (b,))
            })
            .collect();
        let all = gather(parts);
        let shape = self.grid().grid_shape();
        let thunk = delayed_with(
            opts(),
            move |(v,): (Result<Vec<R>>,)| {
                ArrayD::from_shape_vec(shape.clone(), v?)
                    .map_err(|e| Error::DimensionMismatch(format!("reduceblock: {e}")))
            },
            (&all,),
        );
        Lazy { thunk }
    }

    /// `X[idx...]` (ranges, index lists, `:`, scalars; 0-based): the selected elements,
    /// assembled (sparse for sparse arrays, scalar dimensions dropped).
    pub fn index(&self, idx: &[Index]) -> Result<Lazy<Block<T>>> {
        let plan = Arc::new(IndexPlan::new(self.grid(), idx)?);
        let parts = (0..plan.pieces().len())
            .map(|k| {
                let plan = plan.clone();
                let src = &self.blocks[plan.pieces()[k].block];
                delayed_with(
                    opts(),
                    move |(v,): (BlockValue<T>,)| IndexPlan::gather(&plan.pieces()[k], &*v?),
                    (src,),
                )
            })
            .collect();
        let all = gather(parts);
        let thunk = delayed_with(
            opts(),
            move |(v,): (Result<Vec<Block<T>>>,)| plan.assemble(&v?),
            (&all,),
        );
        Ok(Lazy { thunk })
    }

    /// Saves the array: the metadata file at `path` and one payload per block in
    /// `<path>_data/` (written by the block's own task, where the block lives).
    pub fn save(&self, path: impl AsRef<Path>) -> Lazy<io::SavedArray> {
        let path: Arc<PathBuf> = Arc::new(path.as_ref().to_path_buf());
        let parts = self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let path = path.clone();
                delayed_with(
                    opts(),
                    move |(v,): (BlockValue<T>,)| io::write_block(&path, i, &*v?),
                    (b,),
                )
            })
            .collect();
        let all = gather(parts);
        let meta = self.meta.clone();
        let thunk = delayed_with(
            opts(),
            move |(v,): (Result<Vec<io::SavedBlock>>,)| {
                let saved = io::SavedArray {
                    format: io::FORMAT.into(),
                    meta: meta.clone(),
                    blocks: v?,
                };
                io::write_meta(&path, &saved)?;
                Ok(saved)
            },
            (&all,),
        );
        Lazy { thunk }
    }

    /// Opens an array saved at `path`: the metadata is read now, each block is read (and
    /// checked) by its own task.
    pub fn load(path: impl AsRef<Path>) -> Result<DArray<T>> {
        let path = path.as_ref().to_path_buf();
        let saved = Arc::new(io::read_meta(&path)?);
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
            |i, _| {
                let (path, saved) = (path.clone(), saved.clone());
                delayed_with(
                    opts(),
                    move |()| io::read_block(&path, &saved, i).map(Arc::new),
                    (),
                )
            },
        ))
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
                let mut acc: Option<Thunk<BlockValue<T>>> = None;
                for k in 0..kn {
                    let a = &self.blocks[ag.block_linear(&[c[0], k])];
                    let bc = if bg.ndim() == 2 {
                        vec![k, c[1]]
                    } else {
                        vec![k]
                    };
                    let b = &other.blocks[bg.block_linear(&bc)];
                    acc = Some(match acc {
                        None => delayed_with(
                            opts(),
                            |(a, b): (BlockValue<T>, BlockValue<T>)| {
                                matmul_block(&*a?, &*b?).map(Arc::new)
                            },
                            (a, b),
                        ),
                        Some(prev) => delayed_with(
                            opts(),
                            |(p, a, b): (BlockValue<T>, BlockValue<T>, BlockValue<T>)| {
                                let part = matmul_block(&*a?, &*b?)?;
                                let p = Arc::try_unwrap(p?).unwrap_or_else(|p| (*p).clone());
                                accumulate(Some(p), part).map(Arc::new)
                            },
                            (&prev, a, b),
                        ),
                    });
                }
                let shape = cg.block_shape(&c);
                acc.unwrap_or_else(|| {
                    delayed_with(
                        opts(),
                        move |()| Ok(Arc::new(Block::Dense(zeros_block(&shape)))),
                        (),
                    )
                })
            })
            .collect();
        Ok(DArray {
            meta: ArrayMeta::new(cg, T::NAME, kind),
            blocks,
            chunks: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AutoBlocks, Blocks};

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
}
