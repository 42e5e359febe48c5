//! The former unit tests of `src/reduce.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{rand_block, sprand_block};
use dagger_array::dist::distribute_dense;
use dagger_array::partition::Blocks;
use dagger_array::reduce::*;
use dagger_array::{Block, BlockGrid};
use ndarray::{ArrayD, Axis, Zip};
use proptest::prelude::*;

fn grid(shape: &[usize], bs: &[usize]) -> BlockGrid {
    BlockGrid::new(shape, &Blocks::new(&bs[..shape.len()]).unwrap(), 1).unwrap()
}

proptest! {
    #[test]
    fn whole_reductions_match(m in 1usize..12, n in 1usize..12, b in proptest::collection::vec(1usize..5, 2), seed: u64) {
        let a = rand_block::<i64>(&[m, n], seed, 0).mapv(|x| x % 100);
        let g = grid(&[m, n], &b);
        let blocks: Vec<Block<i64>> = distribute_dense(&a, &g).unwrap().into_iter().map(Block::Dense).collect();
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Min, ReduceOp::Max] {
            let parts: Vec<Option<i64>> = blocks.iter().map(|b| reduce_op_block(b, op)).collect();
            let want = a.iter().copied().reduce(|x, y| op.apply(x, y)).unwrap();
            prop_assert_eq!(finish(&parts, op).unwrap(), want);
        }
        let rb = reduceblock(&g, &blocks, |b| b.nnz()).unwrap();
        prop_assert_eq!(rb.shape(), &g.grid_shape()[..]);
        prop_assert_eq!(rb.sum(), m * n);
    }

    #[test]
    fn axis_reductions_match(shape in proptest::collection::vec(1usize..7, 1..4),
                             b in proptest::collection::vec(1usize..4, 3), seed: u64) {
        let a = rand_block::<f64>(&shape, seed, 0);
        let g = grid(&shape, &b);
        let blocks = distribute_dense(&a, &g).unwrap();
        for dim in 0..shape.len() {
            let (og, ob) = reduce_blocks_along(&g, &blocks, dim, ReduceOp::Sum).unwrap();
            let got = dagger_array::dist::assemble_dense(&og, &ob).unwrap();
            let want = a.sum_axis(Axis(dim)).insert_axis(Axis(dim));
            prop_assert!(Zip::from(&got).and(&want).all(|x, y| (x - y).abs() < 1e-12));
            let (og, ob) = reduce_blocks_along(&g, &blocks, dim, ReduceOp::Max).unwrap();
            let got = dagger_array::dist::assemble_dense(&og, &ob).unwrap();
            let want = a.fold_axis(Axis(dim), f64::MIN, |&x, &y| x.max(y)).insert_axis(Axis(dim));
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn sparse_reductions_include_zeros(m in 1usize..10, n in 1usize..10, seed: u64) {
        let s = sprand_block::<f64>(&[m, n], 0.5, seed, 0).unwrap();
        let d = s.to_dense();
        prop_assert!((reduce_op_block(&s, ReduceOp::Sum).unwrap() - d.sum()).abs() < 1e-12);
        prop_assert_eq!(reduce_op_block(&s, ReduceOp::Min).unwrap(), d.iter().copied().fold(f64::MAX, f64::min));
        // The product's rounding depends on the order the factors are visited in.
        let (p, q) = (reduce_op_block(&s, ReduceOp::Prod).unwrap(), d.product());
        prop_assert!((p - q).abs() <= 1e-12 * q.abs().max(1e-300));
    }
}

#[test]
fn empties_nan_and_keys() {
    let e = Block::Dense(ArrayD::<f64>::zeros(vec![0, 3]));
    assert_eq!(
        finish(&[reduce_op_block(&e, ReduceOp::Sum)], ReduceOp::Sum).unwrap(),
        0.0
    );
    assert!(finish(&[reduce_block(&e, |a, b| a + b)], ReduceOp::Min).is_err());
    assert!(mean_from_sums::<f64>(&[], 0).is_err());
    assert_eq!(mean_from_sums(&[Some(6.0), Some(4.0)], 4).unwrap(), 2.5);
    assert!(ReduceOp::Min.apply(1.0, f64::NAN).is_nan());
    assert!(ReduceOp::Max.apply(f64::NAN, 1.0).is_nan());
    let a = reducebykey(vec![(1, 1.0), (2, 2.0)], |x, y| x + y);
    let b = reducebykey(vec![(1, 5.0)], |x, y| x + y);
    let m = merge_by_key(a, b, |x, y| x + y);
    assert_eq!(m[&1], 6.0);
    assert_eq!(m.len(), 2);
}
