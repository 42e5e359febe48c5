//! One call for both places: the `TiledMatrix` calls (`lu`, `lu_nopiv`, `solve`, `inv`,
//! `cholesky`, `qr`, `tsqr`, `solve_triangular` and their factor objects' solves) on a
//! context with 2 worker processes compute their tiles on the workers (the `*_darray`
//! algorithms), with the residuals of a local run, and no tile task runs in the driver.

use dagger::linalg::{
    cholesky, inv, lu, lu_nopiv, qr, solve, solve_triangular, tsqr, Diag, Method, TiledMatrix,
    Trans, Uplo,
};
use dagger::Context;
use ndarray::Array2;

use crate::linalg_cluster::{cluster, fro, random, InDriver};

fn tiled(a: &Array2<f64>, tile: [usize; 2]) -> TiledMatrix<f64> {
    TiledMatrix::from_ndarray(a.view(), tile).unwrap()
}

/// The tasks the driver ran other than cutting a tiled matrix into the blocks that go to
/// the workers (`distribute`): no tile kernel, no closure of a local region.
fn tile_tasks_here(seen: &InDriver) -> Vec<String> {
    let names = std::mem::take(&mut *seen.0.lock().unwrap());
    names.into_iter().filter(|n| n != "distribute").collect()
}

fn check_calls(ctx: &Context, seen: Option<&InDriver>) {
    let clear = || {
        if let Some(s) = seen {
            s.0.lock().unwrap().clear();
        }
    };
    let none_here = |what: &str| {
        if let Some(s) = seen {
            let here = tile_tasks_here(s);
            assert!(
                here.is_empty(),
                "{what}: tile tasks ran in the driver: {here:?}"
            );
        }
    };
    let n = 100;
    let a = random(n, n, 41) + Array2::<f64>::eye(n) * 4.0;
    let s = a.dot(&a.t()) / n as f64 + Array2::<f64>::eye(n);
    let b = random(n, 3, 42);
    let (at, st, bt) = (tiled(&a, [32, 32]), tiled(&s, [32, 32]), tiled(&b, [32, 2]));
    let rel = |x: &TiledMatrix<f64>, m: &Array2<f64>| {
        let x = x.to_ndarray();
        fro(&(m.dot(&x) - &b)) / (fro(m) * fro(&x))
    };

    clear();
    let f = lu(ctx, &at).unwrap();
    let x = f.solve(ctx, &bt).unwrap();
    none_here("lu + solve");
    assert!(rel(&x, &a) < 1e-12);
    let x = lu_nopiv(ctx, &at).unwrap().solve(ctx, &bt).unwrap();
    none_here("lu_nopiv + solve");
    assert!(rel(&x, &a) < 1e-12);
    let x = solve(ctx, &at, &bt, Method::Lu).unwrap();
    none_here("solve (LU)");
    assert!(rel(&x, &a) < 1e-12);
    let x = solve(ctx, &st, &bt, Method::Cholesky).unwrap();
    none_here("solve (Cholesky)");
    assert!(rel(&x, &s) < 1e-12);
    let c = cholesky(ctx, &st, Uplo::Upper).unwrap();
    let x = c.solve(ctx, &bt).unwrap();
    none_here("cholesky + solve");
    assert!(rel(&x, &s) < 1e-12);
    let ai = inv(ctx, &at).unwrap().to_ndarray();
    none_here("inv");
    assert!(fro(&(a.dot(&ai) - Array2::<f64>::eye(n))) < 1e-10);

    // Triangular solves on the packed LU factors.
    let packed = f.factors().clone();
    let pd = packed.to_ndarray();
    let l = Array2::from_shape_fn((n, n), |(i, j)| {
        let p = pd[[i, j]];
        if i == j {
            1.0
        } else if i > j {
            p
        } else {
            0.0
        }
    });
    let x = solve_triangular(ctx, &packed, Uplo::Lower, Trans::Yes, Diag::Unit, &bt).unwrap();
    none_here("solve_triangular");
    assert!(fro(&(l.t().dot(&x.to_ndarray()) - &b)) / fro(&b) < 1e-12);

    // QR (tall, ragged) and TSQR: Q·R = A and least squares.
    let t = random(130, 50, 43);
    let tt = tiled(&t, [40, 40]);
    let bq = tiled(&random(130, 2, 44), [40, 2]);
    let fq = qr(ctx, &tt).unwrap();
    let (q, r) = (
        fq.q(ctx).unwrap().to_ndarray(),
        fq.r().unwrap().to_ndarray(),
    );
    let xq = fq.solve_least_squares(ctx, &bq).unwrap().to_ndarray();
    none_here("qr");
    assert!(fro(&(&t - &q.dot(&r))) / fro(&t) < 1e-12);
    let tall = random(400, 6, 45);
    let ft = tsqr(ctx, &tiled(&tall, [100, 6])).unwrap();
    let bs = tiled(&random(400, 2, 46), [100, 2]);
    let (q, r) = (
        ft.q(ctx).unwrap().to_ndarray(),
        ft.r().unwrap().to_ndarray(),
    );
    let xs = ft.solve_least_squares(ctx, &bs).unwrap().to_ndarray();
    none_here("tsqr");
    assert!(fro(&(&tall - &q.dot(&r))) / fro(&tall) < 1e-12);
    // The least-squares residuals are orthogonal to the columns (the normal equations).
    for (m, x, rhs) in [(&t, &xq, &bq), (&tall, &xs, &bs)] {
        let res = m.dot(x) - rhs.to_ndarray();
        let ne = fro(&m.t().dot(&res)) / (fro(m) * fro(m) * fro(x));
        assert!(ne < 1e-12, "‖Aᵀ(Ax − b)‖/(‖A‖²‖x‖) = {ne:e}");
    }
}

#[test]
fn linalg_tiled_calls_on_two_workers_run_their_tile_tasks_there() {
    let (ctx, seen) = cluster();
    check_calls(&ctx, Some(&seen));
}

#[test]
fn linalg_tiled_calls_on_a_local_context_give_the_same_residuals() {
    check_calls(&Context::builder().threads(2).build(), None);
}
