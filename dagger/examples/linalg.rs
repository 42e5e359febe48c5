//! Dense linear algebra: factor a matrix held as a DArray, solve with the kept factor, and
//! check the residual. Each factorization is one datadeps region of faer tile kernels
//! (potrf/trsm/syrk/gemm for Cholesky), so independent tile updates run in parallel.
//!
//!     cargo run --release --example linalg

use dagger::array::{Blocks, DArray};
use dagger::linalg::{cholesky, inv, lu, qr, solve, Error, Method, TiledMatrix, Uplo};
use dagger::Context;
use std::time::Instant;

fn main() -> dagger::Result<()> {
    let ctx = Context::local();
    let (n, b) = (1500, 256); // ragged edge tiles: 1500 = 5·256 + 220

    // A symmetric positive definite matrix (diagonally dominant) as a blocked DArray.
    let a = ndarray::Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            n as f64
        } else {
            1.0 / (1.0 + i.abs_diff(j) as f64)
        }
    });
    let da = DArray::from_array(a.clone().into_dyn(), &Blocks::from([b, b]))?;
    let at = TiledMatrix::from_darray(&da, &ctx)?;

    // Cholesky, then two solves with the same factor.
    let t0 = Instant::now();
    let chol = cholesky(&ctx, &at, Uplo::Lower)?;
    println!("cholesky of {n}×{n} in {b}² tiles: {:?}", t0.elapsed());
    let rhs = TiledMatrix::from_fn(n, 2, [b, 2], |i, j| (i * (j + 1)) as f64 / n as f64)?;
    let x = chol.solve(&ctx, &rhs)?;
    let r = a.dot(&x.to_ndarray()) - rhs.to_ndarray();
    let res = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    println!("  ‖A·X − B‖∞ = {res:e}");
    assert!(res < 1e-10);
    let y = chol.solve_vec(&ctx, &vec![1.0; n])?;
    println!("  second solve (kept factor): x[0] = {:.6}", y[0]);

    // LU with partial pivoting on a general matrix, solve and inverse.
    let g = TiledMatrix::from_fn(n, n, [b, b], |i, j| {
        ((i * 7 + j * 13) % 17) as f64 - 8.0 + if i == j { 40.0 } else { 0.0 }
    })?;
    let t0 = Instant::now();
    let f = lu(&ctx, &g)?;
    println!("LU of {n}×{n}: {:?}", t0.elapsed());
    let x = f.solve(&ctx, &rhs)?;
    let r = g.to_ndarray().dot(&x.to_ndarray()) - rhs.to_ndarray();
    let res = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    println!("  ‖G·X − B‖∞ = {res:e}");
    assert!(res < 1e-10);
    let small = TiledMatrix::from_fn(5, 5, [2, 2], |i, j| if i == j { 2.0 } else { 0.5 })?;
    let si = inv(&ctx, &small)?;
    let id = small.to_ndarray().dot(&si.to_ndarray());
    println!("  inv: (A·A⁻¹)[0,0] = {:.12}", id[[0, 0]]);

    // QR of a tall matrix; least squares.
    let tall = TiledMatrix::from_fn(600, 40, [128, 128], |i, j| {
        ((i + 3 * j) % 11) as f64 + if i == j { 5.0 } else { 0.0 }
    })?;
    let q = qr(&ctx, &tall)?;
    let obs = TiledMatrix::from_fn(600, 1, [128, 1], |i, _| (i % 5) as f64)?;
    let coef = q.solve_least_squares(&ctx, &obs)?;
    println!(
        "QR least squares of 600×40: coef[0] = {:.6}",
        coef.to_ndarray()[[0, 0]]
    );

    // Solve through LU or Cholesky in one call, and a typed error.
    let x = solve(&ctx, &at, &rhs, Method::Cholesky)?;
    assert_eq!(x.shape(), [n, 2]);
    let mut bad = a.clone();
    bad[[700, 700]] = -1e6;
    let bad = TiledMatrix::from_ndarray(bad.view(), [b, b])?;
    match cholesky(&ctx, &bad, Uplo::Lower) {
        Err(e @ Error::NotPositiveDefinite { .. }) => println!("not SPD: {e}"),
        other => panic!("expected NotPositiveDefinite, got {:?}", other.map(|_| ())),
    }
    println!("ok");
    Ok(())
}
