//! permutedims of N-D arrays in any axis order, with and without a new blocking, against
//! ndarray's `permuted_axes`; lists that are not permutations are typed errors.

use dagger_array::create::rand_block;
use dagger_array::{Blocks, DArray};
use dagger_core::Error;
use dagger_sched::Context;
use proptest::prelude::*;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

/// A shape of 1 to 4 dimensions, a blocking of it, a permutation and a second blocking.
fn case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>, Vec<usize>)> {
    (1usize..5).prop_flat_map(|nd| {
        (
            proptest::collection::vec(1usize..6, nd),
            proptest::collection::vec(1usize..4, nd),
            Just((0..nd).collect::<Vec<_>>()).prop_shuffle(),
            proptest::collection::vec(1usize..4, nd),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn permutedims_matches_permuted_axes((shape, blocks, perm, again) in case(), seed: u64) {
        let a = rand_block::<f64>(&shape, seed, 0);
        let x = DArray::from_array(a.clone(), &Blocks::new(&blocks).unwrap()).unwrap();
        let want = a.permuted_axes(perm.clone());
        prop_assert_eq!(&x.permutedims(&perm).unwrap().collect_dense(ctx()).unwrap(), &want);
        let p = x.permutedims_blocked(&perm, &Blocks::new(&again).unwrap()).unwrap();
        let first: Vec<usize> = p.shape().iter().zip(&again).map(|(&n, &b)| n.min(b)).collect();
        prop_assert_eq!(p.grid().block_shape(&vec![0; shape.len()]), first);
        prop_assert_eq!(&p.collect_dense(ctx()).unwrap(), &want);
    }
}

#[test]
fn non_permutations_are_typed_errors() {
    let x = DArray::<f64>::ones(&Blocks::new([2, 2, 2]).unwrap(), &[3, 3, 3]).unwrap();
    for bad in [vec![0, 1], vec![0, 1, 1], vec![0, 1, 3], vec![0, 1, 2, 3]] {
        assert!(
            matches!(x.permutedims(&bad), Err(Error::Argument(_))),
            "{bad:?}"
        );
        let b = x.permutedims_blocked(&bad, &Blocks::new([1, 1, 1]).unwrap());
        assert!(matches!(b, Err(Error::Argument(_))), "{bad:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The tiled transposing copy: the first two dimensions swapped, with 0 to 2 whole
    /// trailing dimensions (a matrix, a complex matrix of pairs, a stack of triples), ragged
    /// blocks on both sides, on lazy and on computed arrays.
    #[test]
    fn transposes_match_permuted_axes(
        (n, m) in (1usize..20, 1usize..20),
        tail in proptest::collection::vec(1usize..4, 0..3),
        (b0, b1) in (1usize..7, 1usize..7),
        (c0, c1) in (1usize..7, 1usize..7),
        seed: u64,
    ) {
        let mut shape = vec![n, m];
        shape.extend(&tail);
        let mut blocks = vec![b0, b1];
        blocks.extend(&tail);
        let mut again = vec![c0, c1];
        again.extend(&tail);
        let mut perm = vec![1, 0];
        perm.extend(2..shape.len());
        let a = rand_block::<f64>(&shape, seed, 0);
        let x = DArray::from_array(a.clone(), &Blocks::new(&blocks).unwrap()).unwrap();
        let want = a.permuted_axes(perm.clone());
        let lazy = x.permutedims_blocked(&perm, &Blocks::new(&again).unwrap()).unwrap();
        prop_assert_eq!(&lazy.collect_dense(ctx()).unwrap(), &want);
        let done = x.compute(ctx()).unwrap();
        let p = done.permutedims_blocked(&perm, &Blocks::new(&again).unwrap()).unwrap();
        prop_assert_eq!(&p.collect_dense(ctx()).unwrap(), &want);
    }
}

#[test]
fn sparse_matrices_transpose_into_new_blocks() {
    let x = DArray::<f64>::sprand_seeded(&Blocks::new([3, 4]).unwrap(), &[7, 9], 0.4, 5).unwrap();
    let want = x.collect_dense(ctx()).unwrap().reversed_axes();
    let p = x
        .permutedims_blocked(&[1, 0], &Blocks::new([4, 2]).unwrap())
        .unwrap();
    assert_eq!(p.grid().block_shape(&[0, 0]), vec![4, 2]);
    assert_eq!(p.collect_dense(ctx()).unwrap(), want);
}
