//! Tile kernels over faer, as plain functions on tiles (`fn(&mut Tile, &Tile, …)`), each on
//! one thread: BLAS-3 (`gemm`, `syrk`, `trsm`) and factorizations (`potrf`,
//! `getrf`, `getrf_nopiv`, `geqrf`, `apply_q`) with norms and row permutations.

mod blas;
mod factor;

pub use blas::{gemm, gemm_view, scale, scale_view, syrk, syrk_view, trsm, trsm_view};
pub use factor::{
    apply_q, geqrf, geqrf_block_size, getrf, getrf_nopiv, norm_fro, norm_max, permute_rows, potrf,
    potrf_view, zero_strict, HouseholderFactor,
};
