//! Dense linear algebra for dagger-rs: faer block kernels on tiles, and tiled Cholesky, LU,
//! QR (and TSQR for tall-skinny matrices), triangular solves, `solve` and `inv`, each one
//! datadeps region of tile-kernel tasks so that independent tile updates overlap.
//!
//! A [`TiledMatrix`] holds its tiles as [`Data`](dagger_sched::Data) values in this process.
//! On a context with worker processes the same calls run on the workers: [`cholesky()`],
//! [`lu()`], [`lu_nopiv`], [`qr()`], [`tsqr()`], [`solve_triangular`], [`solve()`] and
//! [`inv`] move the tiles there and call their `*_darray` counterparts
//! ([`cholesky_blocks`], [`lu_darray`], [`qr_darray`], [`tsqr_darray`], …: a DArray's tiles
//! computed and kept where they live). The factor objects keep those DArrays, so their
//! solves run on the workers too, and hold a copy of the factors here.
//! The algorithms that need square tiles re-block a copy for themselves (tiles of the larger
//! edge). Failures are typed: [`Error::NotPositiveDefinite`] and [`Error::Singular`] name the
//! tile and the pivot, shape problems are [`Error::DimensionMismatch`].
//!
//! ```
//! use dagger_linalg::{cholesky, TiledMatrix, Uplo};
//! let ctx = dagger_sched::Context::builder().threads(2).build();
//! // A 5×5 symmetric positive definite matrix in 2×2 tiles (ragged edge).
//! let a = TiledMatrix::<f64>::from_fn(5, 5, [2, 2], |i, j| if i == j { 6.0 } else { 1.0 }).unwrap();
//! let f = cholesky(&ctx, &a, Uplo::Lower).unwrap();
//! let b = TiledMatrix::from_fn(5, 1, [2, 1], |i, _| (i + 1) as f64).unwrap();
//! let x = f.solve(&ctx, &b).unwrap().to_ndarray();
//! let ad = a.to_ndarray();
//! let r = ad.dot(&x) - b.to_ndarray();
//! assert!(r.iter().all(|v| v.abs() < 1e-12));
//! ```

// Modules, bottom to top (each uses only those above it).

// The element types (f32, f64) over faer's real fields.
pub mod scalar;

// Tiles and the flags of kernel calls.
pub mod tile;

// Typed failures naming tile and pivot.
mod error;

// Tile kernels over faer (plain functions on tiles).
pub mod kernels;

// The tile kernels as registered functions on DArray blocks.
pub mod tile_tasks;

// The LU tile kernels (pivoting across tiles) as registered functions.
pub mod tile_tasks_lu;

// The QR tile kernels as registered functions; the Scalar impls (all kernel sets).
pub mod tile_tasks_qr;

// The tiled matrix and its conversions.
pub mod tiled;

// One datadeps region per algorithm; multi-tile task arguments.
mod region;

// Tiled algorithms on a DArray's own blocks, where they live (Cholesky).
pub mod blocks;

// LU and triangular solves on a DArray's own blocks, where they live.
pub mod blocks_lu;

// Householder QR on a DArray's own blocks, where they live.
pub mod blocks_qr;

// TSQR on a DArray's own block rows, where they live.
pub mod blocks_tsqr;

// Tiled triangular solves.
pub mod triangular;

// Tiled Cholesky and its factor object.
pub mod cholesky;

// Tiled LU (partial pivoting, or none) and its factor object.
pub mod lu;

// Tiled Householder QR and its factor object.
pub mod qr;

// TSQR: QR of tall-skinny matrices by row blocks, in parallel.
pub mod tsqr;

// `solve` and `inv`.
pub mod solve;

pub use blocks::cholesky_darray;
pub use blocks_lu::{
    cholesky_blocks, lu_darray, lu_nopiv_darray, solve_darray, solve_triangular_darray,
    CholeskyBlocks, LuBlocks,
};
pub use blocks_qr::{qr_darray, QrBlocks};
pub use blocks_tsqr::{tsqr_darray, TsqrBlocks};
pub use cholesky::{cholesky, Cholesky};
pub use dagger_core::{Error, Result};
pub use lu::{lu, lu_nopiv, Lu};
pub use qr::{qr, Qr};
pub use scalar::{Scalar, TileKernels};
pub use solve::{inv, solve, solve_vec, Method};
pub use tile::{Diag, Side, Tile, Trans, Uplo};
pub use tile_tasks_lu::LuScalar;
pub use tiled::TiledMatrix;
pub use triangular::solve_triangular;
pub use tsqr::{tsqr, Tsqr};

// The tests of the public API are in the facade's test binary (dagger/tests/main/linalg_api):
// they use only `dagger_linalg::…`, and one binary fewer is less to link.
