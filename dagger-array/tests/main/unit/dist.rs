//! The former unit tests of `src/dist.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{rand_block, sprand_block};
use dagger_array::dist::*;
use dagger_array::partition::Blocks;
use dagger_array::{Block, BlockGrid};
use dagger_core::Error;
use ndarray::Slice;
use proptest::prelude::*;

proptest! {
    #[test]
    fn dense_round_trip(shape in proptest::collection::vec(0usize..9, 0..4),
                        bs in proptest::collection::vec(1usize..5, 3), seed: u64) {
        let a = rand_block::<f64>(&shape, seed, 0);
        let g = BlockGrid::new(&shape, &Blocks::new(&bs[..shape.len()]).unwrap(), 1).unwrap();
        let blocks = distribute_dense(&a, &g).unwrap();
        prop_assert_eq!(blocks.len(), g.num_blocks());
        prop_assert_eq!(assemble_dense(&g, &blocks).unwrap(), a);
    }

    #[test]
    fn sparse_round_trip(m in 1usize..20, n in 1usize..20, b0 in 1usize..7, b1 in 1usize..7, seed: u64) {
        let whole = sprand_block::<f64>(&[m, n], 0.3, seed, 0).unwrap();
        let g = BlockGrid::new(&[m, n], &Blocks::from([b0, b1]), 1).unwrap();
        let blocks = distribute(&whole, &g).unwrap();
        prop_assert!(blocks.iter().all(|b| matches!(b, Block::SparseMat(_))));
        for (c, b) in g.iter_coords().zip(&blocks) {
            let r = g.block_ranges(&c);
            let want = whole.to_dense().slice_each_axis(|ax| Slice::from(r[ax.axis.index()].clone())).to_owned();
            prop_assert_eq!(b.to_dense(), want);
        }
        let back = assemble(&g, &blocks).unwrap();
        prop_assert_eq!(back.to_dense(), whole.to_dense());
        prop_assert!(matches!(back, Block::SparseMat(_)));
    }

    #[test]
    fn sparse_vec_round_trip(n in 1usize..40, b in 1usize..9, seed: u64) {
        let whole = sprand_block::<f32>(&[n], 0.4, seed, 0).unwrap();
        let g = BlockGrid::new(&[n], &Blocks::from([b]), 1).unwrap();
        let blocks = distribute(&whole, &g).unwrap();
        prop_assert_eq!(assemble(&g, &blocks).unwrap(), whole);
    }
}

#[test]
fn g48_grid_and_errors() {
    let a = rand_block::<f64>(&[100, 100], 1, 0);
    let g = BlockGrid::new(&[100, 100], &Blocks::from([10, 20]), 1).unwrap();
    assert_eq!(g.grid_shape(), vec![10, 5]);
    let blocks = distribute_dense(&a, &g).unwrap();
    assert!(blocks.iter().all(|b| b.shape() == [10, 20]));
    let wrong = BlockGrid::single(&[3, 3]);
    assert!(matches!(
        distribute_dense(&a, &wrong),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(assemble_dense(&g, &blocks[1..]).is_err());
}
