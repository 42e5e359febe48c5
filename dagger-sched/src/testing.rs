//! The graphs of the core's overhead benchmarks, built in one place so that the quick loop
//! (`examples/lazy_cost.rs`) and `cargo xtask bench tasks` time the same thing. Not part of
//! the API.

use crate::context::state::Context;
use crate::handle::DTask;
use crate::lazy::{delayed, Thunk};

/// The eager tree (as `tree_reduce`): `leaves` tasks of one, pairwise sums (a power of two
/// leaves: `2 * leaves - 1` tasks). Returns the root.
pub fn eager_tree(ctx: &Context, leaves: usize) -> DTask<u64> {
    let mut level: Vec<DTask<u64>> = (0..leaves).map(|_| ctx.spawn(|()| 1u64, ())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn(|(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    level.swap_remove(0)
}

/// Pairwise sums of `level` up to one root thunk.
fn sum_up(mut level: Vec<Thunk<u64>>) -> Thunk<u64> {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| delayed(|(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    level.swap_remove(0)
}

/// The lazy tree: `leaves` thunks of one, pairwise sums; the root, not yet computed.
pub fn lazy_tree(leaves: usize) -> Thunk<u64> {
    sum_up((0..leaves).map(|_| delayed(|()| 1u64, ())).collect())
}

/// The lazy tree over leaves `i` that fail when `fail(i)`: by returning `Err` (a fallible
/// thunk, as Rust code fails) or, with `panics`, by panicking. Failures propagate to the
/// root, and every node is still reached once.
pub fn failing_lazy_tree(leaves: usize, fail: fn(u64) -> bool, panics: bool) -> Thunk<u64> {
    let leaf = |i: u64| {
        if panics {
            delayed(
                move |(i,)| {
                    if fail(i) {
                        panic!("leaf {i} fails");
                    }
                    1u64
                },
                (i,),
            )
        } else {
            Thunk::try_delayed(
                move |(i,)| if fail(i) { Err("leaf fails") } else { Ok(1u64) },
                (i,),
            )
        }
    };
    sum_up((0..leaves as u64).map(leaf).collect())
}
