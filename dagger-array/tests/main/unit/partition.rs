//! The former unit tests of `src/partition.rs` (`unit`'s doc says why they moved).

use dagger_array::partition::*;
use dagger_core::{Error, Partitioning};
use proptest::prelude::*;
use std::ops::Range;

fn check_cover(shape: &[usize], ranges: &[Vec<Range<usize>>]) {
    assert_eq!(ranges.len(), shape.len());
    for (n, rs) in shape.iter().zip(ranges) {
        assert!(!rs.is_empty());
        assert_eq!(rs[0].start, 0);
        assert_eq!(rs.last().map(|r| r.end), Some(*n));
        for w in rs.windows(2) {
            assert_eq!(w[0].end, w[1].start, "gap or overlap");
            assert!(!w[1].is_empty());
        }
    }
}

proptest! {
    #[test]
    fn blocks_cover_exactly(shape in proptest::collection::vec(0usize..50, 0..4),
                            seed in proptest::collection::vec(1usize..20, 4)) {
        let b = Blocks::new(&seed[..shape.len()]).unwrap();
        let r = b.block_ranges(&shape, 1).unwrap();
        check_cover(&shape, &r);
        for (d, rs) in r.iter().enumerate() {
            prop_assert!(rs.iter().all(|x| x.len() <= seed[d]));
        }
    }

    #[test]
    fn autoblocks_cover_exactly(shape in proptest::collection::vec(0usize..50, 0..4), np in 1usize..9) {
        let r = AutoBlocks.block_ranges(&shape, np).unwrap();
        check_cover(&shape, &r);
        if let Some(last) = r.last() {
            prop_assert!(last.len() <= np);
        }
    }
}

#[test]
fn autoblocks_g49() {
    for nd in 1..=3 {
        let shape = vec![100; nd];
        for np in [1, 2, 3, 7] {
            let b = AutoBlocks.resolve(&shape, np);
            let mut want = vec![100; nd];
            want[nd - 1] = 100usize.div_ceil(np);
            assert_eq!(b.sizes(), &want[..]);
        }
    }
    assert_eq!(AutoBlocks.resolve(&[], 4).sizes(), &[] as &[usize]);
}

#[test]
fn errors() {
    assert!(matches!(Blocks::new([3, 0]), Err(Error::Argument(_))));
    assert!(matches!(
        Blocks::from([0]).block_ranges(&[4], 1),
        Err(Error::Argument(_))
    ));
    assert!(matches!(
        Blocks::from([2, 2]).block_ranges(&[4], 1),
        Err(Error::DimensionMismatch(_))
    ));
    let b = Blocks::from_counts(&[10], &[3]).unwrap();
    assert_eq!(
        b.block_ranges(&[10], 1).unwrap(),
        vec![vec![0..4, 4..8, 8..10]]
    );
}
