//! Tiled triangular solves against the dense reference.

use super::common::*;
use dagger_linalg::{solve_triangular, Diag, Error, Trans, Uplo};
use ndarray::Array2;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn every_case(n in 1usize..14, r in 1usize..4, b in 1usize..6, bc in 1usize..4, seed: u64) {
        let a = rand(n, n, seed) + Array2::<f64>::eye(n) * 4.0;
        let rhs = rand(n, r, seed + 1);
        for uplo in [Uplo::Lower, Uplo::Upper] {
            for trans in [Trans::No, Trans::Yes] {
                for diag in [Diag::NonUnit, Diag::Unit] {
                    let t = Array2::from_shape_fn((n, n), |(i, j)| match (i == j, diag) {
                        (true, Diag::Unit) => 1.0,
                        _ if (uplo == Uplo::Lower) == (j <= i) || i == j => a[[i, j]],
                        _ => 0.0,
                    });
                    let op = if trans.is_yes() { t.t().to_owned() } else { t };
                    let x = solve_triangular(ctx(), &tiled::<f64>(&a, [b, b]), uplo, trans, diag, &tiled(&rhs, [bc, bc])).unwrap();
                    prop_assert!(rel(&rhs, &op.dot(&dense(&x))) < 1e-12);
                }
            }
        }
        // Non-square tiles of A are re-blocked.
        let x = solve_triangular(ctx(), &tiled::<f64>(&a, [b, b + 1]), Uplo::Lower, Trans::No, Diag::NonUnit, &tiled(&rhs, [2, 2])).unwrap();
        let l = Array2::from_shape_fn((n, n), |(i, j)| if j <= i { a[[i, j]] } else { 0.0 });
        prop_assert!(rel(&rhs, &l.dot(&dense(&x))) < 1e-12);
    }
}

#[test]
fn shapes_must_agree() {
    let a = tiled::<f64>(&rand(4, 4, 1), [2, 2]);
    let b = tiled::<f64>(&rand(3, 1, 1), [2, 1]);
    let e = solve_triangular(ctx(), &a, Uplo::Lower, Trans::No, Diag::NonUnit, &b).unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch(_)), "{e}");
}
