//! ndarray's vocabulary on a [`DArray`]: `a.slice(s![1..3, ..])` with ndarray's own `s!`
//! macro, `a.select(Axis(0), &[19, 29])`, and moving arrays in and out as typed-dimension
//! ndarrays (`DArray::from_ndarray`, `collect_ndarray::<Ix2>`).
//!
//! A slice is planned as an [`Index`] list (the reference's `X[ranges, lists, :, scalars]`):
//! a range with step 1 is a range, any other step a list of indices (a negative step walks
//! backwards), an integer picks one index and drops its axis, and negative bounds count from
//! the end, as in ndarray.
//!
//! ```
//! use dagger_array::prelude::*;
//! use ndarray::{array, Ix2};
//! let ctx = dagger_sched::Context::local();
//! let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]];
//! let d = DArray::from_ndarray(a.clone(), &Blocks::new([2, 2]).unwrap()).unwrap();
//! let s = d.slice(s![1.., ..;2]).unwrap().collect(&ctx).unwrap().to_dense();
//! assert_eq!(s, a.slice(ndarray::s![1.., ..;2]).into_dyn());
//! let rows = d.select(Axis(0), &[2, 0]).unwrap().collect(&ctx).unwrap().to_dense();
//! assert_eq!(rows, a.select(Axis(0), &[2, 0]).into_dyn());
//! assert_eq!(d.collect_ndarray::<Ix2>(&ctx).unwrap(), a);
//! ```

use crate::block::Block;
use crate::block::Kind;
use crate::darray::{DArray, Lazy};
use crate::element::Element;
use crate::graph::Node;
use crate::grid::BlockGrid;
use crate::index::Index;
use crate::names::named;
use crate::partition::{AutoBlocks, Blocks};
use dagger_core::{Error, Result};
use dagger_sched::Context;
use ndarray::{Array, Axis, Dimension, SliceInfoElem};

/// Resolves an ndarray index (negative from the end) against a dimension of `n`.
fn at(i: isize, n: usize, what: &str) -> Result<usize> {
    let j = if i < 0 { n as isize + i } else { i };
    if j < 0 || j as usize > n {
        return Err(Error::Argument(format!(
            "slice: {what} {i} is out of bounds for a dimension of {n}"
        )));
    }
    Ok(j as usize)
}

/// One `s!` element as an [`Index`] along a dimension of `n`.
fn to_index(e: &SliceInfoElem, n: usize) -> Result<Index> {
    match *e {
        SliceInfoElem::Index(i) => {
            let j = at(i, n, "index")?;
            if j == n {
                return Err(Error::Argument(format!(
                    "slice: index {i} is out of bounds for a dimension of {n}"
                )));
            }
            Ok(Index::Scalar(j))
        }
        SliceInfoElem::Slice { start, end, step } => {
            let lo = at(start, n, "start")?;
            let hi = match end {
                Some(e) => at(e, n, "end")?,
                None => n,
            }
            .max(lo);
            match step {
                0 => Err(Error::Argument("slice: a step of 0".into())),
                1 => Ok(Index::Range(lo..hi)),
                s if s > 0 => Ok(Index::List((lo..hi).step_by(s as usize).collect())),
                // ndarray: a negative step walks the range from its end.
                s => Ok(Index::List(
                    (lo..hi).rev().step_by(s.unsigned_abs()).collect(),
                )),
            }
        }
        SliceInfoElem::NewAxis => Err(Error::Argument(
            "slice: NewAxis is not supported on a DArray".into(),
        )),
    }
}

impl<T: Element> DArray<T> {
    /// `a.slice(s![..])` with ndarray's `s!` macro: ranges (any step), integers (the axis is
    /// dropped) and `..`, one per dimension (missing trailing ones mean `..`).
    pub fn slice(&self, info: impl AsRef<[SliceInfoElem]>) -> Result<Lazy<Block<T>>> {
        let elems = info.as_ref();
        let shape = self.shape();
        if elems.len() > shape.len() {
            return Err(Error::DimensionMismatch(format!(
                "slice: {} indices for a {}-d array",
                elems.len(),
                shape.len()
            )));
        }
        let mut idx = elems
            .iter()
            .zip(shape)
            .map(|(e, &n)| to_index(e, n))
            .collect::<Result<Vec<_>>>()?;
        idx.resize(shape.len(), Index::All);
        self.index(&idx)
    }

    /// The entries at `indices` along `axis`, in that order (ndarray's `select`).
    pub fn select(&self, axis: Axis, indices: &[usize]) -> Result<Lazy<Block<T>>> {
        let nd = self.shape().len();
        if axis.index() >= nd {
            return Err(Error::Argument(format!(
                "select: axis {} of a {nd}-d array",
                axis.index()
            )));
        }
        let mut idx = vec![Index::All; nd];
        idx[axis.index()] = Index::List(indices.to_vec());
        self.index(&idx)
    }

    /// A typed-dimension ndarray cut into blocks (the array is taken by value).
    pub fn from_ndarray<D: Dimension>(a: Array<T, D>, part: &Blocks) -> Result<DArray<T>> {
        DArray::from_array(a.into_dyn(), part)
    }

    /// Computes the array and assembles it as an ndarray of dimension `D` (`Ix2` …); a `D`
    /// that is not the array's dimension is a [`Error::DimensionMismatch`].
    pub fn collect_ndarray<D: Dimension>(&self, ctx: &Context) -> Result<Array<T, D>> {
        let nd = self.shape().len();
        self.collect_dense(ctx)?
            .into_dimensionality::<D>()
            .map_err(|e| {
                Error::DimensionMismatch(format!("collect_ndarray of a {nd}-d array: {e}"))
            })
    }
}

/// An ndarray as a DArray blocked by [`AutoBlocks`] (one block per processor along the last
/// dimension), like `distribute(a)`.
///
/// ```
/// use dagger_array::DArray;
/// let a: DArray<f64> = ndarray::array![[1.0, 2.0], [3.0, 4.0]].into();
/// assert_eq!(a.sum().collect(&dagger_sched::Context::local()).unwrap(), 10.0);
/// ```
impl<T: Element, D: Dimension> From<Array<T, D>> for DArray<T> {
    fn from(a: Array<T, D>) -> Self {
        let shape = a.shape().to_vec();
        DArray::from_array(a.into_dyn(), &AutoBlocks).unwrap_or_else(|e| {
            // AutoBlocks tiles every shape; should distributing still fail, the array fails
            // with the reason when computed (a conversion cannot return it).
            let failed = Node::task0(named("distribute"), move || Err(e.clone()));
            DArray::from_blocks(BlockGrid::single(&shape), Kind::Dense, vec![failed])
        })
    }
}
