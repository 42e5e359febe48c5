//! # dagger-array
//!
//! Blocked dense and sparse arrays for dagger-rs, after Dagger.jl's `DArray`: an array is
//! cut into blocks by a [`Partitioning`](dagger_core::Partitioning) ([`Blocks`],
//! [`AutoBlocks`]) into a [`BlockGrid`]; every operation is a plain function on blocks
//! (this crate's kernels), which the scheduler runs one task per block.
//!
//! Operations on a [`DArray`] are lazy: they build a graph of [`Node`]s. `compute`/`collect`
//! lower the whole graph in one go (each node once, no `cache`, so an intermediate block is
//! freed as soon as its consumers ran) after an optimization pass that fuses chains of
//! element-wise operations — and a reduction over them, transposes and views read by them —
//! into one task per block ([`fuse`]); `compute_with(&ctx, &ArrayOptions { fuse: false })`
//! runs the graph as written.
//!
//! Every named operation's block task is a *registered function* ([`remote`]): the
//! operation travels as a [`kernel::Kernel`] value and blocks travel as raw little-endian
//! bytes ([`wire`]), so on a cluster (`Context::builder().workers(n)`) blocks are made,
//! combined, reduced, fused and sorted on the worker processes where their inputs live. On
//! `Context::local()` the same tasks run in place with nothing encoded. Only what takes a
//! user closure (`map`, `reduce`, `mapreduce`, `reduceblock`, `reducebykey`, `sort_by`,
//! [`sort::DVec`]), data that starts in the driver (`distribute`, `from_array`, `assign`),
//! the final assembly of `collect`/`index` results and the metadata files of `save`/`load`
//! are handled in the driver process; each block of `save`/`load` is written or read by a
//! registered kernel on a worker. A context restricted to the workers
//! (`ctx.with_workers(..)`) keeps every block task off the driver, whose memory has no pool.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`assign`] | block placement on processors ([`assign::Assignment`]) |
//! | [`partition`] | [`Blocks`] and [`AutoBlocks`] |
//! | [`grid`] | [`BlockGrid`]: shape, block ranges, index ↔ block |
//! | [`element`] | [`Element`] number types and their arithmetic, [`IntElement`] bit ops |
//! | [`block`] | [`Block`]: a dense (ndarray) or sparse (sprs) block |
//! | [`create`] | `rand`, `randn`, `ones`, `zeros`, `sprand` per block, seeded per block |
//! | [`graph`] | the lazy block graph ([`Node`]) and its lowering to tasks ([`ArrayOptions`]) |
//! | [`darray`] | [`DArray`]: the lazy blocked array on the dagger-sched scheduler |
//! | [`dreduce`] | whole-array and per-dimension reductions of a `DArray` |
//! | [`fuse`] | fusion of element-wise chains (and reductions over them) into one task per block |
//! | [`mem`] | live/peak bytes of blocks |
//! | [`dist`] | `distribute` a whole array into blocks, `assemble` blocks into one |
//! | [`unary`] | element-wise functions ([`UnaryOp`]) and `map` |
//! | [`binary`] | element-wise arithmetic, comparisons and bit operations |
//! | [`reduce`] | `sum`, `prod`, `min`, `max`, `mean`, `reduce`, `reduceblock`, `reducebykey` |
//! | [`sort`] | distributed sample sort ([`sort::DVec`], `DArray::sort`) |
//! | [`sort_registered`] | the sample sort with registered stages, for `Ord + serde` types ([`sortable!`]) |
//! | [`structure`] | lazy views, cat/hcat/vcat, permutedims, setindex, region assignment, copyto, in-place updates, comparisons, bit ops |
//! | [`index`] | planning `X[ranges, lists, :, scalars]` into per-block pieces and assembling them |
//! | [`names`] | short task names from kernels (`exp`, `matmul`, `fused(^2 +1 sum)`) for profiles and the dashboard |
//! | [`meta`] | [`ArrayMeta`](meta::ArrayMeta) and its summary line |
//! | [`io`] | the `save`/`load` file format (metadata + checksummed block payloads) |
//! | [`bench`](mod@bench) | single-threaded ndarray/sprs baselines for `cargo xtask bench arrays` |
//! | [`linalg`] | transposes, dense and sparse block products and their accumulation |
//! | [`kernel`] | [`kernel::Kernel`]: every named block operation as a serializable value, and running one |
//! | [`limits`] | bounds on shapes and part counts a kernel (maybe decoded from another process) may ask for |
//! | [`remote`] | the registered kernel entry points per element type (block tasks on worker processes) |
//! | [`wire`] | serde for blocks: raw little-endian element bytes, validated decoding |
//!
//! ```
//! use dagger_array::{dist, reduce, BlockGrid, Blocks, Block, create};
//! let g = BlockGrid::new(&[10, 10], &Blocks::new([4, 4]).unwrap(), 1).unwrap();
//! let blocks: Vec<Block<f64>> = (0..g.num_blocks())
//!     .map(|i| Block::Dense(create::ones_block(&g.block_shape(&g.block_coords(i)))))
//!     .collect();
//! let parts: Vec<_> = blocks.iter().map(|b| reduce::reduce_op_block(b, reduce::ReduceOp::Sum)).collect();
//! assert_eq!(reduce::finish(&parts, reduce::ReduceOp::Sum).unwrap(), 100.0);
//! assert_eq!(dist::assemble(&g, &blocks).unwrap().shape(), vec![10, 10]);
//! ```
#![warn(missing_docs)]
// Block ranges are lists of ranges per dimension; a dimension in one block is, by design, a
// list holding one range.
#![allow(clippy::single_range_in_vec_init)]

// With the `blas` feature, link the BLAS implementation ndarray's products call into.
#[cfg(feature = "blas")]
extern crate blas_src;

pub mod assign;
pub mod bench;
pub mod binary;
pub mod block;
pub mod create;
pub mod darray;
pub mod dist;
pub mod dreduce;
pub mod element;
pub mod fuse;
pub mod graph;
pub mod grid;
pub mod index;
pub mod io;
pub mod kernel;
pub mod limits;
pub mod linalg;
pub mod mem;
pub mod meta;
pub mod names;
pub mod partition;
pub mod reduce;
pub mod remote;
pub mod sort;
pub mod sort_registered;
pub mod structure;
#[doc(hidden)]
pub mod testing;
pub mod unary;
pub mod wire;

/// Items the [`sortable!`] macro expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use dagger_sched;
    pub use paste::paste;
}

pub use block::{Block, DenseBlock, Kind};
pub use darray::{BlockValue, DArray, Lazy};
pub use element::{ArithOp, BitOp, Element, IntElement};
pub use graph::{ArrayOptions, Node};
pub use grid::BlockGrid;
pub use partition::{AutoBlocks, Blocks};
pub use unary::UnaryOp;
