//! `solve` and `inv` on tiled matrices and through DArrays.

use super::common::*;
use dagger_array::{Blocks, DArray};
use dagger_linalg::{inv, solve, solve_vec, Error, Method, TiledMatrix};
use ndarray::Array2;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn solve_and_inverse(n in 1usize..18, r in 1usize..6, c in 1usize..6, seed: u64) {
        let a = rand(n, n, seed) + Array2::<f64>::eye(n) * 2.0;
        let s = spd(n, seed);
        let rhs = rand(n, 3, seed + 1);
        let x = solve(ctx(), &tiled::<f64>(&a, [r, c]), &tiled(&rhs, [c, r]), Method::Lu).unwrap();
        prop_assert!(rel(&rhs, &a.dot(&dense(&x))) < 1e-12);
        let x = solve(ctx(), &tiled::<f64>(&s, [r, c]), &tiled(&rhs, [r, 2]), Method::Cholesky).unwrap();
        prop_assert!(rel(&rhs, &s.dot(&dense(&x))) < 1e-12);
        let v: Vec<f64> = rhs.column(0).to_vec();
        let y = solve_vec(ctx(), &tiled::<f64>(&a, [r, r]), &v, Method::Lu).unwrap();
        let ay = a.dot(&ndarray::arr1(&y));
        prop_assert!(ay.iter().zip(&v).all(|(p, q)| (p - q).abs() < 1e-10));
        let ai = dense(&inv(ctx(), &tiled::<f64>(&a, [r, c])).unwrap());
        prop_assert!(fro(&(a.dot(&ai) - Array2::<f64>::eye(n))) < 1e-10);
    }
}

#[test]
fn through_darrays_and_errors() {
    let n = 13;
    let a = DArray::from_array((spd(n, 4)).into_dyn(), &Blocks::from([5, 4])).unwrap();
    let b = DArray::from_array(rand(n, 2, 5).into_dyn(), &Blocks::from([5, 2])).unwrap();
    let at = TiledMatrix::from_darray(&a, ctx()).unwrap();
    let x = solve(
        ctx(),
        &at,
        &TiledMatrix::from_darray(&b, ctx()).unwrap(),
        Method::Cholesky,
    )
    .unwrap();
    // X comes in the factor's square tiles (5); A·X needs X's rows in A's column blocks (4).
    assert_eq!(x.tile_shape(), [5, 2]);
    let xd = x.retiled([4, 2]).unwrap().into_darray().unwrap();
    let r = a.matmul(&xd).unwrap().collect_dense(ctx()).unwrap();
    let want = b.collect_dense(ctx()).unwrap();
    assert!(r
        .iter()
        .zip(want.iter())
        .all(|(p, q)| (p - q).abs() < 1e-10));
    let sq = tiled::<f64>(&rand(3, 3, 1), [2, 2]);
    let e = solve(
        ctx(),
        &sq,
        &tiled::<f64>(&rand(4, 1, 1), [2, 1]),
        Method::Lu,
    )
    .unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch(_)));
    let e = inv(ctx(), &tiled::<f64>(&rand(3, 4, 1), [2, 2])).unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch(_)));
    let e = inv(ctx(), &tiled::<f64>(&Array2::zeros((4, 4)), [2, 2])).unwrap_err();
    assert!(matches!(e, Error::Singular { column: 0, .. }), "{e}");
}
