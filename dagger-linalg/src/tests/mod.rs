//! dagger-linalg's tests of its public API, in the library's test binary (so the crate links
//! one test binary, not two): each module tests one module of the crate against a plain
//! dense reference (ndarray products).

mod cholesky;
mod common;
mod kernels;
mod lu;
mod qr;
mod solve;
mod tiled;
mod triangular;
mod tsqr;
