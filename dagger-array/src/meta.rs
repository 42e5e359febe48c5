//! [`ArrayMeta`]: what an array is without its data — shape, block grid, element type, kind —
//! and its one-line summary.

use crate::block::Kind;
use crate::grid::BlockGrid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The description of a blocked array.
///
/// ```
/// use dagger_array::{meta::ArrayMeta, BlockGrid, Blocks, Kind};
/// let g = BlockGrid::new(&[10000, 10000], &Blocks::from([4000, 4000]), 1).unwrap();
/// let m = ArrayMeta::new(g, "f64", Kind::Dense);
/// assert_eq!(m.to_string(), "10000×10000 f64 in 9 parts of at most 4000×4000");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayMeta {
    /// Shape and block ranges.
    pub grid: BlockGrid,
    /// Element type name ([`Scalar::NAME`](crate::scalar::Scalar::NAME)).
    pub eltype: String,
    /// Dense or sparse blocks.
    pub kind: Kind,
}

impl ArrayMeta {
    /// A description.
    pub fn new(grid: BlockGrid, eltype: impl Into<String>, kind: Kind) -> Self {
        Self {
            grid,
            eltype: eltype.into(),
            kind,
        }
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        self.grid.shape()
    }
}

fn dims(d: &[usize]) -> String {
    if d.is_empty() {
        return "0-dimensional".into();
    }
    d.iter().map(usize::to_string).collect::<Vec<_>>().join("×")
}

impl fmt::Display for ArrayMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sparse = if self.kind == Kind::Sparse {
            "sparse "
        } else {
            ""
        };
        let n = self.grid.num_blocks();
        write!(
            f,
            "{} {sparse}{} in {n} part{} of at most {}",
            dims(self.grid.shape()),
            self.eltype,
            if n == 1 { "" } else { "s" },
            dims(&self.grid.max_block_shape())
        )
    }
}
