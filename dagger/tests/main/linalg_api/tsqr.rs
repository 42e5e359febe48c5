//! TSQR: `‖A − QR‖/‖A‖`, `‖QᵀQ − I‖` and an upper triangular `R` over shapes and block
//! rows (ragged, and blocks shorter than the matrix is wide), least squares against the
//! block-column QR, and typed shape errors.

use super::common::*;
use dagger_linalg::{qr, tsqr, Error, Scalar};
use ndarray::Array2;
use proptest::prelude::*;

fn residuals<T: Scalar>(a: &Array2<f64>, tile: [usize; 2]) -> (f64, f64, f64) {
    let f = tsqr(ctx(), &tiled::<T>(a, tile)).unwrap();
    let (q, r) = (dense(&f.q(ctx()).unwrap()), dense(&f.r().unwrap()));
    let k = a.nrows().min(a.ncols());
    assert_eq!((q.dim(), r.dim()), ((a.nrows(), k), (k, a.ncols())));
    let below: f64 = r
        .indexed_iter()
        .filter(|((i, j), _)| i > j)
        .map(|(_, v)| v.abs())
        .sum();
    (
        rel(a, &q.dot(&r)),
        fro(&(q.t().dot(&q) - Array2::<f64>::eye(k))),
        below,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn f64_residuals(m in 1usize..60, n in 1usize..8, r in 1usize..12, c in 1usize..5, seed: u64) {
        let (fact, orth, below) = residuals::<f64>(&rand(m, n, seed), [r, c]);
        prop_assert!(fact < 1e-12 && orth < 1e-12 && below == 0.0, "{fact:e} {orth:e} {below:e}");
    }

    #[test]
    fn f32_residuals(m in 1usize..40, n in 1usize..6, r in 1usize..9, seed: u64) {
        let (fact, orth, below) = residuals::<f32>(&rand(m, n, seed), [r, n]);
        prop_assert!(fact < 1e-5 && orth < 1e-5 && below == 0.0, "{fact:e} {orth:e}");
    }

    #[test]
    fn least_squares_agrees_with_the_block_column_qr(n in 1usize..6, extra in 0usize..40, r in 1usize..10, seed: u64) {
        let m = n + extra;
        let a = rand(m, n, seed) + Array2::<f64>::eye(m).slice(ndarray::s![.., ..n]).to_owned() * 3.0;
        let rhs = rand(m, 2, seed + 1);
        let x = dense(&tsqr(ctx(), &tiled::<f64>(&a, [r, n])).unwrap()
            .solve_least_squares(ctx(), &tiled(&rhs, [r, 2])).unwrap());
        let g = a.t().dot(&(a.dot(&x) - &rhs));
        prop_assert!(fro(&g) < 1e-11 * (1.0 + fro(&rhs)), "{:e}", fro(&g));
        let y = dense(&qr(ctx(), &tiled::<f64>(&a, [r, r])).unwrap()
            .solve_least_squares(ctx(), &tiled(&rhs, [r, 2])).unwrap());
        prop_assert!(rel(&y, &x) < 1e-10, "{:e}", rel(&y, &x));
    }
}

#[test]
fn wide_and_empty_inputs_and_wrong_right_hand_sides_are_typed_errors() {
    let f = tsqr(ctx(), &tiled::<f64>(&rand(3, 5, 1), [2, 2])).unwrap();
    // A wide matrix factors (R is 3 × 5) but has no least-squares solution.
    let (fact, orth, _) = residuals::<f64>(&rand(3, 5, 1), [2, 2]);
    assert!(fact < 1e-12 && orth < 1e-12);
    let b = tiled::<f64>(&rand(3, 1, 2), [2, 1]);
    assert!(matches!(
        f.solve_least_squares(ctx(), &b),
        Err(Error::DimensionMismatch(_))
    ));
    let tall = tsqr(ctx(), &tiled::<f64>(&rand(8, 2, 1), [3, 2])).unwrap();
    let wrong = tiled::<f64>(&rand(7, 1, 2), [3, 1]);
    assert!(matches!(
        tall.solve_least_squares(ctx(), &wrong),
        Err(Error::DimensionMismatch(_))
    ));
    let empty = dagger_linalg::TiledMatrix::<f64>::zeros(0, 3, [2, 2]).unwrap();
    assert!(matches!(
        tsqr(ctx(), &empty),
        Err(Error::DimensionMismatch(_))
    ));
}

#[test]
fn rank_deficient_input_still_factors() {
    let mut with_zero = rand(30, 4, 3);
    with_zero.column_mut(2).fill(0.0);
    for a in [Array2::<f64>::zeros((12, 3)), with_zero] {
        let (fact, orth, _) = residuals::<f64>(&a, [5, 4]);
        assert!(fact < 1e-12 && orth < 1e-12, "{fact:e} {orth:e}");
    }
}
