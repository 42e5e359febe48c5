//! Group G of the behaviours to reproduce (Dagger.jl's array tests), on `Context` with two
//! threads; the checks themselves are in `dagger_array::testing` (shared with the cluster
//! run of the facade's `tests/arrays_cluster.rs`).

use dagger_array::testing;
use dagger_sched::Context;

fn ctx() -> Context {
    Context::builder().threads(2).build()
}

#[test]
fn g48_construction_round_trip() {
    testing::g48_construction_round_trip(&ctx());
}

#[test]
fn g49_autoblocks() {
    testing::g49_autoblocks(&ctx());
}

#[test]
fn g51_map_and_broadcast() {
    testing::g51_map_and_broadcast(&ctx());
}

#[test]
fn g52_reductions() {
    testing::g52_reductions(&ctx());
}

#[test]
fn g53_indexing_dense_and_sparse() {
    testing::g53_indexing_dense_and_sparse(&ctx());
}

#[test]
fn g55_transpose_grid_and_values() {
    testing::g55_transpose_grid_and_values(&ctx());
}

#[test]
fn g56_products() {
    testing::g56_products(&ctx());
}

#[test]
fn g58_random_blocks_differ() {
    testing::g58_random_blocks_differ(&ctx());
}

#[test]
fn readme_sparse_example_and_summary() {
    testing::readme_sparse_example_and_summary(&ctx());
}

#[test]
fn ops_against_ndarray() {
    testing::ops_against_ndarray(&ctx(), 1, 3);
}

#[test]
fn shape_errors_are_typed() {
    testing::shape_errors_are_typed(&ctx());
}
