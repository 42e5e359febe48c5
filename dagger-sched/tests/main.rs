//! dagger-sched's integration tests in one binary (one link instead of one per file): each
//! former test file is a module under `tests/main/`.
//!
//! A crate root looks for `mod x;` beside itself (`tests/x.rs`, which cargo would build as a
//! binary of its own), hence the `#[path]`s.

#[path = "main/behaviours_a.rs"]
mod behaviours_a;

#[path = "main/checkpoint.rs"]
mod checkpoint;

#[path = "main/datadeps.rs"]
mod datadeps;

#[path = "main/datadeps_program.rs"]
mod datadeps_program;

#[path = "main/observe.rs"]
mod observe;

#[path = "main/random_dags.rs"]
mod random_dags;

#[path = "main/release_and_placement.rs"]
mod release_and_placement;
