//! The tiled matrix: conversions and re-blocking keep every element.

use super::common::*;
use dagger_array::{Blocks, DArray};
use dagger_linalg::TiledMatrix;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn conversions_round_trip(m in 0usize..9, n in 0usize..9, r in 1usize..5, c in 1usize..5, seed: u64) {
        let a = rand(m, n, seed);
        let t = tiled::<f64>(&a, [r, c]);
        prop_assert_eq!(t.grid(), [m.div_ceil(r), n.div_ceil(c)]);
        prop_assert_eq!(dense(&t), a.clone());
        prop_assert_eq!(dense(&t.retiled([c, r]).unwrap()), a.clone());
        prop_assert_eq!(dense(&t.transpose()), a.t().to_owned());
        prop_assert!((t.norm_fro() - fro(&a)).abs() < 1e-12);
        if m > 0 && n > 0 {
            let d = t.to_darray().unwrap();
            let back = TiledMatrix::from_darray(&d, ctx()).unwrap();
            // Tiles are the shape of the first block (clipped to the matrix).
            prop_assert_eq!(back.tile_shape(), [r.min(m), c.min(n)]);
            prop_assert_eq!(dense(&back), a.clone());
        }
    }
}

#[test]
fn from_darray_needs_a_matrix_and_a_tile() {
    let v = DArray::<f64>::rand_seeded(&Blocks::from([3]), &[5], 1).unwrap();
    assert!(matches!(
        TiledMatrix::from_darray(&v, ctx()),
        Err(dagger_linalg::Error::DimensionMismatch(_))
    ));
    assert!(TiledMatrix::<f64>::zeros(2, 2, [0, 1]).is_err());
    let d = DArray::<f64>::rand_seeded(&Blocks::from([4, 3]), &[7, 5], 2).unwrap();
    let t = TiledMatrix::from_darray(&d, ctx()).unwrap();
    assert_eq!((t.tile_shape(), t.grid()), ([4, 3], [2, 2]));
    let v = t.column_vec(1);
    assert_eq!(v.len(), 7);
    assert_eq!(TiledMatrix::from_vec(&v, 3).unwrap().column_vec(0), v);
}
