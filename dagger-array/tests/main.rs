//! The integration tests of dagger-array, one module per former test binary, so they link
//! once. `release.rs` stays its own binary: it asserts on the process-wide live-bytes
//! counter, which the tests here would move while it runs.

#[path = "main/behaviours.rs"]
mod behaviours;
#[path = "main/cyclic.rs"]
mod cyclic;
#[path = "main/datadeps_blocks.rs"]
mod datadeps_blocks;
#[path = "main/datadeps_updates.rs"]
mod datadeps_updates;
#[path = "main/fft.rs"]
mod fft;
#[path = "main/fusion_sort.rs"]
mod fusion_sort;
#[path = "main/operators.rs"]
mod operators;
#[path = "main/permute.rs"]
mod permute;
#[path = "main/stencil.rs"]
mod stencil;
#[path = "main/stencil_kernel.rs"]
mod stencil_kernel;
#[path = "main/store_io.rs"]
mod store_io;
#[path = "main/structure.rs"]
mod structure;
