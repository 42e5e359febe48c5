//! [`Kernel`]: every named block operation as a serializable value, with its parameters. A
//! block task of a named operation is "run kernel `k` on these input blocks": `k` travels
//! to whichever process runs the task as a plain argument (see [`crate::kernel`]).

use crate::block::Kind;
use crate::fft_kernel::FftOp;
use crate::halo::StencilKernel;
use crate::index::{IndexPlan, Piece};
use crate::kernel::program::Fused;
use crate::ops::{ArithOp, BitOp, CmpOp, Side};
use crate::reduce::ReduceOp;
use crate::scalar::Scalar;
use crate::unary_op::UnaryOp;
use serde::{Deserialize, Serialize};

/// A named block operation, with its parameters.
///
/// ```
/// use dagger_array::kernel::{run, Kernel};
/// let k = Kernel::<f64>::Fill { shape: vec![2, 3], value: 1.5 };
/// let b = run(&k, Vec::new()).unwrap();
/// assert_eq!(b.to_dense().sum(), 9.0);
/// let bytes = postcard::to_allocvec(&k).unwrap();
/// assert!(matches!(postcard::from_bytes(&bytes).unwrap(), Kernel::<f64>::Fill { .. }));
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub enum Kernel<T> {
    /// A dense block of `shape` filled with `value` (`ones`, `zeros`, `fill`). No inputs.
    Fill {
        /// The block's shape.
        shape: Vec<usize>,
        /// Every element.
        value: T,
    },
    /// Uniform random values, stream `block` of `seed`. No inputs.
    Rand {
        /// The block's shape.
        shape: Vec<usize>,
        /// The array's seed.
        seed: u64,
        /// The block's number (its random stream).
        block: usize,
    },
    /// Standard normal values (float types). No inputs.
    Randn {
        /// The block's shape.
        shape: Vec<usize>,
        /// The array's seed.
        seed: u64,
        /// The block's number (its random stream).
        block: usize,
    },
    /// A random sparse block. No inputs.
    Sprand {
        /// The block's shape (1-D or 2-D).
        shape: Vec<usize>,
        /// Probability of a non-zero.
        density: f64,
        /// The array's seed.
        seed: u64,
        /// The block's number (its random stream).
        block: usize,
    },
    /// A named element-wise function (float types). One input.
    Unary(UnaryOp),
    /// `x op s` or `s op x`. One input.
    ArithScalar {
        /// The operation.
        op: ArithOp,
        /// The scalar.
        s: T,
        /// Where the scalar stands.
        side: Side,
    },
    /// `x bitop s` or `s bitop x` (integer types). One input.
    BitScalar {
        /// The operation.
        op: BitOp,
        /// The scalar.
        s: T,
        /// Where the scalar stands.
        side: Side,
    },
    /// The transpose of a matrix block. One input.
    Transpose,
    /// The block made dense. One input.
    ToDense,
    /// Dimensions permuted (`permutedims`), the result in `kind`. One input.
    Permute {
        /// Dimension `k` of the result is dimension `perm[k]` of the input.
        perm: Vec<usize>,
        /// Dense or sparse result.
        kind: Kind,
    },
    /// The region of an index plan of ranges with its dimensions permuted (dimension `k`
    /// of the result is dimension `perm[k]` of the region). One input per piece: the whole
    /// source block.
    PermuteReblock {
        /// The region, on the source grid.
        plan: IndexPlan,
        /// The order of the dimensions.
        perm: Vec<usize>,
    },
    /// [`Kernel::PermuteReblock`], then [`Kernel::Fft`] of its result, in one pass where
    /// the FFT runs along the rows the permutation writes (the 2-D FFT's transpose and
    /// second pass: [`crate::fft_kernel::permute_fft`]). One input per piece: the whole
    /// source block.
    PermuteReblockFft {
        /// The region, on the source grid.
        plan: IndexPlan,
        /// The order of the dimensions.
        perm: Vec<usize>,
        /// The FFT of the permuted region.
        op: FftOp,
    },
    /// The part of an index request served by the input block. One input.
    Gather(Piece),
    /// Dimension `dim`, of length 1, dropped (`dropdims`), as a dense block. One input.
    DropAxis {
        /// The dimension.
        dim: usize,
    },
    /// A built-in reduction along `dim` (kept with length 1), as a dense block. One input.
    ReduceAxis {
        /// The dimension.
        dim: usize,
        /// The reduction.
        op: ReduceOp,
    },
    /// `a op b` element-wise. Two inputs.
    Arith(ArithOp),
    /// `a cmp b` element-wise as 0/1 bytes (compare kernels only). Two inputs.
    Compare(CmpOp),
    /// `x cmp s` or `s cmp x` as 0/1 bytes (compare kernels only). One input.
    CompareScalar {
        /// The comparison.
        op: CmpOp,
        /// The scalar.
        s: T,
        /// Where the scalar stands.
        side: Side,
    },
    /// `A op v` of a matrix block and the vector block of its rows (`A[i, j] op v[i]`).
    /// Two inputs.
    BroadcastCol(ArithOp),
    /// `a bitop b` element-wise (integer types). Two inputs.
    Bit(BitOp),
    /// Two partial results of a reduction along a dimension, combined. Two inputs.
    CombineAxis(ReduceOp),
    /// The block product `a · b`. Two inputs.
    Matmul,
    /// `c + a · b` (in place when dense). Three inputs: `c`, `a`, `b`.
    MatmulAcc,
    /// `Σ_k a_k · b_kᵀ`, a block of `A·Aᵀ` from two block rows of `A` in one task (no `Aᵀ`
    /// blocks, no per-`k` partial products). `2 · kn` inputs, `a_0..a_kn` then `b_0..b_kn`;
    /// `kn` inputs when `diagonal` (`b` is `a`: one triangle computed, then mirrored).
    MatmulNt {
        /// The blocks in each row.
        kn: usize,
        /// A diagonal block (`b` is `a`).
        diagonal: bool,
    },
    /// A block cut and glued from the input blocks (one per piece of the plan, in order).
    Reblock(IndexPlan),
    /// A block assembled from parts already gathered (one per piece of the plan, in order).
    Assemble(IndexPlan),
    /// A stencil over the halo of one block (one input per piece of its halo plan: the
    /// whole source block, or the strip already cut where that block lives).
    Stencil(Box<StencilKernel<T>>),
    /// An FFT along one dimension (float types; complex blocks as pairs). One input.
    Fft(FftOp),
    /// A fused element-wise chain over its leaf blocks (one input per leaf).
    Fused(Fused<T>),
    /// A built-in whole-block reduction (partial kernels only). One input.
    Reduce(ReduceOp),
    /// The block's count, mean and sum of squared deviations from that mean, in `f64`
    /// (moment kernels only): what `var` combines across blocks. One input.
    Moments,
    /// Nothing but the input's own error, if it has one (partial kernels only): lets the
    /// driver learn whether a block failed without moving the block. One input.
    Check,
    /// A built-in reduction of a fused chain's block (partial kernels only).
    FusedReduce(Fused<T>, ReduceOp),
    /// Sort stage: evenly spaced samples of one part (a 1-D block). One input.
    SortSample {
        /// Number of output parts.
        parts: usize,
    },
    /// Sort stage: the splitters of a sample sort from the samples of every part.
    SortSplitters {
        /// Number of output parts.
        parts: usize,
        /// Descending order.
        rev: bool,
    },
    /// Sort stage: the part's elements grouped by output part (each group in input
    /// order). Two inputs: the part, the splitters.
    SortPartition {
        /// Descending order.
        rev: bool,
    },
    /// Sort stage: the group bound for output part `part` of a partitioned part. Two
    /// inputs: the partitioned part, the splitters.
    SortGroup {
        /// The output part.
        part: usize,
        /// Descending order.
        rev: bool,
    },
    /// 1-D blocks concatenated in order.
    Concat,
    /// Sort stage in one process: output part `part` cut from every partitioned part
    /// (`ins[0]` holds the splitters) and sorted.
    SortMergeParts {
        /// The output part.
        part: usize,
        /// Number of output parts.
        parts: usize,
        /// Descending order.
        rev: bool,
        /// Stable sort.
        stable: bool,
    },
    /// Sort stage: the inputs concatenated in order and sorted (an output part).
    SortMerge {
        /// Descending order.
        rev: bool,
        /// Stable sort.
        stable: bool,
    },
    /// Sort stage: the elements `range` of the concatenated sorted parts (re-blocking).
    SortSlice {
        /// First element.
        start: usize,
        /// One past the last element.
        end: usize,
    },
}

/// A block's moments: element count, mean, and sum of squared deviations from the mean.
pub type Moments = (u64, f64, f64);
