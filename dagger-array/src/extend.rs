//! The extension surface: what a crate needs to write its own block tasks and kernels.
//!
//! A [`DArray`](crate::DArray)'s blocks are [`Node`]s of [`BlockValue`]s (a block in a
//! shared, memory-accounted [`Held`] cell, or the error that made it). A block task of your
//! own is a function on [`Block`]s: register it with `dagger::register!` so it runs on
//! worker processes where its input blocks live (blocks travel as raw little-endian
//! bytes), or use [`element_fn!`](crate::element_fn) for an element function. The
//! block functions below are the ones this crate's kernels are made of; they are plain
//! functions on ndarray and sprs values, so they compose with your own.
//!
//! Everything else in the crate is internal: its modules are hidden from the docs and may
//! change.
//!
//! ```
//! use dagger_array::extend::{arith_block, arith_scalar_block, ones_block, Block};
//! use dagger_array::{ArithOp, Side};
//! let one: Block<f64> = Block::Dense(ones_block(&[2, 3]));
//! let two = arith_block(&one, &one, ArithOp::Add)?;
//! let three = arith_scalar_block(&two, 1.0, ArithOp::Add, Side::Right)?;
//! assert_eq!(three.to_dense().sum(), 18.0);
//! # Ok::<(), dagger_core::Error>(())
//! ```

// Blocks and their storage.
pub use crate::block::{Block, DenseBlock, Kind};
pub use crate::mem::{live_bytes, peak_bytes, reset_peak, BlockValue, Held};

// The lazy graph and the grid of blocks.
pub use crate::graph::Node;
pub use crate::grid::BlockGrid;

// Number types.
pub use crate::element::{Element, IntElement};
pub use crate::linalg::LinalgElement;
pub use crate::scalar::Scalar;

// Block functions: creation, element-wise maps and arithmetic, products.
pub use crate::binary::{arith_block, arith_scalar_block};
pub use crate::create::{
    block_rng, ones_block, rand_block, randn_block, sprand_block, zeros_block,
};
pub use crate::linalg::{
    matmul_block, matmul_dense, spgemm, spmv, transpose_block, transpose_dense,
};
pub use crate::unary::{map_block, unary_block};

// Kernels as values, and the interpreter that runs them on blocks.
pub use crate::kernel::{run as run_kernel, Fused, Kernel, KernelSet, Op, Program};

// Bounds a block from another process is checked against.
pub use crate::limits::{
    check_shape, max_block_bytes, set_max_block_bytes, MAX_DIMS, MAX_ELEMENTS,
};
