//! dagger-linalg's tests of its public API (moved here from the crate's src/tests: the crate
//! has no test binary of its own, `[lib] test = false`, which saves CI linking one more 86 MB
//! binary). Each module tests one module of dagger-linalg against a plain dense reference
//! (ndarray products); the cluster tests of linear algebra are `linalg_cluster`.

mod cholesky;
mod common;
mod kernels;
mod lu;
mod qr;
mod solve;
mod tiled;
mod triangular;
mod tsqr;
