//! Element-wise binary operations between blocks of equal shape and between a block and a
//! scalar: arithmetic ([`ArithOp`]), comparisons ([`CmpOp`]) and integer bit operations
//! ([`BitOp`]). Julia's rational `.//` has no counterpart (there is no rational element type).

use crate::block::{sparse_from_entries, Block};
use crate::element::IntElement;
use crate::ops::{divide_error, ArithOp, BitOp};
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, Zip};
use std::collections::BTreeMap;

pub use crate::ops::{CmpOp, Side};

fn same_shape(a: &[usize], b: &[usize]) -> Result<()> {
    if a != b {
        return Err(Error::DimensionMismatch(format!(
            "Sizes of A {a:?} and B {b:?} must match"
        )));
    }
    Ok(())
}

/// `a op b` element by element for dense blocks of the same shape.
///
/// ```
/// use dagger_array::{binary::arith_dense, ArithOp};
/// use ndarray::{arr1, ArrayD};
/// let a = arr1(&[6i32, 7]).into_dyn();
/// let b = arr1(&[3i32, 2]).into_dyn();
/// assert_eq!(arith_dense(&a, &b, ArithOp::Rem).unwrap(), arr1(&[0, 1]).into_dyn());
/// assert!(arith_dense(&a, &arr1(&[0, 1]).into_dyn(), ArithOp::Div).is_err());
/// ```
pub fn arith_dense<T: Scalar>(a: &ArrayD<T>, b: &ArrayD<T>, op: ArithOp) -> Result<ArrayD<T>> {
    same_shape(a.shape(), b.shape())?;
    let mut failed = false;
    let out = Zip::from(a).and(b).map_collect(|&x, &y| {
        T::arith(op, x, y).unwrap_or_else(|| {
            failed = true;
            T::zero()
        })
    });
    if failed {
        return Err(divide_error(op));
    }
    Ok(out)
}

/// `a op s` (or `s op a` for [`Side::Left`]) for every element of a dense block.
pub fn arith_scalar_dense<T: Scalar>(
    a: &ArrayD<T>,
    s: T,
    op: ArithOp,
    side: Side,
) -> Result<ArrayD<T>> {
    let mut failed = false;
    let out = a.mapv(|x| {
        let r = match side {
            Side::Right => T::arith(op, x, s),
            Side::Left => T::arith(op, s, x),
        };
        r.unwrap_or_else(|| {
            failed = true;
            T::zero()
        })
    });
    if failed {
        return Err(divide_error(op));
    }
    Ok(out)
}

/// Whether `f(0, 0) == 0` so that a sparse result stays sparse.
fn keeps_zero<T: Scalar>(v: Option<T>) -> bool {
    matches!(v, Some(z) if z == T::zero())
}

/// Combines the stored entries of two sparse blocks of one shape with `f`, for an `f` with
/// `f(0, 0) == 0` (entries missing on one side are zero).
fn sparse_zip<T: Scalar>(
    a: &Block<T>,
    b: &Block<T>,
    f: impl Fn(T, T) -> Option<T>,
) -> Result<Option<Block<T>>> {
    let mut merged: BTreeMap<Vec<usize>, (T, T)> = BTreeMap::new();
    for (i, v) in a.triplets() {
        merged.entry(i).or_insert((T::zero(), T::zero())).0 = v;
    }
    for (i, v) in b.triplets() {
        merged.entry(i).or_insert((T::zero(), T::zero())).1 = v;
    }
    let mut entries = Vec::with_capacity(merged.len());
    for (i, (x, y)) in merged {
        match f(x, y) {
            Some(v) => entries.push((i, v)),
            None => return Ok(None),
        }
    }
    sparse_from_entries(&a.shape(), entries).map(Some)
}

/// `a op b` for blocks of any kind: two sparse blocks give a sparse result when `0 op 0 == 0`
/// (`+ - .*`); every other case computes densely.
pub fn arith_block<T: Scalar>(a: &Block<T>, b: &Block<T>, op: ArithOp) -> Result<Block<T>> {
    same_shape(&a.shape(), &b.shape())?;
    let both_sparse = !matches!(a, Block::Dense(_)) && !matches!(b, Block::Dense(_));
    if both_sparse && keeps_zero(T::arith(op, T::zero(), T::zero())) {
        return sparse_zip(a, b, |x, y| T::arith(op, x, y))?.ok_or_else(|| divide_error(op));
    }
    Ok(Block::Dense(arith_dense(&a.to_dense(), &b.to_dense(), op)?))
}

/// `a op s` for blocks of any kind; sparse stays sparse when `0 op s == 0` (e.g. `.* s`).
pub fn arith_scalar_block<T: Scalar>(
    a: &Block<T>,
    s: T,
    op: ArithOp,
    side: Side,
) -> Result<Block<T>> {
    let f = |x: T| match side {
        Side::Right => T::arith(op, x, s),
        Side::Left => T::arith(op, s, x),
    };
    match a {
        Block::Dense(d) => Ok(Block::Dense(arith_scalar_dense(d, s, op, side)?)),
        Block::SparseMat(_) | Block::SparseVec(_) if keeps_zero(f(T::zero())) => {
            let entries = a
                .triplets()
                .into_iter()
                .map(|(i, v)| f(v).map(|r| (i, r)))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| divide_error(op))?;
            sparse_from_entries(&a.shape(), entries)
        }
        other => Ok(Block::Dense(arith_scalar_dense(
            &other.to_dense(),
            s,
            op,
            side,
        )?)),
    }
}

/// `a cmp b` element by element: a boolean block.
pub fn compare_dense<T: Scalar>(a: &ArrayD<T>, b: &ArrayD<T>, op: CmpOp) -> Result<ArrayD<bool>> {
    same_shape(a.shape(), b.shape())?;
    Ok(Zip::from(a).and(b).map_collect(|&x, &y| op.apply(x, y)))
}

/// `a cmp s` (or `s cmp a`) for every element.
pub fn compare_scalar_dense<T: Scalar>(a: &ArrayD<T>, s: T, op: CmpOp, side: Side) -> ArrayD<bool> {
    a.mapv(|x| match side {
        Side::Right => op.apply(x, s),
        Side::Left => op.apply(s, x),
    })
}

/// `a bitop b` element by element for integer blocks.
pub fn bit_dense<T: IntElement>(a: &ArrayD<T>, b: &ArrayD<T>, op: BitOp) -> Result<ArrayD<T>> {
    same_shape(a.shape(), b.shape())?;
    Ok(Zip::from(a).and(b).map_collect(|&x, &y| T::bit(op, x, y)))
}

/// `a bitop s` (or `s bitop a`) for every element of an integer block.
pub fn bit_scalar_dense<T: IntElement>(a: &ArrayD<T>, s: T, op: BitOp, side: Side) -> ArrayD<T> {
    a.mapv(|x| match side {
        Side::Right => T::bit(op, x, s),
        Side::Left => T::bit(op, s, x),
    })
}
