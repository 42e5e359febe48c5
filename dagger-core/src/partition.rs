//! The [`Partitioning`] trait: how an N-dimensional index space is cut into blocks.

use crate::error::Result;
use std::fmt;
use std::ops::Range;

/// Cuts a shape into a grid of blocks. `dagger-array`'s `Blocks` and `AutoBlocks` implement
/// it; a third party can add e.g. a cyclic partitioning.
///
/// ```
/// use dagger_core::{Partitioning, Result};
/// use std::ops::Range;
/// #[derive(Debug)]
/// struct Halves;
/// impl Partitioning for Halves {
///     fn block_ranges(&self, shape: &[usize], _nprocs: usize) -> Result<Vec<Vec<Range<usize>>>> {
///         Ok(shape.iter().map(|&n| vec![0..n / 2, n / 2..n]).collect())
///     }
/// }
/// assert_eq!(Halves.block_ranges(&[10], 2).unwrap(), vec![vec![0..5, 5..10]]);
/// ```
pub trait Partitioning: Send + Sync + fmt::Debug {
    /// For each dimension, the index ranges of the blocks along it, in order, covering
    /// `0..shape[d]` without gaps. `nprocs` is the number of processors available (for
    /// partitionings that adapt to it).
    fn block_ranges(&self, shape: &[usize], nprocs: usize) -> Result<Vec<Vec<Range<usize>>>>;
}
