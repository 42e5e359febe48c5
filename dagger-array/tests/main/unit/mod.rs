//! The crate's former unit tests, one module per source file they tested (`kernel_interpret`
//! is `src/kernel/interpret.rs`). They run here, in the one integration-test binary, so that
//! dagger-array is not compiled a second time in test mode for a binary of its own
//! (`[lib] test = false` in Cargo.toml). The crate-private items they check are reached
//! through `dagger_array::__private`.

mod bench;
mod binary;
mod create;
mod darray;
mod darray_linalg;
mod dist;
mod element;
mod grid;
mod index;
mod io_files;
mod io_payload;
mod kernel_interpret;
mod limits;
mod linalg;
mod mem;
mod meta;
mod names;
mod partition;
mod reduce;
mod scalar;
mod show;
mod unary;
mod wire;
