//! [`BlockGrid`]: the shape of an array and the index ranges of its blocks.

use dagger_core::{Error, Partitioning, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// An N-dimensional shape cut into a grid of rectangular blocks. Blocks are numbered in
/// row-major (C) order of their grid coordinates; edge blocks may be smaller (ragged).
///
/// ```
/// use dagger_array::{BlockGrid, Blocks};
/// let g = BlockGrid::new(&[10, 7], &Blocks::new([4, 4]).unwrap(), 1).unwrap();
/// assert_eq!(g.grid_shape(), vec![3, 2]);
/// assert_eq!(g.num_blocks(), 6);
/// assert_eq!(g.block_ranges(&[2, 1]), vec![8..10, 4..7]);
/// assert_eq!(g.locate(&[9, 5]), Some((vec![2, 1], vec![1, 1])));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockGrid {
    shape: Vec<usize>,
    ranges: Vec<Vec<Range<usize>>>,
}

impl BlockGrid {
    /// The grid a partitioning gives for `shape` on `nprocs` processors.
    pub fn new(shape: &[usize], part: &dyn Partitioning, nprocs: usize) -> Result<Self> {
        Self::from_ranges(shape, part.block_ranges(shape, nprocs)?)
    }

    /// A grid from explicit per-dimension ranges, checked to cover `shape` without gaps.
    pub fn from_ranges(shape: &[usize], ranges: Vec<Vec<Range<usize>>>) -> Result<Self> {
        if ranges.len() != shape.len() {
            return Err(Error::DimensionMismatch(format!(
                "{} lists of block ranges for a {}-dimensional shape",
                ranges.len(),
                shape.len()
            )));
        }
        for (d, (rs, &n)) in ranges.iter().zip(shape).enumerate() {
            let mut at = 0;
            for r in rs {
                if r.start != at || r.end < r.start || (r.is_empty() && n != 0) {
                    return Err(Error::Argument(format!(
                        "block ranges along dimension {d} do not tile 0..{n}: {rs:?}"
                    )));
                }
                at = r.end;
            }
            if at != n || rs.is_empty() {
                return Err(Error::Argument(format!(
                    "block ranges along dimension {d} do not tile 0..{n}: {rs:?}"
                )));
            }
        }
        Ok(Self {
            shape: shape.to_vec(),
            ranges,
        })
    }

    /// The whole array as a single block.
    pub fn single(shape: &[usize]) -> Self {
        let ranges = shape.iter().map(|&n| vec![0..n]).collect();
        Self {
            shape: shape.to_vec(),
            ranges,
        }
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The block ranges along each dimension.
    pub fn ranges(&self) -> &[Vec<Range<usize>>] {
        &self.ranges
    }

    /// Number of blocks along each dimension.
    pub fn grid_shape(&self) -> Vec<usize> {
        self.ranges.iter().map(Vec::len).collect()
    }

    /// Total number of blocks (1 for a 0-dimensional array).
    pub fn num_blocks(&self) -> usize {
        self.ranges.iter().map(Vec::len).product()
    }

    /// The largest block length along each dimension.
    pub fn max_block_shape(&self) -> Vec<usize> {
        self.ranges
            .iter()
            .map(|rs| rs.iter().map(|r| r.len()).max().unwrap_or(0))
            .collect()
    }

    /// Grid coordinates of block number `linear` (row-major).
    pub fn block_coords(&self, linear: usize) -> Vec<usize> {
        let g = self.grid_shape();
        let mut c = vec![0; g.len()];
        let mut rest = linear;
        for d in (0..g.len()).rev() {
            c[d] = rest % g[d];
            rest /= g[d];
        }
        c
    }

    /// Block number (row-major) of grid coordinates `coords`.
    pub fn block_linear(&self, coords: &[usize]) -> usize {
        let g = self.grid_shape();
        coords.iter().zip(&g).fold(0, |acc, (&c, &n)| acc * n + c)
    }

    /// The global index ranges of the block at `coords`.
    pub fn block_ranges(&self, coords: &[usize]) -> Vec<Range<usize>> {
        coords
            .iter()
            .zip(&self.ranges)
            .map(|(&c, rs)| rs[c].clone())
            .collect()
    }

    /// The shape of the block at `coords`.
    pub fn block_shape(&self, coords: &[usize]) -> Vec<usize> {
        self.block_ranges(coords).iter().map(|r| r.len()).collect()
    }

    /// Iterates over all block coordinates in row-major order.
    pub fn iter_coords(&self) -> impl Iterator<Item = Vec<usize>> + '_ {
        (0..self.num_blocks()).map(|i| self.block_coords(i))
    }

    /// Which block holds global index `index` along dimension `dim`, and the local offset.
    pub fn locate_dim(&self, dim: usize, index: usize) -> Option<(usize, usize)> {
        let rs = self.ranges.get(dim)?;
        let b = rs.partition_point(|r| r.end <= index);
        let r = rs.get(b)?;
        r.contains(&index).then(|| (b, index - r.start))
    }

    /// The block coordinates and local index of a global index, or `None` if out of bounds.
    pub fn locate(&self, index: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
        if index.len() != self.ndim() {
            return None;
        }
        let (b, l) = index
            .iter()
            .enumerate()
            .map(|(d, &i)| self.locate_dim(d, i))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .unzip();
        Some((b, l))
    }

    /// The grid of the reversed-axes array (for a matrix, the transpose): block `(i, j)` of the
    /// result corresponds to block `(j, i)` of `self`.
    pub fn transposed(&self) -> Self {
        let mut shape = self.shape.clone();
        shape.reverse();
        let mut ranges = self.ranges.clone();
        ranges.reverse();
        Self { shape, ranges }
    }

    /// The grid after reducing along `dim`: that dimension becomes length 1 in one block.
    pub fn reduced(&self, dim: usize) -> Self {
        let mut g = self.clone();
        if dim < g.shape.len() {
            g.shape[dim] = 1;
            g.ranges[dim] = vec![0..1];
        }
        g
    }

    /// The grid of `self · other` for matrices (or matrix · vector): rows of `self`, columns
    /// of `other`. The inner block splits must agree.
    pub fn matmul(&self, other: &Self) -> Result<Self> {
        if self.ndim() != 2 || !(1..=2).contains(&other.ndim()) {
            return Err(Error::DimensionMismatch(format!(
                "matrix product of {}-d and {}-d arrays",
                self.ndim(),
                other.ndim()
            )));
        }
        if self.shape[1] != other.shape[0] {
            return Err(Error::DimensionMismatch(format!(
                "matrix A has dimensions {:?}, B has dimensions {:?}",
                self.shape, other.shape
            )));
        }
        if self.ranges[1] != other.ranges[0] {
            return Err(Error::DimensionMismatch(
                "Block distributions being multiplied are not compatible".into(),
            ));
        }
        let mut shape = vec![self.shape[0]];
        let mut ranges = vec![self.ranges[0].clone()];
        if other.ndim() == 2 {
            shape.push(other.shape[1]);
            ranges.push(other.ranges[1].clone());
        }
        Ok(Self { shape, ranges })
    }
}
