//! Element-wise unary functions on blocks: every one the reference's array API lists
//! ([`UnaryOp`], defined in [`crate::unary_op`]), plus `map` of any function over a block.

use crate::block::Block;
use crate::scalar::Scalar;
use ndarray::ArrayD;
use num_traits::Float;

pub use crate::unary_op::UnaryOp;

/// `f` applied to every element of a dense block.
pub fn map_dense<T: Scalar, U: Scalar>(a: &ArrayD<T>, f: impl Fn(T) -> U) -> ArrayD<U> {
    a.mapv(f)
}

/// `f` applied to every element of a block. A sparse block stays sparse when `f(0) == 0`
/// (only stored values are visited); otherwise it becomes dense.
///
/// ```
/// use dagger_array::{unary::map_block, Block};
/// use ndarray::ArrayD;
/// let b = Block::Dense(ArrayD::from_elem(vec![2, 2], 2.0f64));
/// assert_eq!(map_block(&b, |x| x * x).to_dense().sum(), 16.0);
/// ```
pub fn map_block<T: Scalar, U: Scalar>(b: &Block<T>, f: impl Fn(T) -> U) -> Block<U> {
    let keeps_sparse = f(T::zero()) == U::zero();
    match b {
        Block::Dense(a) => Block::Dense(a.mapv(f)),
        Block::SparseMat(m) if keeps_sparse => Block::SparseMat(m.map(|&x| f(x))),
        Block::SparseVec(v) if keeps_sparse => Block::SparseVec(sprs::CsVec::new(
            v.dim(),
            v.indices().to_vec(),
            v.data().iter().map(|&x| f(x)).collect(),
        )),
        other => Block::Dense(other.to_dense().mapv(f)),
    }
}

/// A named unary function applied to every element of a float block.
pub fn unary_block<T: Scalar + Float>(b: &Block<T>, op: UnaryOp) -> Block<T> {
    map_block(b, |x| op.apply(x))
}
