//! Shared test helpers: seeded random matrices, dense references and residuals.

#![allow(dead_code)]

use dagger_linalg::{Scalar, Tile, TiledMatrix};
use dagger_sched::Context;
use ndarray::Array2;
use std::sync::OnceLock;

/// One two-thread context for every test.
pub(crate) fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::builder().threads(2).build())
}

/// Uniform values in [-1, 1) from a seed (xorshift).
pub(crate) fn rand(m: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_fn((m, n), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

/// A random symmetric positive definite matrix: `M·Mᵀ + n·I`.
pub(crate) fn spd(n: usize, seed: u64) -> Array2<f64> {
    let m = rand(n, n, seed);
    m.dot(&m.t()) + Array2::<f64>::eye(n) * n as f64
}

/// `a` in type `T`.
pub(crate) fn cast<T: Scalar>(a: &Array2<f64>) -> Array2<T> {
    a.mapv(T::of)
}

/// `a` in type `T`, tiled.
pub(crate) fn tiled<T: Scalar>(a: &Array2<f64>, tile: [usize; 2]) -> TiledMatrix<T> {
    TiledMatrix::from_ndarray(cast::<T>(a).view(), tile).unwrap()
}

/// A tiled matrix back in f64.
pub(crate) fn dense<T: Scalar>(a: &TiledMatrix<T>) -> Array2<f64> {
    a.to_ndarray().mapv(|x| x.as_f64())
}

/// A tile in f64 as ndarray.
pub(crate) fn tile_nd<T: Scalar>(t: &Tile<T>) -> Array2<f64> {
    Array2::from_shape_fn((t.nrows(), t.ncols()), |(i, j)| t[(i, j)].as_f64())
}

/// An ndarray as a tile.
pub(crate) fn nd_tile<T: Scalar>(a: &Array2<f64>) -> Tile<T> {
    Tile::from_fn(a.nrows(), a.ncols(), |i, j| T::of(a[[i, j]]))
}

/// The Frobenius norm.
pub(crate) fn fro(a: &Array2<f64>) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// `‖a − b‖ / ‖a‖` (`‖a − b‖` when `a` is zero).
pub(crate) fn rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    let d = fro(&(a - b));
    let n = fro(a);
    if n == 0.0 {
        d
    } else {
        d / n
    }
}

/// The rows of `a` in the order `perm`.
pub(crate) fn permuted(a: &Array2<f64>, perm: &[usize]) -> Array2<f64> {
    Array2::from_shape_fn(a.dim(), |(i, j)| a[[perm[i], j]])
}

/// The bound on a relative residual for type `T` (f64: 1e-12).
pub(crate) fn tol<T: Scalar>() -> f64 {
    if T::EPSILON > 1e-10 {
        1e-4
    } else {
        1e-12
    }
}
