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
//! into one task per block; `compute_with(&ctx, &ArrayOptions { fuse: false })` runs the
//! graph as written.
//!
//! ## Where each operation runs
//!
//! Every named operation's block task is a *registered function*: the operation travels as
//! a kernel value and blocks travel as raw little-endian bytes, so on a cluster
//! (`Context::builder().workers(n)`) blocks are made, combined, reduced, fused and sorted on
//! the worker processes where their inputs live. On `Context::local()` the same tasks run
//! in place with nothing encoded. Only what takes a user closure (`map`, `reduce`,
//! `mapreduce`, `reduceblock`, `reducebykey`, `sort_by`, [`DVec`]), data that starts in the
//! driver (`distribute`, `from_array`, `assign`), the final assembly of `collect`/`index`
//! results and the metadata files of `save`/`load` are handled in the driver process; each
//! block of `save`/`load` is written or read by a registered kernel on a worker. A user's
//! element function runs on the workers when it is registered with [`element_fn!`] and
//! applied with `map_registered`. `{:?}` of an array or a [`Lazy`] value lists the tasks
//! computing it would spawn and where each runs (`[any process]` or `[driver]`). A context
//! restricted to the workers (`ctx.with_workers(..)`) keeps every block task off the
//! driver, whose memory has no pool.
//!
//! ## What is public
//!
//! - the root: the array ([`DArray`], [`Lazy`], [`Shown`]), its blocking ([`Blocks`],
//!   [`AutoBlocks`], [`BlockGrid`]), indexing ([`Index`], [`Axis`], [`s!`]), the operator
//!   and function vocabulary ([`ArithOp`], [`BitOp`], [`CmpOp`], [`Side`], [`UnaryOp`],
//!   [`ReduceOp`]), the number types ([`Element`], [`Scalar`]), stencils ([`Boundary`],
//!   [`Taps`], [`Statement`]), layouts ([`ProcessGrid`], [`Assignment`]), sorting
//!   ([`SortOptions`], [`DVec`], [`Sortable`]), saved arrays ([`SavedArray`], [`data_dir`])
//!   and datadeps over blocks ([`TrackedBlocks`]);
//! - [`prelude`]: what an array program brings into scope with one `use`;
//! - [`extend`]: the block types and block functions for tasks and kernels of your own.
//!
//! The modules below are internal (hidden from the docs; their paths still compile, for
//! this workspace's tests and benchmarks, but may change). They form a stack: each imports
//! only from the ones listed above it.
//!
//! | module | what it holds |
//! | --- | --- |
//! | `partition` | `Blocks` and `AutoBlocks` |
//! | `grid` | `BlockGrid`: shape, block ranges, index ↔ block |
//! | `ops` | the operator vocabulary: `ArithOp`, `BitOp`, `CmpOp`, `Side` |
//! | `unary_op` | `UnaryOp`: the named element-wise functions (float math) |
//! | `scalar` | `Scalar`: the number types, their arithmetic and byte encoding |
//! | `block` | `Block`: a dense (ndarray) or sparse (sprs) block |
//! | `mem` | block storage: `BlockValue`, `Held`, live/peak bytes and the pool of large buffers |
//! | `limits` | bounds on shapes and part counts a kernel (maybe decoded from another process) may ask for |
//! | `create` | `rand`, `randn`, `ones`, `zeros`, `sprand` per block, seeded per block |
//! | `wire` | serde for blocks: raw little-endian element bytes, validated decoding |
//! | `unary` | element-wise functions on blocks and `map` |
//! | `dist` | `distribute` a whole array into blocks, `assemble` blocks into one |
//! | `reduce` | `sum`, `prod`, `min`, `max`, `mean`, `reduce`, `reduceblock`, `reducebykey` on blocks |
//! | `index` | planning `X[ranges, lists, :, scalars]` into per-block pieces and assembling them |
//! | `halo` | `Boundary`, halo plans and arrays of blocks, stencil `Taps` applied to them |
//! | `fft_kernel` | FFTs of blocks of interleaved complex pairs (rustfft, realfft) |
//! | `meta` | `ArrayMeta` and its summary line |
//! | `io` | the `save`/`load` file format (metadata + checksummed block payloads) |
//! | `sort_kernel` | the numeric sample sort's stages on blocks |
//! | `kernel::program` | the fused program (`kernel::Program`) and running it over tiles |
//! | `kernel::named` | the kernel vocabulary: `kernel::Kernel`, every named block operation as a value |
//! | `names` | short task names from kernels (`exp`, `matmul`, `fused(^2 +1 sum)`) for profiles and the dashboard |
//! | `kernel::set` | `KernelSet`: the types of one element type's registered entry points |
//! | `element` | `Element`: a `Scalar` with its kernels' hooks; `IntElement` bit ops |
//! | `binary` | element-wise arithmetic, comparisons and bit operations on blocks |
//! | `linalg` | transposes, dense and sparse block products and their accumulation |
//! | `kernel::interpret` | the kernel interpreter: running a `kernel::Kernel` on its input blocks |
//! | `kernel` | gathers the kernel parts under one path |
//! | `remote` | the registered kernel entry points per element type (block tasks on worker processes) |
//! | `graph` | the lazy block graph (`Node`) and its lowering to tasks (`ArrayOptions`) |
//! | `fuse` | fusion of element-wise chains (and reductions over them) into one task per block |
//! | `darray` | `DArray`: the lazy blocked array on the dagger-sched scheduler, and `Lazy` values |
//! | `dreduce` | whole-array and per-dimension reductions of a `DArray` |
//! | `structure` | lazy views, cat/hcat/vcat, permutedims, setindex, region assignment, copyto, comparisons, bit ops |
//! | `update` | in-place updates as new block versions: `fill!`, `rand!`, `randn!`, `map!`, `A .op= B`, `A .= expr`, `mul!` |
//! | `operators` | `&a + &b`, `a * 2.0`, `2.0 - &a`, `-&a`, `a += &b`; `powi`, `powf`, `t()`, `dot` |
//! | `slicing` | `a.slice(s![..])`, `a.select(Axis(0), &[..])`, `from_ndarray`, `collect_ndarray::<D>` |
//! | `show` | `a.show(&ctx)`: the values, printed as ndarray prints them (corners of a large array) |
//! | `axis` | ndarray's `sum_axis`, `mean_axis` (the axis dropped) |
//! | `tracked` | a DArray's blocks as datadeps objects: `update_blocks`, `tracked_blocks`, `InOut(&b[[i, j]])` |
//! | `element_fn` | `element_fn!`: a user's `fn(T) -> T` registered for the workers, and `map_registered` |
//! | `sort` | distributed sample sort (`sort::DVec`, `DArray::sort`) |
//! | `sort_registered` | the sample sort with registered stages, for `Ord + serde` types (`sortable!`) |
//! | `assign` | block placement on processors (`assign::Assignment`) |
//! | `permute` | `permutedims` of N-D arrays into a new blocking |
//! | `fft` | 1-D and 2-D FFTs of a `DArray` (complex as pairs, real-to-complex), forward and inverse |
//! | `cyclic` | block-cyclic layouts over a 2-D grid of worker processes (`ProcessGrid`) |
//! | `stencil` | stencils over halos on a `DArray` (`stencil`, `stencil_map`, `stencil_steps`, `run_statements`) |
//! | `bench` | single-threaded ndarray/sprs baselines for `cargo xtask bench arrays` |
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
#[doc(hidden)]
pub mod partition;

// BlockGrid.
#[doc(hidden)]
pub mod grid;

// ArithOp, BitOp, CmpOp, Side.
#[doc(hidden)]
pub mod ops;

// UnaryOp and its float math.
#[doc(hidden)]
pub mod unary_op;

// Scalar: numbers, arithmetic, bytes.
#[doc(hidden)]
pub mod scalar;

// ---- Blocks and their storage. ----

// Block, Kind.
#[doc(hidden)]
pub mod block;

// Held, BlockValue, live bytes.
#[doc(hidden)]
pub mod mem;

// Bounds a decoded kernel may ask for.
#[doc(hidden)]
pub mod limits;

// ---- Block math: plain functions on blocks. ----

// Random and constant blocks.
#[doc(hidden)]
pub mod create;

// Serde of blocks.
#[doc(hidden)]
pub mod wire;

// Block versions written in place where they live: BlockCell, BlockRef, BlockMut.
#[doc(hidden)]
pub mod resident;

// Map and unary functions on blocks.
#[doc(hidden)]
pub mod unary;

// Distribute / assemble.
#[doc(hidden)]
pub mod dist;

// Reductions of blocks.
#[doc(hidden)]
pub mod reduce;

// Index plans.
#[doc(hidden)]
pub mod index;

// The block kernel of permutedims with a new blocking.
pub mod permute_kernel;

// Halos and stencils on blocks.
#[doc(hidden)]
pub mod halo;

// The stencil kernel: taps over a halo built slab by slab.
pub mod halo_apply;

// FFTs of blocks.
#[doc(hidden)]
pub mod fft_kernel;

// ArrayMeta.
#[doc(hidden)]
pub mod meta;

// The save/load file format: format, payload, place, files.
#[doc(hidden)]
pub mod io;

// Sample-sort stages on blocks.
#[doc(hidden)]
pub mod sort_kernel;

// ---- Kernels: fused program and vocabulary, element hooks, interpreter, entry points. ----

// Task names (above kernel::program and kernel::named).
#[doc(hidden)]
pub mod names;

// Element: Scalar + kernel hooks (above kernel::set).
#[doc(hidden)]
pub mod element;

// Element-wise binary ops on blocks.
#[doc(hidden)]
pub mod binary;

// Block products and transposes.
#[doc(hidden)]
pub mod linalg;

// Program, named, set, interpret: gathered under one path.
#[doc(hidden)]
pub mod kernel;

// Registered entry points; the Element impls.
#[doc(hidden)]
pub mod remote;

// ---- The lazy array. ----

// Node and lowering.
#[doc(hidden)]
pub mod graph;

// Fusion of element-wise chains.
#[doc(hidden)]
pub mod fuse;

// DArray and Lazy.
#[doc(hidden)]
pub mod darray;

// Reductions of a DArray.
#[doc(hidden)]
pub mod dreduce;

// Views, cat, setindex, copyto, comparisons.
#[doc(hidden)]
pub mod structure;

// In-place updates: fill!, rand!, map!, .op=, .=, mul!.
#[doc(hidden)]
pub mod update;

// std::ops on DArray, powi/powf, t(), dot.
#[doc(hidden)]
pub mod operators;

// ndarray's slicing (s!, select) and typed ndarray in and out.
#[doc(hidden)]
pub mod slicing;

// Printing values as ndarray does (show).
#[doc(hidden)]
pub mod show;

// ndarray's reductions along an axis (sum_axis, mean_axis).
#[doc(hidden)]
pub mod axis;
// One block as a datadeps object: its views and the arguments reading or writing it.
#[doc(hidden)]
pub mod tracked_args;

// A DArray's blocks as datadeps objects, for a user's own in-place regions.
#[doc(hidden)]
pub mod tracked;
// User element functions registered for the workers (element_fn!, map_registered).
#[doc(hidden)]
pub mod element_fn;

// DVec and DArray::sort.
#[doc(hidden)]
pub mod sort;

// Registered sort stages (sortable!).
#[doc(hidden)]
pub mod sort_registered;

// Block placement.
#[doc(hidden)]
pub mod assign;

// permutedims with re-blocking.
#[doc(hidden)]
pub mod permute;

// FFTs of a DArray.
#[doc(hidden)]
pub mod fft;

// Block-cyclic layouts over a process grid.
#[doc(hidden)]
pub mod cyclic;

// Stencils over halos on a DArray.
#[doc(hidden)]
pub mod stencil;

// ---- The extension surface (documented): block tasks and kernels of your own. ----

// Re-exports of the block types and block functions (the only documented module path).
pub mod extend;

// ---- Support: baselines and the shared behaviour checks. ----

// Ndarray/sprs baselines.
#[doc(hidden)]
pub mod bench;

// Behaviour checks run by the tests.
#[doc(hidden)]
pub mod testing;

/// Items the [`sortable!`] macro expands to, and the crate-private items this crate's tests
/// check (they run in `tests/main`, so that the crate builds no test binary of its own); not
/// part of the API.
#[doc(hidden)]
pub mod __private {
    pub use dagger_sched;
    pub use paste::paste;

    use crate::darray::DArray;
    use crate::element::Element;
    use crate::kernel::program::Program;
    use crate::scalar::Scalar;

    /// Most steps of a fused chain listed in its task name.
    pub const MAX_LISTED: usize = crate::names::MAX_LISTED;

    /// `fused(<steps> <tail>)`: the task name of a fused chain.
    pub fn fused_name<T: Scalar>(prog: &Program<T>, tail: Option<&str>) -> String {
        crate::names::fused_name(prog, tail)
    }

    /// Whether `t` is, lazily, `a.transpose()` (what `matmul` checks for a symmetric product).
    pub fn is_transpose_of<T: Element>(t: &DArray<T>, a: &DArray<T>) -> bool {
        t.is_transpose_of(a)
    }

    /// Spare buffers of `T` in the block pool that would serve a request for `len` values.
    pub fn spares<T: Scalar>(len: usize) -> usize {
        crate::mem::spares::<T>(len)
    }
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

pub use assign::Assignment;
pub use block::{Block, DenseBlock, Kind};
pub use cyclic::ProcessGrid;
pub use darray::{DArray, Lazy};
pub use element::{Element, IntElement};
pub use element_fn::ElementFn;
pub use graph::{ArrayOptions, Node};
pub use grid::BlockGrid;
pub use halo::{Boundary, Taps};
pub use index::Index;
pub use io::{data_dir, SavedArray, SavedBlock};
pub use mem::BlockValue;
pub use meta::ArrayMeta;
pub use ndarray::{s, Axis};
pub use ops::{ArithOp, BitOp, CmpOp, Side};
pub use partition::{AutoBlocks, Blocks};
pub use reduce::ReduceOp;
pub use resident::{BlockMut, BlockRef};
pub use scalar::Scalar;
pub use show::Shown;
pub use sort::{DVec, SortOptions};
pub use sort_registered::Sortable;
pub use stencil::Statement;
pub use tracked::{BlockList, BlockView, TrackedBlock, TrackedBlocks};
pub use unary_op::UnaryOp;
