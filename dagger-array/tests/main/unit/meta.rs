//! The former unit tests of `src/meta.rs` (`unit`'s doc says why they moved).

use dagger_array::meta::*;
use dagger_array::partition::Blocks;
use dagger_array::{BlockGrid, Kind};

#[test]
fn summaries() {
    let g = BlockGrid::new(&[10000], &Blocks::from([4000]), 1).unwrap();
    assert_eq!(
        ArrayMeta::new(g, "f64", Kind::Sparse).to_string(),
        "10000 sparse f64 in 3 parts of at most 4000"
    );
    let g = BlockGrid::single(&[]);
    assert_eq!(
        ArrayMeta::new(g, "i32", Kind::Dense).to_string(),
        "0-dimensional i32 in 1 part of at most 0-dimensional"
    );
}
