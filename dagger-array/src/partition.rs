//! The two partitionings of the reference: [`Blocks`] (a fixed block size per dimension) and
//! [`AutoBlocks`] (one block per processor along the last dimension).

use dagger_core::{Error, Partitioning, Result};
use std::ops::Range;

/// A uniform block size per dimension; the last block along a dimension is ragged when the
/// block size does not divide the length (Dagger.jl's `Blocks(4000, 4000)`).
///
/// ```
/// use dagger_array::Blocks;
/// use dagger_core::Partitioning;
/// let r = Blocks::new([4, 3]).unwrap().block_ranges(&[10, 3], 1).unwrap();
/// assert_eq!(r, vec![vec![0..4, 4..8, 8..10], vec![0..3]]);
/// assert!(Blocks::new([0]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Blocks {
    sizes: Vec<usize>,
}

impl Blocks {
    /// A partitioning with block size `sizes[d]` along dimension `d`; a zero size is an
    /// [`Error::Argument`].
    pub fn new(sizes: impl AsRef<[usize]>) -> Result<Self> {
        let sizes = sizes.as_ref().to_vec();
        if let Some(d) = sizes.iter().position(|&s| s == 0) {
            return Err(Error::Argument(format!(
                "Blocks: block size along dimension {d} is 0; every block size must be at least 1"
            )));
        }
        Ok(Self { sizes })
    }

    /// The partitioning that cuts `shape` into `counts[d]` blocks along dimension `d` (the
    /// reference's `distribute(x, n::NTuple)`: block size `cld(shape[d], counts[d])`).
    pub fn from_counts(shape: &[usize], counts: &[usize]) -> Result<Self> {
        if shape.len() != counts.len() {
            return Err(Error::DimensionMismatch(format!(
                "block counts {counts:?} for a {}-dimensional shape {shape:?}",
                shape.len()
            )));
        }
        if counts.contains(&0) {
            return Err(Error::Argument(format!(
                "block counts {counts:?} contain 0"
            )));
        }
        Self::new(
            shape
                .iter()
                .zip(counts)
                .map(|(&n, &c)| n.div_ceil(c).max(1))
                .collect::<Vec<_>>(),
        )
    }

    /// The block size along each dimension.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
}

impl<const N: usize> From<[usize; N]> for Blocks {
    /// Builds without validation; [`Partitioning::block_ranges`] still rejects zero sizes.
    fn from(sizes: [usize; N]) -> Self {
        Self {
            sizes: sizes.to_vec(),
        }
    }
}

/// Cuts `0..n` into consecutive ranges of `b` (the last one ragged). An empty dimension is one
/// empty block, so every array, even an empty one, has at least one block per dimension.
pub(crate) fn split_dim(n: usize, b: usize) -> Vec<Range<usize>> {
    if n == 0 {
        return vec![0..0];
    }
    (0..n).step_by(b).map(|s| s..(s + b).min(n)).collect()
}

impl Partitioning for Blocks {
    fn block_ranges(&self, shape: &[usize], _nprocs: usize) -> Result<Vec<Vec<Range<usize>>>> {
        if shape.len() != self.sizes.len() {
            return Err(Error::DimensionMismatch(format!(
                "Blocks{:?} has {} dimensions but the array shape {shape:?} has {}",
                self.sizes,
                self.sizes.len(),
                shape.len()
            )));
        }
        if let Some(d) = self.sizes.iter().position(|&s| s == 0) {
            return Err(Error::Argument(format!(
                "Blocks: block size along dimension {d} is 0"
            )));
        }
        Ok(shape
            .iter()
            .zip(&self.sizes)
            .map(|(&n, &b)| split_dim(n, b))
            .collect())
    }
}

/// One block per processor along the last dimension, whole in the others (Dagger.jl's
/// `AutoBlocks()`): block size `cld(n_last, nprocs)`.
///
/// ```
/// use dagger_array::AutoBlocks;
/// use dagger_core::Partitioning;
/// let r = AutoBlocks.block_ranges(&[100, 100], 3).unwrap();
/// assert_eq!(r, vec![vec![0..100], vec![0..34, 34..68, 68..100]]);
/// assert_eq!(AutoBlocks.block_ranges(&[], 3).unwrap(), Vec::<Vec<_>>::new());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AutoBlocks;

impl AutoBlocks {
    /// The explicit [`Blocks`] this resolves to for `shape` on `nprocs` processors.
    pub fn resolve(&self, shape: &[usize], nprocs: usize) -> Blocks {
        let mut sizes: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
        if let Some(last) = sizes.last_mut() {
            let n = *shape.last().unwrap_or(&0); // ok: sizes is non-empty so shape is too
            *last = n.div_ceil(nprocs.max(1)).max(1);
        }
        Blocks { sizes }
    }
}

impl Partitioning for AutoBlocks {
    fn block_ranges(&self, shape: &[usize], nprocs: usize) -> Result<Vec<Vec<Range<usize>>>> {
        self.resolve(shape, nprocs).block_ranges(shape, nprocs)
    }
}
