//! The former unit tests of `src/index.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{rand_block, sprand_block};
use dagger_array::dist::distribute;
use dagger_array::index::*;
use dagger_array::partition::Blocks;
use dagger_array::{Block, BlockGrid};
use dagger_core::Error;
use ndarray::{ArrayD, Axis};
use proptest::prelude::*;

/// Indexing a whole dense array directly, as the reference.
fn direct(a: &ArrayD<f64>, ix: &[Index]) -> ArrayD<f64> {
    let mut v = a.clone();
    for (d, i) in ix.iter().enumerate() {
        let list: Vec<usize> = match i {
            Index::All => (0..a.shape()[d]).collect(),
            Index::Range(r) => r.clone().collect(),
            Index::List(l) => l.clone(),
            Index::Scalar(s) => vec![*s],
        };
        v = v.select(Axis(d), &list);
    }
    let shape: Vec<usize> = v
        .shape()
        .iter()
        .zip(ix)
        .filter(|(_, i)| !matches!(i, Index::Scalar(_)))
        .map(|(&n, _)| n)
        .collect();
    v.as_standard_layout()
        .into_owned()
        .into_shape_with_order(shape)
        .unwrap()
}

fn any_index(n: usize) -> impl Strategy<Value = Index> {
    prop_oneof![
        Just(Index::All),
        (0..=n, 0..=n).prop_map(|(a, b)| Index::Range(a.min(b)..a.max(b))),
        proptest::collection::vec(0..n, 0..8).prop_map(Index::List),
        (0..n).prop_map(Index::Scalar),
    ]
}

proptest! {
    #[test]
    fn matches_direct_indexing(
        (m, n, i0, i1) in (1usize..11, 1usize..11).prop_flat_map(|(m, n)| (Just(m), Just(n), any_index(m), any_index(n))),
        b0 in 1usize..5, b1 in 1usize..5, seed: u64, sparse: bool)
    {
        let g = BlockGrid::new(&[m, n], &Blocks::from([b0, b1]), 1).unwrap();
        let whole = if sparse {
            sprand_block::<f64>(&[m, n], 0.4, seed, 0).unwrap()
        } else {
            Block::Dense(rand_block::<f64>(&[m, n], seed, 0))
        };
        let blocks = distribute(&whole, &g).unwrap();
        let ix = [i0, i1];
        let plan = IndexPlan::new(&g, &ix).unwrap();
        let got = plan.apply(&blocks).unwrap();
        prop_assert_eq!(got.to_dense(), direct(&whole.to_dense(), &ix));
        prop_assert_eq!(&got.shape()[..], plan.shape());
    }
}

#[test]
fn g53_cases_and_errors() {
    let x = rand_block::<f64>(&[10, 10], 9, 0);
    let g = BlockGrid::new(&[10, 10], &Blocks::from([3, 3]), 1).unwrap();
    let blocks = distribute(&Block::Dense(x.clone()), &g).unwrap();
    let cases: Vec<[Index; 2]> = vec![
        [(2..8).into(), (1..7).into()],
        [vec![0, 1, 8, 6, 5, 1, 3, 4].into(), (1..7).into()],
        [vec![1, 6, 9].into(), Index::All],
        [Index::List(vec![]), Index::All],
        [vec![4, 3, 2].into(), 4.into()],
        [4.into(), 4.into()],
    ];
    for ix in cases {
        let got = IndexPlan::new(&g, &ix).unwrap().apply(&blocks).unwrap();
        assert_eq!(got.to_dense(), direct(&x, &ix));
    }
    assert!(matches!(
        IndexPlan::new(&g, &[10.into(), 0.into()]),
        Err(Error::Argument(_))
    ));
    assert!(matches!(
        IndexPlan::new(&g, &[0.into()]),
        Err(Error::DimensionMismatch(_))
    ));
    // A sparse matrix indexed by (list, scalar) is a sparse vector.
    let s = sprand_block::<f64>(&[10, 10], 0.5, 1, 0).unwrap();
    let sb = distribute(&s, &g).unwrap();
    let v = IndexPlan::new(&g, &[vec![9, 2, 2].into(), 5.into()])
        .unwrap()
        .apply(&sb)
        .unwrap();
    assert!(matches!(v, Block::SparseVec(_)));
}
