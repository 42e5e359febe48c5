//! [`Block`]: the value of one piece of an array — dense (ndarray) or sparse (sprs).

use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, Dimension, IxDyn};
use serde::{Deserialize, Serialize};
use sprs::{CsMat, CsVec};
use std::fmt;
use std::sync::Arc;

/// A dense block shared without copying (the scheduler clones task arguments, so big blocks
/// travel behind an `Arc`).
pub type DenseBlock<T> = Arc<ArrayD<T>>;

/// Whether an array's blocks are dense or sparse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// ndarray blocks of any dimension.
    Dense,
    /// sprs CSC matrices (2-D) or sparse vectors (1-D).
    Sparse,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Dense => "dense",
            Kind::Sparse => "sparse",
        })
    }
}

/// One block of an array.
///
/// ```
/// use dagger_array::Block;
/// use ndarray::ArrayD;
/// let b = Block::Dense(ArrayD::<f64>::zeros(vec![2, 3]));
/// assert_eq!(b.shape(), vec![2, 3]);
/// assert_eq!(b.nbytes(), 48);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Block<T> {
    /// A dense N-dimensional block.
    Dense(ArrayD<T>),
    /// A sparse matrix block, compressed sparse column.
    SparseMat(CsMat<T>),
    /// A sparse vector block.
    SparseVec(CsVec<T>),
}

impl<T: Scalar> Block<T> {
    /// The block's shape.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Block::Dense(a) => a.shape().to_vec(),
            Block::SparseMat(m) => vec![m.rows(), m.cols()],
            Block::SparseVec(v) => vec![v.dim()],
        }
    }

    /// Dense or sparse.
    pub fn kind(&self) -> Kind {
        match self {
            Block::Dense(_) => Kind::Dense,
            _ => Kind::Sparse,
        }
    }

    /// Approximate bytes held (for chunk metadata).
    pub fn nbytes(&self) -> usize {
        let w = std::mem::size_of::<usize>();
        match self {
            Block::Dense(a) => a.len() * T::BYTES,
            Block::SparseMat(m) => m.nnz() * (T::BYTES + w) + (m.outer_dims() + 1) * w,
            Block::SparseVec(v) => v.nnz() * (T::BYTES + w),
        }
    }

    /// Number of stored entries (all entries for dense).
    pub fn nnz(&self) -> usize {
        match self {
            Block::Dense(a) => a.len(),
            Block::SparseMat(m) => m.nnz(),
            Block::SparseVec(v) => v.nnz(),
        }
    }

    /// The block as a dense array (a copy for sparse blocks).
    pub fn to_dense(&self) -> ArrayD<T> {
        match self {
            Block::Dense(a) => a.clone(),
            Block::SparseMat(m) => m.to_dense().into_dyn(),
            Block::SparseVec(v) => v.to_dense().into_dyn(),
        }
    }

    /// The dense array, or an error naming `what` if the block is sparse.
    pub fn as_dense(&self, what: &str) -> Result<&ArrayD<T>> {
        match self {
            Block::Dense(a) => Ok(a),
            _ => Err(Error::Argument(format!(
                "{what} needs dense blocks, got a sparse block"
            ))),
        }
    }

    /// Every stored entry as (global-style index in the block, value); zeros of sparse blocks
    /// are skipped.
    pub fn triplets(&self) -> Vec<(Vec<usize>, T)> {
        match self {
            Block::Dense(a) => a
                .indexed_iter()
                .map(|(i, &v)| (i.slice().to_vec(), v))
                .collect(),
            Block::SparseMat(m) => m.iter().map(|(&v, (r, c))| (vec![r, c], v)).collect(),
            Block::SparseVec(v) => v.iter().map(|(i, &x)| (vec![i], x)).collect(),
        }
    }
}

/// Builds a sparse block of `shape` (1-D or 2-D) from (index, value) entries; duplicates add.
pub fn sparse_from_entries<T: Scalar>(
    shape: &[usize],
    entries: Vec<(Vec<usize>, T)>,
) -> Result<Block<T>> {
    match shape.len() {
        1 => {
            let mut e = entries
                .into_iter()
                .map(|(i, v)| (i[0], v))
                .collect::<Vec<_>>();
            e.sort_by_key(|p| p.0);
            let mut idx: Vec<usize> = Vec::with_capacity(e.len());
            let mut val: Vec<T> = Vec::with_capacity(e.len());
            for (i, v) in e {
                if idx.last() == Some(&i) {
                    let last = val.len() - 1; // ok: idx and val have equal lengths, idx is non-empty
                    val[last] = val[last] + v;
                } else {
                    idx.push(i);
                    val.push(v);
                }
            }
            CsVec::try_new(shape[0], idx, val)
                .map(Block::SparseVec)
                .map_err(|(_, _, e)| Error::Argument(format!("bad sparse vector: {e}")))
        }
        2 => {
            let mut tri = sprs::TriMat::new((shape[0], shape[1]));
            for (i, v) in entries {
                tri.add_triplet(i[0], i[1], v);
            }
            Ok(Block::SparseMat(tri.to_csc()))
        }
        n => Err(Error::Argument(format!(
            "sparse blocks are 1-D or 2-D, not {n}-D"
        ))),
    }
}

/// An all-`value` dense block of `shape`.
pub fn filled<T: Scalar>(shape: &[usize], value: T) -> ArrayD<T> {
    ArrayD::from_elem(IxDyn(shape), value)
}

/// A dense block back in the array's kind (sparse arrays keep sparse blocks).
pub(crate) fn in_kind<T: Scalar>(a: ArrayD<T>, kind: Kind) -> Result<Block<T>> {
    if kind == Kind::Sparse && (1..=2).contains(&a.ndim()) {
        let shape = a.shape().to_vec();
        let entries = a
            .indexed_iter()
            .filter(|(_, v)| **v != T::zero())
            .map(|(i, &v)| (i.slice().to_vec(), v))
            .collect();
        sparse_from_entries(&shape, entries)
    } else {
        Ok(Block::Dense(a))
    }
}
