//! The array behaviours of group G (Dagger.jl's array tests) as functions of a context, so
//! the same checks run on threads (`tests/main/behaviours.rs`) and on a cluster of worker
//! processes (the facade's `tests/arrays_cluster.rs`). Test support: these functions assert
//! (panic) on a wrong result. Indices are 0-based.

//!
//! The checks are grouped by what they cover; every one is re-exported here.

mod against_ndarray;
mod group_g;
mod structure;
mod update;

pub use against_ndarray::{ops_against_ndarray, shape_errors_are_typed};
pub use group_g::{
    g48_construction_round_trip, g49_autoblocks, g51_map_and_broadcast, g52_reductions,
    g53_indexing_dense_and_sparse, g55_transpose_grid_and_values, g56_products,
    g58_random_blocks_differ, readme_sparse_example_and_summary,
};
pub use structure::{
    comparisons_and_bit_ops, g48_redistribute_a_darray, g51_in_place_updates,
    g52_extrema_var_std_mapreduce, g53_setindex_and_region_assignment, g54_copyto,
    g55_cat_and_permutedims,
};
pub use update::{datadeps_in_place_updates, datadeps_mul_into};
