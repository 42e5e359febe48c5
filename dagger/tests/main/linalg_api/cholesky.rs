//! Tiled Cholesky: residuals over shapes and tiles (ragged edges), solves, and the typed
//! error naming the tile and the pivot.

use super::common::*;
use dagger_linalg::{cholesky, Error, Scalar, TiledMatrix, Uplo};
use ndarray::Array2;
use proptest::prelude::*;

fn residual<T: Scalar>(n: usize, tile: [usize; 2], uplo: Uplo, seed: u64) -> (f64, f64) {
    let a = spd(n, seed);
    let f = cholesky(ctx(), &tiled::<T>(&a, tile), uplo).unwrap();
    let l = dense(f.factor());
    let back = match uplo {
        Uplo::Lower => l.dot(&l.t()),
        Uplo::Upper => l.t().dot(&l),
    };
    // The other triangle is zero.
    let zero = (0..n)
        .all(|i| (0..n).all(|j| (uplo == Uplo::Lower) == (j <= i) || i == j || l[[i, j]] == 0.0));
    assert!(zero, "{uplo:?} factor has entries in the other triangle");
    let b = rand(n, 3, seed + 5);
    let x = f.solve(ctx(), &tiled::<T>(&b, [tile[0], 2])).unwrap();
    (rel(&a, &back), rel(&b, &a.dot(&dense(&x))))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    #[test]
    fn f64_residuals(n in 1usize..24, r in 1usize..8, c in 1usize..8, seed: u64) {
        for uplo in [Uplo::Lower, Uplo::Upper] {
            let (fact, solve) = residual::<f64>(n, [r, c], uplo, seed);
            prop_assert!(fact < 1e-12 && solve < 1e-12, "{uplo:?}: {fact:e} {solve:e}");
        }
    }

    #[test]
    fn f32_residuals(n in 1usize..20, b in 1usize..7, seed: u64) {
        let (fact, solve) = residual::<f32>(n, [b, b], Uplo::Lower, seed);
        prop_assert!(fact < 1e-5 && solve < 1e-4, "{fact:e} {solve:e}");
    }

    #[test]
    fn not_positive_definite_names_tile_and_pivot(n in 1usize..16, b in 1usize..6, p in 0usize..16, seed: u64) {
        let p = p % n;
        // SPD except for a negative Schur complement at column p.
        let mut a = Array2::<f64>::eye(n) * 2.0;
        a[[p, p]] = -1.0;
        let _ = seed;
        for uplo in [Uplo::Lower, Uplo::Upper] {
            match cholesky(ctx(), &tiled::<f64>(&a, [b, b]), uplo) {
                Err(Error::NotPositiveDefinite { tile, pivot, column }) => {
                    prop_assert_eq!((tile, pivot, column), ([p / b, p / b], p % b, p));
                }
                other => prop_assert!(false, "{:?}", other.map(|_| ())),
            }
        }
    }
}

#[test]
fn error_texts_and_shapes() {
    let mut a = spd(6, 1);
    a[[4, 4]] = -100.0;
    let e = cholesky(ctx(), &tiled::<f64>(&a, [4, 4]), Uplo::Lower).unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("NotPositiveDefinite") && s.contains("tile (1, 1)") && s.contains("pivot 0"),
        "{s}"
    );
    let r = TiledMatrix::<f64>::zeros(3, 4, [2, 2]).unwrap();
    assert!(matches!(
        cholesky(ctx(), &r, Uplo::Lower),
        Err(Error::DimensionMismatch(_))
    ));
    let f = cholesky(ctx(), &tiled::<f64>(&spd(4, 2), [2, 2]), Uplo::Lower).unwrap();
    assert!(matches!(
        f.solve(ctx(), &r),
        Err(Error::DimensionMismatch(_))
    ));
    let x = f.solve_vec(ctx(), &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let ax = spd(4, 2).dot(&ndarray::arr1(&x));
    assert!(ax
        .iter()
        .zip([1.0, 2.0, 3.0, 4.0])
        .all(|(u, v)| (u - v).abs() < 1e-12));
}
