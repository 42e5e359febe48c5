//! Reductions: per-block partial results and how partials of several blocks combine.
//!
//! A whole-array reduction is `combine(op, [reduce_block(op, b) for each block])`; a
//! reduction along dimension `d` reduces each block along `d` (keeping `d` with length 1, as
//! Julia does) and then combines, element-wise, the partials of blocks in the same line
//! of the grid along `d` ([`reduce_blocks_along`]).

use crate::block::Block;
use crate::grid::BlockGrid;
use crate::ops::ArithOp;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, Axis, Zip};
use std::collections::HashMap;
use std::hash::Hash;

/// A built-in associative reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ReduceOp {
    /// `sum`
    Sum,
    /// `prod`
    Prod,
    /// `minimum` (NaN propagates)
    Min,
    /// `maximum` (NaN propagates)
    Max,
}

impl ReduceOp {
    /// Combines two values.
    pub fn apply<T: Scalar>(self, a: T, b: T) -> T {
        match self {
            ReduceOp::Sum => T::arith(ArithOp::Add, a, b).unwrap_or(a), // ok: addition never fails
            ReduceOp::Prod => T::arith(ArithOp::Mul, a, b).unwrap_or(a), // ok: multiplication never fails
            ReduceOp::Min => nan_or(a, b, |x, y| if y < x { y } else { x }),
            ReduceOp::Max => nan_or(a, b, |x, y| if y > x { y } else { x }),
        }
    }

    /// The identity element, if the operation has one (`sum` and `prod` do).
    pub fn identity<T: Scalar>(self) -> Option<T> {
        match self {
            ReduceOp::Sum => Some(T::zero()),
            ReduceOp::Prod => Some(T::one()),
            ReduceOp::Min | ReduceOp::Max => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "minimum",
            ReduceOp::Max => "maximum",
        }
    }
}

fn nan_or<T: Scalar>(a: T, b: T, f: impl Fn(T, T) -> T) -> T {
    if a.is_nan() {
        a
    } else if b.is_nan() {
        b
    } else {
        f(a, b)
    }
}

fn empty_error(what: &str) -> Error {
    Error::Argument(format!(
        "reducing over an empty collection is not allowed ({what})"
    ))
}

/// Reduces all elements of a block with an associative `f` (`None` for an empty block).
/// A sparse block's implicit zeros take part, as in Julia.
///
/// ```
/// use dagger_array::{reduce::reduce_block, Block};
/// use ndarray::arr2;
/// let b = Block::Dense(arr2(&[[1, 2], [3, 4]]).into_dyn());
/// assert_eq!(reduce_block(&b, |x, y| x * y), Some(24));
/// ```
pub fn reduce_block<T: Scalar>(b: &Block<T>, f: impl Fn(T, T) -> T) -> Option<T> {
    match b {
        Block::Dense(a) => a.iter().copied().reduce(f),
        _ => {
            let total: usize = b.shape().iter().product();
            let stored = b.nnz();
            let mut acc = b.triplets().into_iter().map(|(_, v)| v).reduce(&f);
            if stored < total {
                acc = Some(match acc {
                    Some(x) => f(x, T::zero()),
                    None => T::zero(),
                });
            }
            acc
        }
    }
}

/// A built-in reduction of a whole block (`None` for an empty block).
pub fn reduce_op_block<T: Scalar>(b: &Block<T>, op: ReduceOp) -> Option<T> {
    match (b, op) {
        (Block::Dense(a), ReduceOp::Sum) => Some(a.sum()),
        (Block::Dense(a), ReduceOp::Prod) if T::FLOAT => Some(a.product()),
        _ => reduce_block(b, |x, y| op.apply(x, y)),
    }
}

/// Combines per-block partial results; `None` partials (empty blocks) are skipped. Pairwise
/// (tree) order, as the distributed version combines them.
pub fn combine<T: Copy>(partials: &[Option<T>], f: &impl Fn(T, T) -> T) -> Option<T> {
    let mut level: Vec<T> = partials.iter().flatten().copied().collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| if p.len() == 2 { f(p[0], p[1]) } else { p[0] })
            .collect();
    }
    level.first().copied()
}

/// A whole-array built-in reduction from the partials of its blocks: `sum`/`prod` of nothing
/// is the identity, `minimum`/`maximum` of nothing is an error.
pub fn finish<T: Scalar>(partials: &[Option<T>], op: ReduceOp) -> Result<T> {
    combine(partials, &|a, b| op.apply(a, b))
        .or_else(|| op.identity())
        .ok_or_else(|| empty_error(op.name()))
}

/// The mean from `(sum, count)` pairs of the blocks.
pub fn mean_from_sums<T: Scalar>(sums: &[Option<T>], count: usize) -> Result<f64> {
    if count == 0 {
        return Err(empty_error("mean"));
    }
    let s = finish(sums, ReduceOp::Sum)?;
    Ok(s.to_f64().unwrap_or(f64::NAN) / count as f64)
}

/// Reduces a dense block along `dim` with `op`, keeping `dim` with length 1.
pub fn reduce_axis<T: Scalar>(a: &ArrayD<T>, dim: usize, op: ReduceOp) -> Result<ArrayD<T>> {
    if dim >= a.ndim() {
        return Err(Error::Argument(format!(
            "dimension {dim} out of range for a {}-d block",
            a.ndim()
        )));
    }
    let ax = Axis(dim);
    let out = if a.len_of(ax) == 0 {
        let id = op.identity().ok_or_else(|| empty_error(op.name()))?;
        let mut shape = a.shape().to_vec();
        shape[dim] = 1;
        ArrayD::from_elem(shape, id)
    } else {
        let mut out = a.index_axis(ax, 0).to_owned().insert_axis(ax);
        for k in 1..a.len_of(ax) {
            Zip::from(out.index_axis_mut(ax, 0))
                .and(a.index_axis(ax, k))
                .for_each(|o, &x| *o = op.apply(*o, x));
        }
        out
    };
    Ok(out)
}

/// Combines two partial axis results element-wise.
pub fn combine_partials<T: Scalar>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    op: ReduceOp,
) -> Result<ArrayD<T>> {
    if a.shape() != b.shape() {
        return Err(Error::DimensionMismatch(format!(
            "partials of shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    Ok(Zip::from(a).and(b).map_collect(|&x, &y| op.apply(x, y)))
}

/// Reduces a blocked dense array along `dim`: the result's grid is `grid.reduced(dim)` and
/// its blocks (row-major) combine the partials of every block along `dim`.
pub fn reduce_blocks_along<T: Scalar>(
    grid: &BlockGrid,
    blocks: &[ArrayD<T>],
    dim: usize,
    op: ReduceOp,
) -> Result<(BlockGrid, Vec<ArrayD<T>>)> {
    if dim >= grid.ndim() {
        return Err(Error::Argument(format!(
            "dimension {dim} out of range for a {}-d array",
            grid.ndim()
        )));
    }
    let out_grid = grid.reduced(dim);
    let mut out: Vec<Option<ArrayD<T>>> = vec![None; out_grid.num_blocks()];
    for (c, b) in grid.iter_coords().zip(blocks) {
        let part = reduce_axis(b, dim, op)?;
        let mut oc = c.clone();
        oc[dim] = 0;
        let slot = &mut out[out_grid.block_linear(&oc)];
        *slot = Some(match slot.take() {
            None => part,
            Some(acc) => combine_partials(&acc, &part, op)?,
        });
    }
    let blocks = out
        .into_iter()
        .map(|b| b.ok_or_else(|| empty_error(op.name())))
        .collect::<Result<_>>()?;
    Ok((out_grid, blocks))
}

/// Julia's `reduceblock(f, A)`: `f` applied to each whole block; the results form an array
/// with the grid's shape (same dimensionality as the input).
pub fn reduceblock<T, R: Clone>(
    grid: &BlockGrid,
    blocks: &[Block<T>],
    f: impl Fn(&Block<T>) -> R,
) -> Result<ArrayD<R>> {
    let vals: Vec<R> = blocks.iter().map(f).collect();
    ArrayD::from_shape_vec(grid.grid_shape(), vals).map_err(|e| {
        Error::DimensionMismatch(format!(
            "reduceblock: {} blocks for grid {:?}: {e}",
            blocks.len(),
            grid.grid_shape()
        ))
    })
}

/// Julia's `reducebykey(f, pairs)`: the values of each key reduced with `f`.
///
/// ```
/// let r = dagger_array::reduce::reducebykey(vec![("a", 1), ("b", 2), ("a", 3)], |x, y| x + y);
/// assert_eq!(r["a"], 4);
/// assert_eq!(r["b"], 2);
/// ```
pub fn reducebykey<K: Hash + Eq, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
    f: impl Fn(V, V) -> V,
) -> HashMap<K, V> {
    let mut out: HashMap<K, V> = HashMap::new();
    for (k, v) in pairs {
        let v = match out.remove(&k) {
            Some(acc) => f(acc, v),
            None => v,
        };
        out.insert(k, v);
    }
    out
}

/// Merges two partial `reducebykey` results (how per-block dictionaries combine).
pub fn merge_by_key<K: Hash + Eq, V>(
    a: HashMap<K, V>,
    b: HashMap<K, V>,
    f: impl Fn(V, V) -> V,
) -> HashMap<K, V> {
    reducebykey(a.into_iter().chain(b), f)
}
