//! dagger-linalg's integration tests in one binary: each module under `tests/main/` tests
//! one module of the crate against a plain dense reference (ndarray products).

#[path = "main/common.rs"]
mod common;

#[path = "main/kernels.rs"]
mod kernels;

#[path = "main/tiled.rs"]
mod tiled;

#[path = "main/triangular.rs"]
mod triangular;

#[path = "main/cholesky.rs"]
mod cholesky;

#[path = "main/lu.rs"]
mod lu;

#[path = "main/qr.rs"]
mod qr;

#[path = "main/solve.rs"]
mod solve;
