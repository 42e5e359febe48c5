//! `permutedims` with a new blocking: the dimensions of an N-D [`DArray`] in any order, cut
//! into the blocks of a partitioning of the result (block-wise permutes, then a re-blocking
//! that moves only the pieces that change blocks).
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! let ctx = dagger_sched::Context::local();
//! let a = DArray::<f64>::rand_seeded(&Blocks::new([2, 3, 4]).unwrap(), &[4, 6, 8], 1).unwrap();
//! let p = a.permutedims_blocked(&[2, 0, 1], &Blocks::new([8, 1, 3]).unwrap()).unwrap();
//! assert_eq!(p.shape(), &[8, 4, 6]);
//! assert_eq!(p.grid().block_shape(&[0, 0, 0]), vec![8, 1, 3]);
//! let want = a.collect_dense(&ctx).unwrap().permuted_axes(vec![2, 0, 1]);
//! assert_eq!(p.collect_dense(&ctx).unwrap(), want);
//! ```

use crate::darray::DArray;
use crate::element::Element;
use dagger_core::{Partitioning, Result};

impl<T: Element> DArray<T> {
    /// [`DArray::permutedims`] re-blocked by `part`: a list that is not a permutation of
    /// the dimensions is an [`Error::Argument`](dagger_core::Error::Argument).
    pub fn permutedims_blocked(
        &self,
        perm: &[usize],
        part: &dyn Partitioning,
    ) -> Result<DArray<T>> {
        self.permutedims(perm)?.redistribute(part)
    }
}
