//! Re-blocking and indexing a [`DArray`]: both cut the source blocks by an [`IndexPlan`]
//! and glue the pieces, one task per result (in one process) or one per piece (on a
//! cluster, so only the pieces move).

use super::{default_nprocs, DArray, Lazy};
use crate::block::Block;
use crate::element::Element;
use crate::graph::{kernel_node, Node};
use crate::grid::BlockGrid;
use crate::index::{Index, IndexPlan};
use crate::kernel::named::Kernel;
use crate::mem::BlockValue;
use crate::names::named;
use dagger_core::{Error, Options, Partitioning, Result};
use std::sync::Arc;

impl<T: Element> DArray<T> {
    /// This array with the blocking `grid` (same shape): each new block is cut and glued from
    /// the old blocks it overlaps, one task per new block. A no-op when the grids agree.
    pub fn reblock(&self, grid: &BlockGrid) -> Result<DArray<T>> {
        if grid.shape() != self.shape() {
            return Err(Error::DimensionMismatch(format!(
                "cannot re-block a {:?} array into a {:?} grid",
                self.shape(),
                grid.shape()
            )));
        }
        if grid == self.grid() {
            return Ok(self.clone());
        }
        let blocks = grid
            .iter_coords()
            .map(|c| {
                let idx: Vec<Index> = grid
                    .block_ranges(&c)
                    .into_iter()
                    .map(Index::Range)
                    .collect();
                let plan = Arc::new(IndexPlan::new(self.grid(), &idx)?);
                let srcs: Vec<_> = plan
                    .pieces()
                    .iter()
                    .map(|p| self.blocks[p.block].clone())
                    .collect();
                // In one process, one task cuts and glues straight from the source blocks;
                // on a cluster each piece is cut where its source block lives, so only the
                // pieces move.
                let local = kernel_node(Options::new(), Kernel::Reblock((*plan).clone()), &srcs);
                let pieces: Vec<_> = plan
                    .pieces()
                    .iter()
                    .zip(&srcs)
                    .map(|(p, s)| {
                        kernel_node(
                            Options::new(),
                            Kernel::Gather(p.clone()),
                            std::slice::from_ref(s),
                        )
                    })
                    .collect();
                let cluster =
                    kernel_node(Options::new(), Kernel::Assemble((*plan).clone()), &pieces);
                Ok(Node::placed(cluster, local))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DArray::from_blocks(grid.clone(), self.meta.kind, blocks))
    }

    /// [`DArray::reblock`] by a partitioning (`distribute(A::DArray, Blocks(..))`).
    pub fn redistribute(&self, part: &dyn Partitioning) -> Result<DArray<T>> {
        self.reblock(&BlockGrid::new(self.shape(), part, default_nprocs())?)
    }

    /// `X[idx...]` (ranges, index lists, `:`, scalars; 0-based): the selected elements,
    /// assembled (sparse for sparse arrays, scalar dimensions dropped).
    pub fn index(&self, idx: &[Index]) -> Result<Lazy<Block<T>>> {
        let plan = Arc::new(IndexPlan::new(self.grid(), idx)?);
        let parts: Vec<_> = plan
            .pieces()
            .iter()
            .map(|p| {
                let src = &self.blocks[p.block];
                kernel_node(
                    Options::new(),
                    Kernel::Gather(p.clone()),
                    std::slice::from_ref(src),
                )
            })
            .collect();
        // The pieces are assembled where the result is asked for (the driver).
        let all = Node::task_all(named("gather"), &parts, |vs: Vec<BlockValue<T>>| {
            vs.into_iter()
                .map(|v| v.map(|h| h.into_block()))
                .collect::<Result<Vec<_>>>()
        });
        let node = Node::task1(
            "getindex assemble",
            &all,
            move |v: Result<Vec<Block<T>>>| plan.assemble(&v?),
        );
        Ok(Lazy { node })
    }
}
