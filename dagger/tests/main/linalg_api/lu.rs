//! Tiled LU: residuals `‖PA − LU‖/‖A‖` over shapes and tiles (rectangular, ragged), the
//! no-pivot variant, solves, and the typed `Singular` error.

use super::common::*;
use dagger_linalg::{lu, lu_nopiv, Error, Scalar};
use ndarray::Array2;
use proptest::prelude::*;

fn residual<T: Scalar>(a: &Array2<f64>, tile: [usize; 2]) -> f64 {
    let f = lu(ctx(), &tiled::<T>(a, tile)).unwrap();
    let mut seen = f.perm().to_vec();
    seen.sort_unstable();
    assert_eq!(seen, (0..a.nrows()).collect::<Vec<_>>());
    let (l, u) = (dense(&f.l().unwrap()), dense(&f.u().unwrap()));
    rel(&permuted(a, f.perm()), &l.dot(&u))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    #[test]
    fn f64_residuals(m in 1usize..20, n in 1usize..20, r in 1usize..7, c in 1usize..7, seed: u64) {
        let a = rand(m, n, seed);
        let res = residual::<f64>(&a, [r, c]);
        prop_assert!(res < 1e-12, "{res:e}");
    }

    #[test]
    fn f32_residuals(m in 1usize..16, n in 1usize..16, b in 1usize..6, seed: u64) {
        let res = residual::<f32>(&rand(m, n, seed), [b, b]);
        prop_assert!(res < 1e-5, "{res:e}");
    }

    #[test]
    fn solves_and_no_pivot(n in 1usize..20, b in 1usize..7, seed: u64) {
        let a = rand(n, n, seed) + Array2::<f64>::eye(n) * (n as f64 + 1.0);
        let rhs = rand(n, 2, seed + 1);
        for f in [lu(ctx(), &tiled::<f64>(&a, [b, b])).unwrap(), lu_nopiv(ctx(), &tiled::<f64>(&a, [b, b])).unwrap()] {
            let x = f.solve(ctx(), &tiled(&rhs, [b, 1])).unwrap();
            prop_assert!(rel(&rhs, &a.dot(&dense(&x))) < 1e-12);
        }
        let f = lu_nopiv(ctx(), &tiled::<f64>(&a, [b, b])).unwrap();
        prop_assert_eq!(f.perm().to_vec(), (0..n).collect::<Vec<_>>());
        let (l, u) = (dense(&f.l().unwrap()), dense(&f.u().unwrap()));
        prop_assert!(rel(&a, &l.dot(&u)) < 1e-12);
    }

    #[test]
    fn zero_column_is_singular(n in 2usize..14, b in 1usize..6, c in 0usize..14, seed: u64) {
        let c = c % n;
        let mut a = rand(n, n, seed) + Array2::<f64>::eye(n) * n as f64;
        a.column_mut(c).fill(0.0);
        for res in [lu(ctx(), &tiled::<f64>(&a, [b, b])), lu_nopiv(ctx(), &tiled::<f64>(&a, [b, b]))] {
            match res {
                Err(Error::Singular { tile, pivot, column }) => {
                    prop_assert_eq!((tile, pivot, column), ([c / b, c / b], c % b, c));
                }
                other => prop_assert!(false, "{:?}", other.map(|_| ())),
            }
        }
    }
}

#[test]
fn solve_shapes() {
    let f = lu(ctx(), &tiled::<f64>(&rand(4, 3, 1), [2, 2])).unwrap();
    let b = tiled::<f64>(&rand(4, 1, 2), [2, 1]);
    assert!(matches!(
        f.solve(ctx(), &b),
        Err(Error::DimensionMismatch(_))
    ));
    let s = lu(ctx(), &tiled::<f64>(&Array2::zeros((3, 3)), [2, 2])).unwrap_err();
    assert!(s.to_string().contains("Singular"), "{s}");
}
