//! Tiled QR: `‖A − QR‖/‖A‖` and `‖QᵀQ − I‖` over shapes and tiles, and least squares.

use super::common::*;
use dagger_linalg::{qr, Error, Scalar};
use ndarray::Array2;
use proptest::prelude::*;

fn residuals<T: Scalar>(a: &Array2<f64>, tile: [usize; 2]) -> (f64, f64) {
    let f = qr(ctx(), &tiled::<T>(a, tile)).unwrap();
    let (q, r) = (dense(&f.q(ctx()).unwrap()), dense(&f.r().unwrap()));
    let k = a.nrows().min(a.ncols());
    (
        rel(a, &q.dot(&r)),
        fro(&(q.t().dot(&q) - Array2::<f64>::eye(k))),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    #[test]
    fn f64_residuals(m in 1usize..20, n in 1usize..20, r in 1usize..7, c in 1usize..7, seed: u64) {
        let (fact, orth) = residuals::<f64>(&rand(m, n, seed), [r, c]);
        prop_assert!(fact < 1e-12 && orth < 1e-12, "{fact:e} {orth:e}");
    }

    #[test]
    fn f32_residuals(m in 1usize..16, n in 1usize..16, b in 1usize..6, seed: u64) {
        let (fact, orth) = residuals::<f32>(&rand(m, n, seed), [b, b]);
        prop_assert!(fact < 1e-5 && orth < 1e-5, "{fact:e} {orth:e}");
    }

    #[test]
    fn least_squares(n in 1usize..8, extra in 0usize..10, b in 1usize..5, seed: u64) {
        let m = n + extra;
        let a = rand(m, n, seed) + Array2::<f64>::eye(m).slice(ndarray::s![.., ..n]).to_owned() * 3.0;
        let rhs = rand(m, 2, seed + 1);
        let f = qr(ctx(), &tiled::<f64>(&a, [b, b])).unwrap();
        let x = dense(&f.solve_least_squares(ctx(), &tiled(&rhs, [b, 2])).unwrap());
        // The normal equations hold: Aᵀ(A·x − b) = 0.
        let g = a.t().dot(&(a.dot(&x) - &rhs));
        prop_assert!(fro(&g) < 1e-11 * (1.0 + fro(&rhs)), "{:e}", fro(&g));
        // Applying Qᵀ then Q gives B back.
        let qtb = f.apply(ctx(), &tiled(&rhs, [b, 1]), true).unwrap();
        let back = f.apply(ctx(), &qtb, false).unwrap();
        prop_assert!(rel(&rhs, &dense(&back)) < 1e-12);
    }
}

#[test]
fn shapes() {
    let f = qr(ctx(), &tiled::<f64>(&rand(3, 5, 1), [2, 2])).unwrap();
    let b = tiled::<f64>(&rand(3, 1, 2), [2, 1]);
    assert!(matches!(
        f.solve_least_squares(ctx(), &b),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(matches!(
        f.apply(ctx(), &tiled::<f64>(&rand(4, 1, 2), [2, 1]), true),
        Err(Error::DimensionMismatch(_))
    ));
}

#[test]
fn rank_deficient_input_still_factors() {
    // A zero matrix and one with a zero column: Q stays orthonormal, A = Q·R, no NaN.
    let mut with_zero = rand(9, 5, 3);
    with_zero.column_mut(2).fill(0.0);
    for a in [Array2::<f64>::zeros((6, 4)), with_zero] {
        let (fact, orth) = residuals::<f64>(&a, [3, 3]);
        assert!(fact < 1e-12 && orth < 1e-12, "{fact:e} {orth:e}");
    }
}
