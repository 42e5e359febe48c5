//! The former unit tests of `src/grid.rs` (`unit`'s doc says why they moved).

use dagger_array::grid::*;
use dagger_array::partition::Blocks;
use dagger_core::Error;
use proptest::prelude::*;

proptest! {
    #[test]
    fn every_index_in_exactly_one_block(shape in proptest::collection::vec(1usize..12, 1..4),
                                        bs in proptest::collection::vec(1usize..6, 3)) {
        let g = BlockGrid::new(&shape, &Blocks::new(&bs[..shape.len()]).unwrap(), 1).unwrap();
        let total: usize = g.iter_coords().map(|c| g.block_shape(&c).iter().product::<usize>()).sum();
        prop_assert_eq!(total, shape.iter().product::<usize>());
        for lin in 0..g.num_blocks() {
            prop_assert_eq!(g.block_linear(&g.block_coords(lin)), lin);
        }
        // A few indices round-trip through locate.
        let idx: Vec<usize> = shape.iter().map(|&n| n - 1).collect();
        let (b, l) = g.locate(&idx).unwrap();
        let r = g.block_ranges(&b);
        for d in 0..shape.len() { prop_assert_eq!(r[d].start + l[d], idx[d]); }
        let out: Vec<usize> = shape.clone();
        prop_assert!(g.locate(&out).is_none());
    }
}

#[test]
fn matmul_grid_checks_inner_split() {
    let a = BlockGrid::new(&[6, 4], &Blocks::from([3, 2]), 1).unwrap();
    let b = BlockGrid::new(&[4, 5], &Blocks::from([2, 5]), 1).unwrap();
    let c = a.matmul(&b).unwrap();
    assert_eq!(c.grid_shape(), vec![2, 1]);
    let bad = BlockGrid::new(&[4, 5], &Blocks::from([3, 5]), 1).unwrap();
    assert!(matches!(a.matmul(&bad), Err(Error::DimensionMismatch(_))));
    assert!(BlockGrid::from_ranges(&[4], vec![vec![0..2, 3..4]]).is_err());
    assert_eq!(a.transposed().shape(), &[4, 6]);
}
