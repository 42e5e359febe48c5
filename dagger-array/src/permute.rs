//! `permutedims` with a new blocking: the dimensions of an N-D [`DArray`] in any order, cut
//! into the blocks of a grid of the result. Each result block is one task on the source
//! blocks it overlaps, which cuts and permutes in one pass ([`crate::permute_kernel`]); on a
//! cluster each overlapping piece is cut and permuted where its source block lives and only
//! the pieces move. Sparse arrays permute block-wise, then re-block.
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

use crate::block::Kind;
use crate::darray::{default_nprocs, DArray};
use crate::element::Element;
use crate::fft_kernel::FftOp;
use crate::graph::{kernel_node, Node};
use crate::grid::BlockGrid;
use crate::index::{Index, IndexPlan};
use crate::kernel::named::Kernel;
use crate::permute_kernel::is_permutation;
use dagger_core::{Error, Options, Partitioning, Result};

impl<T: Element> DArray<T> {
    /// [`DArray::permutedims`] re-blocked by `part`: a list that is not a permutation of
    /// the dimensions is an [`Error::Argument`].
    pub fn permutedims_blocked(
        &self,
        perm: &[usize],
        part: &dyn Partitioning,
    ) -> Result<DArray<T>> {
        let nd = self.grid().ndim();
        if !is_permutation(perm, nd) {
            return Err(Error::Argument(format!(
                "{perm:?} is not a permutation of the {nd} dimensions"
            )));
        }
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        self.permutedims_to(perm, &BlockGrid::new(&shape, part, default_nprocs())?)
    }

    /// [`DArray::permutedims`] with the blocks of `grid` (of the permuted shape): one task
    /// per result block, see the module docs. A list that is not a permutation is an
    /// [`Error::Argument`], a grid of another shape an [`Error::DimensionMismatch`].
    pub fn permutedims_to(&self, perm: &[usize], grid: &BlockGrid) -> Result<DArray<T>> {
        self.permuted_then(perm, grid, None)
    }

    /// [`DArray::permutedims_to`], then the FFT `then` of every result block: one task per
    /// result block that permutes and transforms in one pass (see
    /// [`crate::fft_kernel::permute_fft`]); on a cluster the pieces are cut and permuted
    /// where their blocks live, as without an FFT, and the assembled block is transformed
    /// where it is made.
    pub(crate) fn permuted_then(
        &self,
        perm: &[usize],
        grid: &BlockGrid,
        then: Option<FftOp>,
    ) -> Result<DArray<T>> {
        let nd = self.grid().ndim();
        if !is_permutation(perm, nd) {
            return Err(Error::Argument(format!(
                "{perm:?} is not a permutation of the {nd} dimensions"
            )));
        }
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        if grid.shape() != shape.as_slice() {
            return Err(Error::DimensionMismatch(format!(
                "a permuted array of shape {shape:?} in a grid of shape {:?}",
                grid.shape()
            )));
        }
        if self.meta.kind != Kind::Dense || self.is_empty() {
            let p = self.permutedims(perm)?.reblock(grid)?;
            return match then {
                Some(op) => Ok(p.derive_k(Kind::Dense, Kernel::Fft(op))),
                None => Ok(p),
            };
        }
        let blocks = grid
            .iter_coords()
            .map(|c| {
                let ranges = grid.block_ranges(&c);
                let mut idx = vec![Index::All; nd];
                for (k, &p) in perm.iter().enumerate() {
                    idx[p] = Index::Range(ranges[k].clone());
                }
                let plan = IndexPlan::new(self.grid(), &idx)?;
                let srcs: Vec<_> = plan
                    .pieces()
                    .iter()
                    .map(|p| self.blocks[p.block].clone())
                    .collect();
                let kernel = match then {
                    Some(op) => Kernel::PermuteReblockFft {
                        plan: plan.clone(),
                        perm: perm.to_vec(),
                        op,
                    },
                    None => Kernel::PermuteReblock {
                        plan: plan.clone(),
                        perm: perm.to_vec(),
                    },
                };
                let local = kernel_node(Options::new(), kernel, &srcs);
                // On a cluster: each piece cut and permuted next to its source block.
                let parts: Vec<_> = plan
                    .pieces()
                    .iter()
                    .zip(&srcs)
                    .map(|(p, s)| {
                        let cut = kernel_node(
                            Options::new(),
                            Kernel::Gather(p.clone()),
                            std::slice::from_ref(s),
                        );
                        let turned = Kernel::Permute {
                            perm: perm.to_vec(),
                            kind: Kind::Dense,
                        };
                        kernel_node(Options::new(), turned, &[cut])
                    })
                    .collect();
                let whole = Kernel::Assemble(plan.permuted(perm)?);
                let mut cluster = kernel_node(Options::new(), whole, &parts);
                if let Some(op) = then {
                    cluster = kernel_node(Options::new(), Kernel::Fft(op), &[cluster]);
                }
                Ok(Node::placed(cluster, local))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DArray::from_blocks(grid.clone(), Kind::Dense, blocks))
    }
}
