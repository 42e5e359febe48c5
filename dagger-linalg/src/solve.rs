//! `solve(A, B)` (through LU with partial pivoting, or Cholesky when asked) and `inv(A)`.

use crate::cholesky::cholesky;
use crate::lu::lu;
use crate::scalar::Scalar;
use crate::tile::Uplo;
use crate::tiled::TiledMatrix;
use dagger_core::Result;
use dagger_sched::Context;

/// How [`solve`] factors `A`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Method {
    /// LU with partial pivoting (any non-singular `A`).
    #[default]
    Lu,
    /// Cholesky (`A` symmetric positive definite; about half the work).
    Cholesky,
}

/// Solves `A·X = B` for square `A`: factor, then two triangular solves.
/// [`Error::Singular`](dagger_core::Error::Singular) (LU) or
/// [`Error::NotPositiveDefinite`](dagger_core::Error::NotPositiveDefinite) (Cholesky) when
/// `A` has no such factorization; [`Error::DimensionMismatch`](dagger_core::Error) when the
/// shapes do not fit.
///
/// ```
/// use dagger_linalg::{solve, Method, TiledMatrix};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let a = TiledMatrix::<f64>::from_fn(4, 4, [3, 3], |i, j| if i == j { 4.0 } else { 1.0 }).unwrap();
/// let b = TiledMatrix::from_fn(4, 2, [3, 2], |i, j| (i + j) as f64).unwrap();
/// let x = solve(&ctx, &a, &b, Method::Lu).unwrap();
/// let r = a.to_ndarray().dot(&x.to_ndarray()) - b.to_ndarray();
/// assert!(r.iter().all(|v| v.abs() < 1e-12));
/// ```
pub fn solve<T: Scalar>(
    ctx: &Context,
    a: &TiledMatrix<T>,
    b: &TiledMatrix<T>,
    method: Method,
) -> Result<TiledMatrix<T>> {
    if a.nrows() != a.ncols() || b.nrows() != a.nrows() {
        return Err(crate::error::mismatch("solve (A, B)", a.shape(), b.shape()));
    }
    match method {
        Method::Lu => lu(ctx, a)?.solve(ctx, b),
        Method::Cholesky => cholesky(ctx, a, Uplo::Lower)?.solve(ctx, b),
    }
}

/// Solves `A·x = b` for a vector `b`.
pub fn solve_vec<T: Scalar>(
    ctx: &Context,
    a: &TiledMatrix<T>,
    b: &[T],
    method: Method,
) -> Result<Vec<T>> {
    let bt = TiledMatrix::from_vec(b, a.tile_shape()[0])?;
    Ok(solve(ctx, a, &bt, method)?.column_vec(0))
}

/// The inverse of a square non-singular `A` (LU with partial pivoting, then `A·X = I`).
pub fn inv<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>) -> Result<TiledMatrix<T>> {
    let id = TiledMatrix::identity(a.nrows(), a.tile_shape())?;
    solve(ctx, a, &id, Method::Lu)
}
