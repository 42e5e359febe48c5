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
//! The modules form a stack: each imports only from the ones listed above it.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`partition`] | [`Blocks`] and [`AutoBlocks`] |
//! | [`grid`] | [`BlockGrid`]: shape, block ranges, index ↔ block |
//! | [`ops`] | the operator vocabulary: [`ArithOp`], [`BitOp`], [`CmpOp`](ops::CmpOp), [`Side`] |
//! | [`unary_op`] | [`UnaryOp`]: the named element-wise functions (float math) |
//! | [`scalar`] | [`Scalar`]: the number types, their arithmetic and byte encoding |
//! | [`block`] | [`Block`]: a dense (ndarray) or sparse (sprs) block |
//! | [`mem`] | block storage: [`BlockValue`], [`Held`](mem::Held) and live/peak bytes |
//! | [`limits`] | bounds on shapes and part counts a kernel (maybe decoded from another process) may ask for |
//! | [`create`] | `rand`, `randn`, `ones`, `zeros`, `sprand` per block, seeded per block |
//! | [`wire`] | serde for blocks: raw little-endian element bytes, validated decoding |
//! | [`unary`] | element-wise functions on blocks and `map` |
//! | [`dist`] | `distribute` a whole array into blocks, `assemble` blocks into one |
//! | [`reduce`] | `sum`, `prod`, `min`, `max`, `mean`, `reduce`, `reduceblock`, `reducebykey` on blocks |
//! | [`index`] | planning `X[ranges, lists, :, scalars]` into per-block pieces and assembling them |
//! | [`halo`] | [`Boundary`](halo::Boundary), halo plans and arrays of blocks, stencil [`Taps`](halo::Taps) applied to them |
//! | [`fft_kernel`] | FFTs of blocks of interleaved complex pairs (rustfft, realfft) |
//! | [`meta`] | [`ArrayMeta`](meta::ArrayMeta) and its summary line |
//! | [`io`] | the `save`/`load` file format (metadata + checksummed block payloads) |
//! | [`sort_kernel`] | the numeric sample sort's stages on blocks |
//! | [`kernel::program`] | the fused program ([`kernel::Program`]) and running it over tiles |
//! | [`kernel::named`] | the kernel vocabulary: [`kernel::Kernel`], every named block operation as a value |
//! | [`names`] | short task names from kernels (`exp`, `matmul`, `fused(^2 +1 sum)`) for profiles and the dashboard |
//! | [`kernel::set`] | [`KernelSet`](kernel::KernelSet): the types of one element type's registered entry points |
//! | [`element`] | [`Element`]: a [`Scalar`] with its kernels' hooks; [`IntElement`] bit ops |
//! | [`binary`] | element-wise arithmetic, comparisons and bit operations on blocks |
//! | [`linalg`] | transposes, dense and sparse block products and their accumulation |
//! | [`kernel::interpret`] | the kernel interpreter: running a [`kernel::Kernel`] on its input blocks |
//! | [`kernel`] | gathers the kernel parts under one path |
//! | [`remote`] | the registered kernel entry points per element type (block tasks on worker processes) |
//! | [`graph`] | the lazy block graph ([`Node`]) and its lowering to tasks ([`ArrayOptions`]) |
//! | [`fuse`] | fusion of element-wise chains (and reductions over them) into one task per block |
//! | [`darray`] | [`DArray`]: the lazy blocked array on the dagger-sched scheduler, and [`Lazy`] values |
//! | [`dreduce`] | whole-array and per-dimension reductions of a `DArray` |
//! | [`structure`] | lazy views, cat/hcat/vcat, permutedims, setindex, region assignment, copyto, comparisons, bit ops |
//! | [`update`] | in-place updates as new block versions: `fill!`, `rand!`, `randn!`, `map!`, `A .op= B`, `A .= expr`, `mul!` |
//! | [`operators`] | `&a + &b`, `a * 2.0`, `2.0 - &a`, `-&a`, `a += &b`; `powi`, `powf`, `t()`, `dot` |
//! | [`slicing`] | `a.slice(s![..])`, `a.select(Axis(0), &[..])`, `from_ndarray`, `collect_ndarray::<D>` |
//! | [`axis`] | ndarray's `sum_axis`, `mean_axis` (the axis dropped) |
//! | [`tracked`] | a DArray's blocks as datadeps objects: `update_blocks`, `tracked_blocks`, `InOut(&b[[i, j]])` |
//! | [`element_fn`](mod@element_fn) | [`element_fn!`]: a user's `fn(T) -> T` registered for the workers, and `map_registered` |
//! | [`sort`] | distributed sample sort ([`sort::DVec`], `DArray::sort`) |
//! | [`sort_registered`] | the sample sort with registered stages, for `Ord + serde` types ([`sortable!`]) |
//! | [`assign`] | block placement on processors ([`assign::Assignment`]) |
//! | [`permute`] | `permutedims` of N-D arrays into a new blocking |
//! | [`fft`] | 1-D and 2-D FFTs of a `DArray` (complex as pairs, real-to-complex), forward and inverse |
//! | [`cyclic`] | block-cyclic layouts over a 2-D grid of worker processes ([`ProcessGrid`](cyclic::ProcessGrid)) |
//! | [`stencil`] | stencils over halos on a `DArray` (`stencil`, `stencil_map`, `stencil_steps`, `run_statements`) |
//! | [`bench`](mod@bench) | single-threaded ndarray/sprs baselines for `cargo xtask bench arrays` |
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
// Block ranges are lists of ranges per dimension; a dimension in one block is, by design, a
// list holding one range.
#![allow(clippy::single_range_in_vec_init)]

// With the `blas` feature, link the BLAS implementation ndarray's products call into.
#[cfg(feature = "blas")]
extern crate blas_src;

// Listed bottom to top: a module imports only from modules listed above it (the parts of
// `io` and `kernel` sit at the places the table above gives). One module per paragraph,
// so that rustfmt keeps this order.

// ---- Vocabulary: partitions, grids, operators and the number types. ----

// Blocks, AutoBlocks.
pub mod partition;

// BlockGrid.
pub mod grid;

// ArithOp, BitOp, CmpOp, Side.
pub mod ops;

// UnaryOp and its float math.
pub mod unary_op;

// Scalar: numbers, arithmetic, bytes.
pub mod scalar;

// ---- Blocks and their storage. ----

// Block, Kind.
pub mod block;

// Held, BlockValue, live bytes.
pub mod mem;

// Bounds a decoded kernel may ask for.
pub mod limits;

// ---- Block math: plain functions on blocks. ----

// Random and constant blocks.
pub mod create;

// Serde of blocks.
pub mod wire;

// Map and unary functions on blocks.
pub mod unary;

// Distribute / assemble.
pub mod dist;

// Reductions of blocks.
pub mod reduce;

// Index plans.
pub mod index;

// The block kernel of permutedims with a new blocking.
pub mod permute_kernel;

// Halos and stencils on blocks.
pub mod halo;

// The stencil kernel: taps over a halo built slab by slab.
pub mod halo_apply;

// FFTs of blocks.
pub mod fft_kernel;

// ArrayMeta.
pub mod meta;

// The save/load file format: format, payload, place, files.
pub mod io;

// Sample-sort stages on blocks.
pub mod sort_kernel;

// ---- Kernels: fused program and vocabulary, element hooks, interpreter, entry points. ----

// Task names (above kernel::program and kernel::named).
pub mod names;

// Element: Scalar + kernel hooks (above kernel::set).
pub mod element;

// Element-wise binary ops on blocks.
pub mod binary;

// Block products and transposes.
pub mod linalg;

// Program, named, set, interpret: gathered under one path.
pub mod kernel;

// Registered entry points; the Element impls.
pub mod remote;

// ---- The lazy array. ----

// Node and lowering.
pub mod graph;

// Fusion of element-wise chains.
pub mod fuse;

// DArray and Lazy.
pub mod darray;

// Reductions of a DArray.
pub mod dreduce;

// Views, cat, setindex, copyto, comparisons.
pub mod structure;

// In-place updates: fill!, rand!, map!, .op=, .=, mul!.
pub mod update;

// std::ops on DArray, powi/powf, t(), dot.
pub mod operators;

// ndarray's slicing (s!, select) and typed ndarray in and out.
pub mod slicing;

// ndarray's reductions along an axis (sum_axis, mean_axis).
pub mod axis;
// A DArray's blocks as datadeps objects, for a user's own in-place regions.
pub mod tracked;
// User element functions registered for the workers (element_fn!, map_registered).
pub mod element_fn;

// DVec and DArray::sort.
pub mod sort;

// Registered sort stages (sortable!).
pub mod sort_registered;

// Block placement.
pub mod assign;

// permutedims with re-blocking.
pub mod permute;

// FFTs of a DArray.
pub mod fft;

// Block-cyclic layouts over a process grid.
pub mod cyclic;

// Stencils over halos on a DArray.
pub mod stencil;

// ---- Support: baselines and the shared behaviour checks. ----

// Ndarray/sprs baselines.
pub mod bench;

// Behaviour checks run by the tests.
#[doc(hidden)]
pub mod testing;

/// Items the [`sortable!`] macro expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use dagger_sched;
    pub use paste::paste;
}

/// What an array program needs in scope: `use dagger_array::prelude::*;` (the operators
/// are `std::ops` impls, in scope wherever `DArray` is).
pub mod prelude {
    pub use crate::darray::{DArray, Lazy};
    pub use crate::index::Index;
    pub use crate::ops::{ArithOp, Side};
    pub use crate::partition::{AutoBlocks, Blocks};
    pub use crate::unary_op::UnaryOp;
    pub use ndarray::{s, Axis};
}

pub use block::{Block, DenseBlock, Kind};
pub use darray::{DArray, Lazy};
pub use element::{Element, IntElement};
pub use element_fn::ElementFn;
pub use graph::{ArrayOptions, Node};
pub use grid::BlockGrid;
pub use index::Index;
pub use mem::BlockValue;
pub use ndarray::{s, Axis};
pub use ops::{ArithOp, BitOp, Side};
pub use partition::{AutoBlocks, Blocks};
pub use scalar::Scalar;
pub use tracked::TrackedBlocks;
pub use unary_op::UnaryOp;
