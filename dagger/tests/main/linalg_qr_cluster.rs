//! QR and TSQR on 2 worker processes, computed on the DArray's blocks where they live
//! (`dagger::linalg::blocks_qr`, `blocks_tsqr`): ‖A − QR‖/‖A‖ and ‖QᵀQ − I‖ in f64 (f32
//! looser), ragged edges and non-square block grids, least squares against a dense
//! reference (faer's QR of the whole matrix), the factors' tiles stay on their workers and
//! no task runs in the driver; and the same residuals on a local context.

use dagger::array::cyclic::ProcessGrid;
use dagger::array::{Blocks, DArray};
use dagger::linalg::kernels::{apply_q, geqrf, trsm};
use dagger::linalg::{
    cholesky_blocks, lu_darray, qr_darray, tsqr_darray, Diag, Scalar, Side, Tile, Trans, Uplo,
};
use dagger::{Context, WorkerId};
use ndarray::Array2;

use crate::linalg_cluster::{cluster, fro, l_and_u, random, spd};
use proptest::prelude::*;

fn cast<T: Scalar>(a: &Array2<f64>) -> Array2<T> {
    a.mapv(T::of)
}

fn dense<T: Scalar>(ctx: &Context, d: &DArray<T>) -> Array2<f64> {
    let a: Array2<T> = d.collect_dense(ctx).unwrap().into_dimensionality().unwrap();
    a.mapv(|v| v.as_f64())
}

/// Where each block lives (nothing for a lazy array: a local region's result).
fn owners<T: Scalar>(a: &DArray<T>) -> Vec<WorkerId> {
    a.chunks()
        .unwrap_or_default()
        .iter()
        .map(|c| c.owner())
        .collect()
}

/// `a` in blocks of `part`, block `(i, j)` on the worker at `(i mod p, j mod q)` of a
/// `p × q` grid of the workers.
fn spread<T: Scalar>(
    ctx: &Context,
    a: &Array2<f64>,
    part: [usize; 2],
    p: usize,
    q: usize,
) -> DArray<T> {
    let d = DArray::from_array(cast::<T>(a).into_dyn(), &Blocks::from(part)).unwrap();
    d.to_cyclic(&ProcessGrid::of(ctx, p, q).unwrap())
        .compute(ctx)
        .unwrap()
}

/// (‖A − QR‖/‖A‖, ‖QᵀQ − I‖) of a QR's thin `Q` and `R`.
fn residuals(a: &Array2<f64>, q: &Array2<f64>, r: &Array2<f64>) -> (f64, f64) {
    let k = q.ncols();
    let qr = fro(&(a - &q.dot(r))) / fro(a);
    let orth = fro(&(q.t().dot(q) - Array2::<f64>::eye(k)));
    (qr, orth)
}

/// The least-squares solution of `A·X ≈ B` by faer's QR of the whole matrix (one tile).
fn lstsq_reference(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let n = a.ncols();
    let mut f = Tile::<f64>::from_fn(a.nrows(), n, |i, j| a[[i, j]]);
    let h = geqrf(&mut f);
    let mut c = Tile::<f64>::from_fn(b.nrows(), b.ncols(), |i, j| b[[i, j]]);
    apply_q(&mut c, &f, &h, true);
    let r = Tile::<f64>::from_fn(n, n, |i, j| if i <= j { f[(i, j)] } else { 0.0 });
    let mut x = Tile::<f64>::from_fn(n, b.ncols(), |i, j| c[(i, j)]);
    trsm(
        &mut x,
        &r,
        Side::Left,
        Uplo::Upper,
        Trans::No,
        Diag::NonUnit,
        1.0,
    )
    .unwrap();
    Array2::from_shape_fn((n, b.ncols()), |(i, j)| x[(i, j)])
}

/// QR of `a` (in `part` blocks over a `p × q` grid of `ctx`'s workers): the residuals
/// within `tol`, the factors' tiles where `a`'s were, and (for `m ≥ n`) a least-squares
/// solve against the dense reference.
fn check_qr<T: Scalar>(ctx: &Context, a: &Array2<f64>, part: [usize; 2], tol: f64) {
    let d = spread::<T>(ctx, a, part, 1, 2);
    let placed = owners(&d);
    let f = qr_darray(ctx, &d).unwrap();
    if !ctx.other_workers().is_empty() {
        assert_eq!(
            owners(f.factors()),
            placed,
            "every factor tile stayed on its worker"
        );
    }
    let (q, r) = (dense(ctx, &f.q(ctx).unwrap()), dense(ctx, f.r()));
    let (m, n) = a.dim();
    assert_eq!((q.dim(), r.dim()), ((m, m.min(n)), (m.min(n), n)));
    let (res, orth) = residuals(a, &q, &r);
    assert!(
        res < tol && orth < tol,
        "{m}×{n} in {part:?}: ‖A − QR‖/‖A‖ = {res:e}, ‖QᵀQ − I‖ = {orth:e}"
    );
    assert!(
        (0..r.nrows()).all(|i| (0..i).all(|j| r[[i, j]] == 0.0)),
        "R is upper triangular"
    );
    if m >= n {
        let b = random(m, 3, 17);
        let bd = spread::<T>(ctx, &b, [part[0], 2], 1, 2);
        let x = dense(ctx, &f.solve_least_squares(ctx, &bd).unwrap());
        let want = lstsq_reference(a, &b);
        let err = fro(&(&x - &want)) / fro(&want);
        assert!(
            err < tol * 100.0,
            "least squares {m}×{n}: ‖x − x_ref‖/‖x_ref‖ = {err:e}"
        );
        // Qᵀ then Q gives B back.
        let back = f
            .apply(ctx, &f.apply(ctx, &bd, true).unwrap(), false)
            .unwrap();
        assert!(fro(&(&dense(ctx, &back) - &b)) / fro(&b) < tol);
    }
}

#[test]
fn linalg_qr_darray_on_two_workers_keeps_its_tiles_there_and_no_task_runs_in_the_driver() {
    let (ctx, seen) = cluster();
    // 130 × 90 in 40² tiles: a 4 × 3 block grid, ragged last block row and column.
    let a = random(130, 90, 5);
    let d = spread::<f64>(&ctx, &a, [40, 40], 1, 2);
    let placed = owners(&d);
    assert!(placed.iter().all(|w| *w != WorkerId(1)), "{placed:?}");
    assert!(
        placed.contains(&placed[0]) && placed.iter().any(|w| *w != placed[0]),
        "both workers"
    );
    let b = random(130, 2, 9);
    let bd = spread::<f64>(&ctx, &b, [40, 2], 1, 2);
    seen.0.lock().unwrap().clear();
    let f = qr_darray(&ctx, &d).unwrap();
    let q = f.q(&ctx).unwrap();
    let x = f.solve_least_squares(&ctx, &bd).unwrap();
    let ran_here = std::mem::take(&mut *seen.0.lock().unwrap());
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");
    for part in [f.factors(), f.r(), f.tau(), &q, &x] {
        assert!(
            owners(part).iter().all(|w| *w != WorkerId(1)),
            "{:?}",
            owners(part)
        );
    }
    assert_eq!(owners(f.factors()), placed);
    let (res, orth) = residuals(&a, &dense(&ctx, &q), &dense(&ctx, f.r()));
    assert!(res < 1e-12 && orth < 1e-12, "{res:e} {orth:e}");
    let want = lstsq_reference(&a, &b);
    assert!(fro(&(&dense(&ctx, &x) - &want)) / fro(&want) < 1e-10);
}

#[test]
fn linalg_qr_darray_shapes_on_two_workers_f64_and_f32() {
    let (ctx, _) = cluster();
    // Tall, wide, square, ragged or not; non-square block grids.
    for (m, n, b) in [
        (130, 90, 40),
        (70, 130, 32),
        (96, 96, 32),
        (121, 17, 16),
        (5, 3, 2),
    ] {
        let a = random(m, n, (m * n) as u64);
        check_qr::<f64>(&ctx, &a, [b, b], 1e-12);
        check_qr::<f32>(&ctx, &a, [b, b], 2e-5);
    }
}

#[test]
fn linalg_qr_darray_on_a_local_context_has_the_same_residuals() {
    let ctx = Context::local();
    for (m, n, b) in [(130, 90, 40), (70, 130, 32), (121, 17, 16)] {
        let a = random(m, n, (m + n) as u64);
        check_qr::<f64>(&ctx, &a, [b, b], 1e-12);
        check_qr::<f32>(&ctx, &a, [b, b], 2e-5);
    }
}

/// TSQR of the tall-skinny `a` in block rows of `rows` (spread over the workers by block
/// row): the residuals within `tol`, the leaves where `a`'s blocks were, a least-squares
/// solve against the dense reference.
fn check_tsqr<T: Scalar>(ctx: &Context, a: &Array2<f64>, rows: usize, tol: f64) {
    let (m, n) = a.dim();
    let d = spread::<T>(ctx, a, [rows, n], 2, 1);
    let placed = owners(&d);
    let f = tsqr_darray(ctx, &d).unwrap();
    if !ctx.other_workers().is_empty() {
        assert_eq!(
            owners(f.leaves()),
            placed,
            "every block row stayed on its worker"
        );
    }
    let (q, r) = (dense(ctx, &f.q(ctx).unwrap()), dense(ctx, f.r()));
    assert_eq!((q.dim(), r.dim()), ((m, m.min(n)), (m.min(n), n)));
    let (res, orth) = residuals(a, &q, &r);
    assert!(
        res < tol && orth < tol,
        "TSQR {m}×{n} by {rows}: {res:e} {orth:e}"
    );
    if m >= n {
        let b = random(m, 2, 23);
        let bd = spread::<T>(ctx, &b, [rows, 1], 2, 1);
        let x = dense(ctx, &f.solve_least_squares(ctx, &bd).unwrap());
        let want = lstsq_reference(a, &b);
        let err = fro(&(&x - &want)) / fro(&want);
        assert!(err < tol * 100.0, "TSQR least squares {m}×{n}: {err:e}");
        let back = f
            .apply(ctx, &f.apply(ctx, &bd, true).unwrap(), false)
            .unwrap();
        assert!(fro(&(&dense(ctx, &back) - &b)) / fro(&b) < tol);
    }
}

#[test]
fn linalg_tsqr_darray_on_two_workers_keeps_its_block_rows_there() {
    let (ctx, seen) = cluster();
    // 610 × 8 in block rows of 100 (a ragged last one of 10), alternating workers.
    let a = random(610, 8, 31);
    let d = spread::<f64>(&ctx, &a, [100, 8], 2, 1);
    let placed = owners(&d);
    assert!(
        placed.iter().all(|w| *w != WorkerId(1)) && placed[0] != placed[1],
        "{placed:?}"
    );
    let b = random(610, 2, 3);
    let bd = spread::<f64>(&ctx, &b, [100, 1], 2, 1);
    seen.0.lock().unwrap().clear();
    let f = tsqr_darray(&ctx, &d).unwrap();
    let q = f.q(&ctx).unwrap();
    let x = f.solve_least_squares(&ctx, &bd).unwrap();
    let ran_here = std::mem::take(&mut *seen.0.lock().unwrap());
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");
    assert_eq!(owners(f.leaves()), placed);
    assert_eq!(owners(&q), placed);
    assert!(owners(f.r())
        .iter()
        .chain(&owners(&x))
        .all(|w| *w != WorkerId(1)));
    let (res, orth) = residuals(&a, &dense(&ctx, &q), &dense(&ctx, f.r()));
    assert!(res < 1e-12 && orth < 1e-12, "{res:e} {orth:e}");
    let want = lstsq_reference(&a, &b);
    assert!(fro(&(&dense(&ctx, &x) - &want)) / fro(&want) < 1e-10);
    // Shapes: block rows shorter than the width (a stack of partial R's), f32, and one
    // block row; more than one block column is a typed error.
    for (m, n, rows) in [(40, 12, 5), (203, 6, 50), (30, 4, 30)] {
        let a = random(m, n, (m * n) as u64);
        check_tsqr::<f64>(&ctx, &a, rows, 1e-12);
        check_tsqr::<f32>(&ctx, &a, rows, 2e-5);
    }
    let wide = spread::<f64>(&ctx, &random(40, 8, 1), [10, 4], 2, 1);
    assert!(matches!(
        tsqr_darray(&ctx, &wide),
        Err(dagger::Error::Argument(_))
    ));
}

#[test]
fn linalg_tsqr_darray_on_a_local_context_has_the_same_residuals() {
    let ctx = Context::local();
    for (m, n, rows) in [(610, 8, 100), (40, 12, 5)] {
        let a = random(m, n, (m + n) as u64);
        check_tsqr::<f64>(&ctx, &a, rows, 1e-12);
        check_tsqr::<f32>(&ctx, &a, rows, 2e-5);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Issue #21: random shapes and block sizes (the block grid non-square when m ≠ n, the
    /// edges ragged when a block size does not divide the shape) on a local context: QR's
    /// residuals, ‖PA − LU‖/‖A‖ of a square matrix and ‖A − LLᵀ‖/‖A‖ of an SPD one, in f64.
    #[test]
    fn linalg_qr_lu_cholesky_residuals_over_random_shapes_and_blocks(
        m in 1usize..=60, n in 1usize..=60, br in 1usize..=25, bc in 1usize..=25,
    ) {
        let ctx = Context::local();
        let a = random(m, n, (m * 61 + n) as u64);
        // qr_darray takes square blocks only ("reblock first" otherwise), and a block larger
        // than the matrix is clamped to it (no longer square): at most min(m, n).
        let b = br.min(m).min(n);
        check_qr::<f64>(&ctx, &a, [b, b], 1e-12);
        // lu_darray likewise takes square blocks; its edge is ragged when `bl` does not divide m.
        let bl = bc.min(m);
        let sq = random(m, m, (m + br * bc) as u64);
        let d = DArray::from_array(sq.clone().into_dyn(), &Blocks::from([bl, bl])).unwrap();
        let f = lu_darray(&ctx, &d).unwrap();
        let (l, u) = l_and_u(&dense(&ctx, f.factors()));
        let pa = Array2::from_shape_fn((m, m), |(i, j)| sq[[f.perm()[i], j]]);
        let r = fro(&(&pa - &l.dot(&u))) / fro(&sq);
        prop_assert!(r < 1e-12, "{m}² in {bl}² blocks: ‖PA − LU‖/‖A‖ = {r:e}");
        let s = spd(m);
        let d = DArray::from_array(s.clone().into_dyn(), &Blocks::from([bl, bl])).unwrap();
        let l = dense(&ctx, cholesky_blocks(&ctx, &d, Uplo::Lower).unwrap().factor());
        let r = fro(&(&s - &l.dot(&l.t()))) / fro(&s);
        prop_assert!(r < 1e-12, "{m}² in {bl}² blocks: ‖A − LLᵀ‖/‖A‖ = {r:e}");
    }
}
