//! ndarray's reductions along an axis: [`DArray::sum_axis`] and [`DArray::mean_axis`] drop
//! the axis, as ndarray's do (Dagger.jl's `sum(A; dims)` keeps it: [`DArray::sum_dim`]).
//!
//! ```
//! use dagger_array::{Axis, Blocks, DArray};
//! use ndarray::array;
//! let ctx = dagger_sched::Context::local();
//! let m = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! let a = DArray::from_ndarray(m.clone(), &Blocks::new([1, 2]).unwrap()).unwrap();
//! let s = a.sum_axis(Axis(0)).unwrap().collect_ndarray::<ndarray::Ix1>(&ctx).unwrap();
//! assert_eq!(s, m.sum_axis(Axis(0)));
//! let mean = a.mean_axis(Axis(1)).unwrap().collect_ndarray::<ndarray::Ix1>(&ctx).unwrap();
//! assert_eq!(mean, m.mean_axis(Axis(1)).unwrap());
//! ```

use crate::block::Kind;
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::kernel_node;
use crate::grid::BlockGrid;
use crate::kernel::named::Kernel;
use crate::ops::{ArithOp, Side};
use crate::reduce::ReduceOp;
use dagger_core::{Error, Options, Result};
use ndarray::Axis;
use num_traits::NumCast;

impl<T: Element> DArray<T> {
    /// The sum along `axis`, which is dropped (ndarray's `sum_axis`). An axis past the
    /// array's dimensions is an `Argument` error.
    pub fn sum_axis(&self, axis: Axis) -> Result<DArray<T>> {
        self.reduce_axis_dropped(ReduceOp::Sum, axis)
    }

    /// The mean along `axis`, which is dropped (ndarray's `mean_axis`; integer means
    /// truncate, as there). An axis of length 0 is an `Argument` error (ndarray: `None`).
    pub fn mean_axis(&self, axis: Axis) -> Result<DArray<T>> {
        let n = self.shape().get(axis.0).copied().unwrap_or(0);
        let count: T = match NumCast::from(n) {
            Some(c) if n > 0 => c,
            _ => {
                return Err(Error::Argument(format!(
                    "mean_axis({}) of an array of shape {:?}: the axis is empty or not there",
                    axis.0,
                    self.shape()
                )));
            }
        };
        Ok(self
            .sum_axis(axis)?
            .arith_scalar(count, ArithOp::Div, Side::Right))
    }

    /// `op` along `axis`, then the axis (now of length 1) dropped from every block.
    fn reduce_axis_dropped(&self, op: ReduceOp, axis: Axis) -> Result<DArray<T>> {
        let kept = self.reduce_dim(op, axis.0)?;
        let g = kept.grid();
        let mut shape = g.shape().to_vec();
        let mut ranges = g.ranges().to_vec();
        shape.remove(axis.0);
        ranges.remove(axis.0);
        let grid = BlockGrid::from_ranges(&shape, ranges)?;
        let blocks = kept
            .blocks()
            .iter()
            .map(|b| {
                kernel_node(
                    Options::new(),
                    Kernel::DropAxis { dim: axis.0 },
                    std::slice::from_ref(b),
                )
            })
            .collect();
        Ok(DArray::from_blocks(grid, Kind::Dense, blocks))
    }
}
