//! The tile kernels against dense references.

use super::common::*;
use dagger_linalg::kernels::*;
use dagger_linalg::{Diag, Side, Trans, Uplo};
use ndarray::Array2;
use proptest::prelude::*;

fn op(a: &Array2<f64>, t: Trans) -> Array2<f64> {
    if t.is_yes() {
        a.t().to_owned()
    } else {
        a.clone()
    }
}

/// The `uplo` triangle of `a` (unit diagonal for `Diag::Unit`).
fn tri(a: &Array2<f64>, uplo: Uplo, diag: Diag) -> Array2<f64> {
    Array2::from_shape_fn(a.dim(), |(i, j)| match (i == j, diag) {
        (true, Diag::Unit) => 1.0,
        _ if (uplo == Uplo::Lower && j <= i) || (uplo == Uplo::Upper && j >= i) => a[[i, j]],
        _ => 0.0,
    })
}

const TRANS: [Trans; 2] = [Trans::No, Trans::Yes];
const UPLO: [Uplo; 2] = [Uplo::Lower, Uplo::Upper];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gemm_every_transpose(m in 1usize..7, n in 1usize..7, k in 1usize..7, seed: u64) {
        for (ta, tb) in TRANS.iter().flat_map(|&a| TRANS.map(|b| (a, b))) {
            let a = rand(if ta.is_yes() { k } else { m }, if ta.is_yes() { m } else { k }, seed);
            let b = rand(if tb.is_yes() { n } else { k }, if tb.is_yes() { k } else { n }, seed + 1);
            let c0 = rand(m, n, seed + 2);
            for (alpha, beta) in [(1.0, 0.0), (-1.0, 1.0), (0.5, 2.0)] {
                let mut c = nd_tile::<f64>(&c0);
                gemm(&mut c, &nd_tile(&a), ta, &nd_tile(&b), tb, alpha, beta).unwrap();
                let want = op(&a, ta).dot(&op(&b, tb)) * alpha + &c0 * beta;
                prop_assert!(rel(&want, &tile_nd(&c)) < 1e-13);
            }
        }
    }

    #[test]
    fn syrk_writes_one_triangle(n in 1usize..8, k in 1usize..6, seed: u64) {
        for (trans, uplo) in TRANS.iter().flat_map(|&t| UPLO.map(|u| (t, u))) {
            let a = if trans.is_yes() { rand(k, n, seed) } else { rand(n, k, seed) };
            let c0 = rand(n, n, seed + 1);
            let mut c = nd_tile::<f64>(&c0);
            syrk(&mut c, &nd_tile(&a), trans, uplo, -1.0, 0.5).unwrap();
            let full = &c0 * 0.5 - op(&a, trans).dot(&op(&a, trans).t());
            let got = tile_nd(&c);
            for i in 0..n {
                for j in 0..n {
                    let inside = (uplo == Uplo::Lower && j <= i) || (uplo == Uplo::Upper && j >= i);
                    let want = if inside { full[[i, j]] } else { c0[[i, j]] };
                    prop_assert!((got[[i, j]] - want).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn trsm_every_case(n in 1usize..8, r in 1usize..5, seed: u64) {
        let a = rand(n, n, seed) + Array2::<f64>::eye(n) * 4.0;
        for side in [Side::Left, Side::Right] {
            for (uplo, trans) in UPLO.iter().flat_map(|&u| TRANS.map(|t| (u, t))) {
                for diag in [Diag::NonUnit, Diag::Unit] {
                    let b0 = if side == Side::Left { rand(n, r, seed + 1) } else { rand(r, n, seed + 1) };
                    let mut x = nd_tile::<f64>(&b0);
                    trsm(&mut x, &nd_tile(&a), side, uplo, trans, diag, 2.0).unwrap();
                    let t = op(&tri(&a, uplo, diag), trans);
                    let x = tile_nd(&x);
                    let back = if side == Side::Left { t.dot(&x) } else { x.dot(&t) };
                    prop_assert!(rel(&(&b0 * 2.0), &back) < 1e-12, "{side:?} {uplo:?} {trans:?} {diag:?}");
                }
            }
        }
    }

    #[test]
    fn factorizations(m in 1usize..12, n in 1usize..12, seed: u64) {
        // potrf, both triangles.
        let s = spd(n, seed);
        for uplo in UPLO {
            let mut f = nd_tile::<f64>(&s);
            potrf(&mut f, uplo).unwrap();
            let l = tri(&tile_nd(&f), uplo, Diag::NonUnit);
            let back = if uplo == Uplo::Lower { l.dot(&l.t()) } else { l.t().dot(&l) };
            prop_assert!(rel(&s, &back) < 1e-13);
        }
        // getrf: P·A = L·U.
        let a = rand(m, n, seed);
        let mut f = nd_tile::<f64>(&a);
        let perm = getrf(&mut f).unwrap();
        let fd = tile_nd(&f);
        let k = m.min(n);
        let l = Array2::from_shape_fn((m, k), |(i, j)| if i == j { 1.0 } else if i > j { fd[[i, j]] } else { 0.0 });
        let u = Array2::from_shape_fn((k, n), |(i, j)| if i <= j { fd[[i, j]] } else { 0.0 });
        prop_assert!(rel(&permuted(&a, &perm), &l.dot(&u)) < 1e-13);
        // getrf_nopiv on a diagonally dominant matrix.
        let d = rand(n, n, seed) + Array2::<f64>::eye(n) * n as f64;
        let mut f = nd_tile::<f64>(&d);
        getrf_nopiv(&mut f).unwrap();
        let fd = tile_nd(&f);
        let l = tri(&fd, Uplo::Lower, Diag::Unit);
        let u = tri(&fd, Uplo::Upper, Diag::NonUnit);
        prop_assert!(rel(&d, &l.dot(&u)) < 1e-13);
        // geqrf and Q.
        let mut f = nd_tile::<f64>(&a);
        let t = geqrf(&mut f);
        let mut q = nd_tile::<f64>(&Array2::eye(m));
        apply_q(&mut q, &f, &t, false);
        let (q, fd) = (tile_nd(&q), tile_nd(&f));
        let r = Array2::from_shape_fn((m, n), |(i, j)| if i <= j { fd[[i, j]] } else { 0.0 });
        prop_assert!(rel(&a, &q.dot(&r)) < 1e-13);
        prop_assert!(fro(&(q.t().dot(&q) - Array2::<f64>::eye(m))) < 1e-13);
        let mut back = nd_tile::<f64>(&q);
        apply_q(&mut back, &f, &t, true);
        prop_assert!(fro(&(tile_nd(&back) - Array2::<f64>::eye(m))) < 1e-13);
    }
}

#[test]
fn failures_name_the_pivot() {
    let mut a = nd_tile::<f64>(&Array2::from_shape_fn((3, 3), |(i, j)| {
        if i == j {
            [1.0, 1.0, -1.0][i]
        } else {
            0.0
        }
    }));
    assert_eq!(potrf(&mut a, Uplo::Lower), Err(2));
    let mut z = nd_tile::<f64>(&Array2::from_shape_fn((3, 3), |(i, j)| {
        if j == 1 {
            0.0
        } else {
            (i + 2 * j + 1) as f64
        }
    }));
    assert_eq!(getrf(&mut z.clone()), Err(1));
    assert_eq!(getrf_nopiv(&mut z), Err(1));
    let mut c = nd_tile::<f64>(&Array2::zeros((2, 2)));
    let a = nd_tile::<f64>(&Array2::zeros((2, 3)));
    assert!(matches!(
        gemm(&mut c, &a, Trans::No, &a, Trans::No, 1.0, 0.0),
        Err(dagger_linalg::Error::DimensionMismatch(_))
    ));
    assert!(trsm(
        &mut c,
        &nd_tile(&Array2::zeros((1, 1))),
        Side::Left,
        Uplo::Lower,
        Trans::No,
        Diag::Unit,
        1.0
    )
    .is_err());
}

#[test]
fn f32_kernels() {
    let s = spd(9, 3);
    let mut f = nd_tile::<f32>(&s);
    potrf(&mut f, Uplo::Lower).unwrap();
    let l = tri(&tile_nd(&f), Uplo::Lower, Diag::NonUnit);
    assert!(rel(&s, &l.dot(&l.t())) < 1e-5);
    assert!((norm_fro(&nd_tile::<f32>(&Array2::from_elem((2, 2), 2.0))) - 4.0).abs() < 1e-6);
    assert_eq!(
        norm_max(&nd_tile::<f32>(&Array2::from_elem((2, 2), -3.0))),
        3.0
    );
}
