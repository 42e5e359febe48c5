//! [`Kernel`]: a serializable description of every named block operation, and the generic
//! functions that run one on its input blocks.
//!
//! A block task of a named operation is "run kernel `k` on these input blocks": `k` travels
//! to whichever process runs the task (as a plain argument), the blocks come from where they
//! live, and [`run`] / [`run_partial`] do the work. The registered entry points per element
//! type (one per arity) are in [`crate::remote`]; operations that take a user closure stay
//! closures and run in the driver process.

use crate::binary::{
    arith_block, arith_scalar_block, compare_dense, compare_scalar_dense, divide_error, CmpOp, Side,
};
use crate::block::{Block, Kind};
use crate::element::{ArithOp, BitOp, Element};
use crate::fuse::{self, Read};
use crate::index::{IndexPlan, Piece};
use crate::limits::{check_shape, check_sparse_shape};
use crate::linalg::transpose_block;
use crate::mem::Held;
use crate::reduce::{self, ReduceOp};
use crate::unary::UnaryOp;
use dagger_core::{Error, Result};
use ndarray::IxDyn;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
#[serde(bound = "T: Element")]
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
    /// The part of an index request served by the input block. One input.
    Gather(Piece),
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
    /// A block cut and glued from the input blocks (one per piece of the plan, in order).
    Reblock(IndexPlan),
    /// A block assembled from parts already gathered (one per piece of the plan, in order).
    Assemble(IndexPlan),
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

/// A fused element-wise chain: a program over leaf tiles and how each leaf is read.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Element")]
pub struct Fused<T> {
    /// The program.
    pub prog: Program<T>,
    /// Per leaf: transposed or not, and the part read.
    pub reads: Vec<Read>,
}

/// One step of a [`Program`].
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Element")]
pub enum Op<T> {
    /// Push leaf number `i`'s tile.
    Leaf(usize),
    /// A named function of the top tile.
    Unary(UnaryOp),
    /// The top tile and a scalar.
    Scalar(ArithOp, T, Side),
    /// The two top tiles combined into one (`below op top`).
    Arith(ArithOp),
}

/// An element-wise expression over the leaves of a fused chain, in postfix order: a flat
/// list, so decoding and running it never recurse however long the chain is.
///
/// ```
/// use dagger_array::kernel::{Op, Program};
/// use dagger_array::{binary::Side, ArithOp};
/// // x.^2 .+ y
/// let p = Program::leaf()
///     .then(Op::Scalar(ArithOp::Pow, 2.0, Side::Right))
///     .zip(&Program::leaf(), ArithOp::Add, 1);
/// let (x, y) = ([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]);
/// let mut out = [0.0; 3];
/// p.eval(&[&x[..], &y[..]], &mut out, &mut Vec::new()).unwrap();
/// assert_eq!(out, [11.0, 24.0, 39.0]);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Element")]
pub struct Program<T> {
    /// The steps.
    pub ops: Vec<Op<T>>,
}

impl<T: Element> Program<T> {
    /// Leaf 0 as it is.
    pub fn leaf() -> Self {
        Program {
            ops: vec![Op::Leaf(0)],
        }
    }

    /// The program followed by a one-tile step.
    pub fn then(&self, op: Op<T>) -> Self {
        let mut ops = self.ops.clone();
        ops.push(op);
        Program { ops }
    }

    /// `self op other`, where `other`'s leaves come after the first `n` (this program's).
    pub fn zip(&self, other: &Program<T>, op: ArithOp, n: usize) -> Self {
        let mut ops = self.ops.clone();
        ops.extend(other.ops.iter().map(|o| match o {
            Op::Leaf(i) => Op::Leaf(i + n),
            o => *o,
        }));
        ops.push(Op::Arith(op));
        Program { ops }
    }

    /// Checks the program against `leaves` leaf tiles: every leaf exists, no step reads a
    /// tile that is not there, one tile is left. Returns the most tiles alive at once.
    pub fn check(&self, leaves: usize) -> Result<usize> {
        let bad = |m: String| Error::Argument(format!("fused program: {m}"));
        let (mut depth, mut most) = (0usize, 0usize);
        for op in &self.ops {
            match op {
                Op::Leaf(i) if *i >= leaves => {
                    return Err(bad(format!("reads leaf {i} of {leaves}")))
                }
                Op::Leaf(_) => depth += 1,
                Op::Unary(u) => {
                    unary_check::<T>(*u)?;
                    if depth == 0 {
                        return Err(bad("a step on no tile".into()));
                    }
                }
                Op::Scalar(..) if depth == 0 => return Err(bad("a step on no tile".into())),
                Op::Scalar(..) => {}
                Op::Arith(_) if depth < 2 => return Err(bad("a combination of one tile".into())),
                Op::Arith(_) => depth -= 1,
            }
            most = most.max(depth);
        }
        if depth != 1 {
            return Err(bad(format!("leaves {depth} tiles, not 1")));
        }
        Ok(most)
    }

    /// Computes one output tile from the leaves' tiles (all of `out`'s length); `scratch`
    /// holds the tiles beyond the first between calls.
    pub fn eval(&self, ins: &[&[T]], out: &mut [T], scratch: &mut Vec<Vec<T>>) -> Result<()> {
        let most = self.check(ins.len())?;
        self.eval_checked(most, ins, out, scratch)
    }

    /// [`Program::eval`] of a program already checked (`most`: what the check returned).
    fn eval_checked(
        &self,
        most: usize,
        ins: &[&[T]],
        out: &mut [T],
        scratch: &mut Vec<Vec<T>>,
    ) -> Result<()> {
        let n = out.len();
        if ins.iter().any(|t| t.len() != n) {
            return Err(Error::DimensionMismatch(
                "fused leaf tiles of different lengths".into(),
            ));
        }
        while scratch.len() + 1 < most {
            scratch.push(Vec::new());
        }
        for t in scratch.iter_mut() {
            t.resize(n, T::zero());
        }
        // Tile 0 is `out`; tile k > 0 is scratch[k - 1].
        let mut depth = 0usize;
        for op in &self.ops {
            match op {
                Op::Leaf(i) => {
                    let dst = if depth == 0 {
                        &mut *out
                    } else {
                        &mut scratch[depth - 1][..]
                    };
                    let src = ins
                        .get(*i)
                        .ok_or_else(|| Error::Argument(format!("fused program reads leaf {i}")))?;
                    dst.copy_from_slice(src);
                    depth += 1;
                }
                Op::Unary(u) => {
                    let top = top_tile(out, scratch, depth);
                    for v in top.iter_mut() {
                        *v = T::unary(*u, *v).unwrap_or(*v);
                    }
                }
                Op::Scalar(op, s, side) => {
                    scalar_tile(top_tile(out, scratch, depth), *op, *s, *side)?
                }
                Op::Arith(op) => {
                    let (below, top): (&mut [T], &[T]) = if depth == 2 {
                        (&mut *out, &scratch[0][..])
                    } else {
                        let (lo, hi) = scratch.split_at_mut(depth - 2);
                        (&mut lo[depth - 3][..], &hi[0][..])
                    };
                    for (o, &b) in below.iter_mut().zip(top.iter()) {
                        *o = T::arith(*op, *o, b).ok_or_else(|| divide_error(*op))?;
                    }
                    depth -= 1;
                }
            }
        }
        Ok(())
    }
}

/// The top tile of the stack (checked non-empty by [`Program::check`]).
fn top_tile<'a, T>(out: &'a mut [T], scratch: &'a mut [Vec<T>], depth: usize) -> &'a mut [T] {
    if depth <= 1 {
        out
    } else {
        &mut scratch[depth - 2][..]
    }
}

/// `out[i] = out[i] op s` (or `s op out[i]`) in place.
pub(crate) fn scalar_tile<T: Element>(out: &mut [T], op: ArithOp, s: T, side: Side) -> Result<()> {
    for v in out.iter_mut() {
        let r = match side {
            Side::Right => T::arith(op, *v, s),
            Side::Left => T::arith(op, s, *v),
        };
        *v = r.ok_or_else(|| divide_error(op))?;
    }
    Ok(())
}

fn unary_check<T: Element>(op: UnaryOp) -> Result<()> {
    match T::unary(op, T::zero()) {
        Some(_) => Ok(()),
        None => Err(Error::Argument(format!(
            "{} is defined for float arrays, not {}",
            op.name(),
            T::NAME
        ))),
    }
}

fn arity<T>(ins: &[T], n: usize, what: &str) -> Result<()> {
    if ins.len() != n {
        return Err(Error::Argument(format!(
            "{what} takes {n} input blocks, got {}",
            ins.len()
        )));
    }
    Ok(())
}

fn int_only<T: Element>(what: &str) -> Error {
    Error::Argument(format!(
        "{what} is defined for integer arrays, not {}",
        T::NAME
    ))
}

fn bit_dense<T: Element>(a: &Block<T>, b: &Block<T>, op: BitOp) -> Result<Block<T>> {
    let (a, b) = (a.to_dense(), b.to_dense());
    if a.shape() != b.shape() {
        return Err(Error::DimensionMismatch(format!(
            "Sizes of A {:?} and B {:?} must match",
            a.shape(),
            b.shape()
        )));
    }
    let mut bad = false;
    let out = ndarray::Zip::from(&a).and(&b).map_collect(|&x, &y| {
        T::bit_op(op, x, y).unwrap_or_else(|| {
            bad = true;
            x
        })
    });
    if bad {
        return Err(int_only::<T>("a bit operation"));
    }
    Ok(Block::Dense(out))
}

/// Runs a block-valued kernel on its input blocks.
pub fn run<T: Element>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Block<T>> {
    let one = |what: &str| -> Result<&Block<T>> {
        arity(&ins, 1, what)?;
        Ok(&ins[0])
    };
    Ok(match k {
        Kernel::Fill { shape, value } => {
            arity(&ins, 0, "fill")?;
            check_shape::<T>("fill", shape)?;
            Block::Dense(crate::block::filled(shape, *value))
        }
        Kernel::Rand { shape, seed, block } => {
            arity(&ins, 0, "rand")?;
            check_shape::<T>("rand", shape)?;
            Block::Dense(T::rand_block(shape, *seed, *block))
        }
        Kernel::Randn { shape, seed, block } => {
            arity(&ins, 0, "randn")?;
            check_shape::<T>("randn", shape)?;
            Block::Dense(T::randn_block(shape, *seed, *block).ok_or_else(|| {
                Error::Argument(format!("randn makes float arrays, not {}", T::NAME))
            })?)
        }
        Kernel::Sprand {
            shape,
            density,
            seed,
            block,
        } => {
            arity(&ins, 0, "sprand")?;
            check_sparse_shape::<T>("sprand", shape, *density)?;
            T::sprand_block(shape, *density, *seed, *block)?
        }
        Kernel::Unary(op) => {
            let b = one(op.name())?;
            unary_check::<T>(*op)?;
            crate::unary::map_block(b, |x| T::unary(*op, x).unwrap_or(x))
        }
        Kernel::ArithScalar { op, s, side } => arith_scalar_block(one("arith")?, *s, *op, *side)?,
        Kernel::BitScalar { op, s, side } => {
            let b = one("bit")?;
            let mut bad = false;
            let out = b.to_dense().mapv(|x| {
                let r = match side {
                    Side::Right => T::bit_op(*op, x, *s),
                    Side::Left => T::bit_op(*op, *s, x),
                };
                r.unwrap_or_else(|| {
                    bad = true;
                    x
                })
            });
            if bad {
                return Err(int_only::<T>("a bit operation"));
            }
            Block::Dense(out)
        }
        Kernel::Transpose => transpose_block(one("transpose")?),
        Kernel::ToDense => Block::Dense(one("to_dense")?.to_dense()),
        Kernel::Permute { perm, kind } => {
            let v = one("permutedims")?;
            if let (Block::SparseMat(_), [1, 0]) = (v, perm.as_slice()) {
                return Ok(transpose_block(v));
            }
            let d = v.to_dense();
            if perm.len() != d.ndim() || (0..perm.len()).any(|i| !perm.contains(&i)) {
                return Err(Error::Argument(format!(
                    "{perm:?} is not a permutation of {} dimensions",
                    d.ndim()
                )));
            }
            let d = d
                .permuted_axes(IxDyn(perm))
                .as_standard_layout()
                .into_owned();
            crate::structure::in_kind(d, *kind)?
        }
        Kernel::Gather(piece) => IndexPlan::gather(piece, one("index")?)?,
        Kernel::ReduceAxis { dim, op } => {
            Block::Dense(reduce::reduce_axis(&one("reduce")?.to_dense(), *dim, *op)?)
        }
        Kernel::Arith(op) => {
            arity(&ins, 2, "arith")?;
            arith_block(&ins[0], &ins[1], *op)?
        }
        Kernel::Bit(op) => {
            arity(&ins, 2, "bit")?;
            bit_dense(&ins[0], &ins[1], *op)?
        }
        Kernel::CombineAxis(op) => {
            arity(&ins, 2, "reduce")?;
            Block::Dense(reduce::combine_partials(
                &ins[0].to_dense(),
                &ins[1].to_dense(),
                *op,
            )?)
        }
        Kernel::Matmul => {
            arity(&ins, 2, "matmul")?;
            T::matmul(&ins[0], &ins[1])?
        }
        Kernel::MatmulAcc => {
            arity(&ins, 3, "matmul")?;
            let mut it = ins.into_iter();
            let (Some(c), Some(a), Some(b)) = (it.next(), it.next(), it.next()) else {
                return Err(Error::Argument("matmul takes 3 input blocks".into()));
            };
            T::matmul_acc(c.into_block(), &a, &b)?
        }
        Kernel::Reblock(plan) => {
            arity(&ins, plan.pieces().len(), "reblock")?;
            let parts = plan
                .pieces()
                .iter()
                .zip(&ins)
                .map(|(p, v)| IndexPlan::gather(p, v))
                .collect::<Result<Vec<_>>>()?;
            plan.assemble(&parts)?
        }
        Kernel::Assemble(plan) => {
            arity(&ins, plan.pieces().len(), "assemble")?;
            let parts: Vec<Block<T>> = ins.into_iter().map(Held::into_block).collect();
            plan.assemble(&parts)?
        }
        Kernel::Fused(f) => {
            arity(&ins, f.reads.len(), "a fused chain")?;
            let most = f.prog.check(f.reads.len())?;
            let scratch = std::cell::RefCell::new(Vec::new());
            fuse::fused_block(&ins, &f.reads, |i, o| {
                f.prog.eval_checked(most, i, o, &mut scratch.borrow_mut())
            })?
        }
        Kernel::SortSample { parts } => crate::sort::sample_kernel(one("sort sample")?, *parts)?,
        Kernel::SortSplitters { parts, rev } => crate::sort::splitters_kernel(&ins, *parts, *rev)?,
        Kernel::SortGroup { part, rev } => {
            arity(&ins, 2, "sort group")?;
            crate::sort::group_kernel(&ins[0], &ins[1], *part, *rev)?
        }
        Kernel::Concat => crate::sort::concat_kernel(&ins, None)?,
        Kernel::SortMergeParts {
            part,
            parts,
            rev,
            stable,
        } => crate::sort::merge_kernel(&ins, *part, *parts, *rev, *stable)?,
        Kernel::SortMerge { rev, stable } => {
            crate::sort::concat_kernel(&ins, Some((*rev, *stable)))?
        }
        Kernel::SortPartition { rev } => {
            arity(&ins, 2, "sort partition")?;
            crate::sort::partition_kernel(&ins[0], &ins[1], *rev)?
        }
        Kernel::SortSlice { start, end } => crate::sort::slice_kernel(&ins, *start, *end)?,
        Kernel::BroadcastCol(op) => {
            arity(&ins, 2, "broadcast")?;
            let (a, x) = (ins[0].to_dense(), ins[1].to_dense());
            if a.ndim() != 2 || x.ndim() != 1 || a.shape()[0] != x.len() {
                return Err(Error::DimensionMismatch(format!(
                    "cannot broadcast a {:?} vector block against a {:?} matrix block",
                    x.shape(),
                    a.shape()
                )));
            }
            let col = x.insert_axis(ndarray::Axis(1));
            let mut failed = false;
            let out = ndarray::Zip::from(&a)
                .and_broadcast(&col)
                .map_collect(|&p, &q| {
                    T::arith(*op, p, q).unwrap_or_else(|| {
                        failed = true;
                        T::zero()
                    })
                });
            if failed {
                return Err(divide_error(*op));
            }
            Block::Dense(out)
        }
        Kernel::Reduce(_)
        | Kernel::Moments
        | Kernel::Check
        | Kernel::FusedReduce(..)
        | Kernel::Compare(_)
        | Kernel::CompareScalar { .. } => {
            return Err(Error::Argument(format!(
                "{k:?} does not give a block of the input's element type"
            )))
        }
    })
}

/// A block's moments: element count, mean, and sum of squared deviations from the mean.
pub type Moments = (u64, f64, f64);

/// Runs a moment kernel ([`Kernel::Moments`]): two passes over the block, so the sum of
/// squares is taken about the block's own mean (numerically stable).
pub fn run_moments<T: Element>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Moments> {
    if !matches!(k, Kernel::Moments) {
        return Err(Error::Argument(format!("{k:?} is not a moment kernel")));
    }
    arity(&ins, 1, "moments")?;
    let d = ins[0].to_dense();
    let f = |x: &T| x.to_f64().unwrap_or(f64::NAN);
    let n = d.len();
    if n == 0 {
        return Ok((0, 0.0, 0.0));
    }
    let mean = d.iter().map(f).sum::<f64>() / n as f64;
    let m2 = d.iter().map(|x| (f(x) - mean).powi(2)).sum();
    Ok((n as u64, mean, m2))
}

/// Two blocks' moments combined (Chan et al.'s parallel update).
pub fn combine_moments(a: Moments, b: Moments) -> Moments {
    let (na, ma, qa) = a;
    let (nb, mb, qb) = b;
    if na == 0 {
        return b;
    }
    if nb == 0 {
        return a;
    }
    let n = na + nb;
    let (fa, fb, fnn) = (na as f64, nb as f64, n as f64);
    let delta = mb - ma;
    (
        n,
        ma + delta * fb / fnn,
        qa + qb + delta * delta * fa * fb / fnn,
    )
}

/// Runs a comparison kernel: a block of 0/1 bytes (Julia's `BitArray`).
pub fn run_compare<T: Element>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Block<u8>> {
    let c = match k {
        Kernel::Compare(op) => {
            arity(&ins, 2, "compare")?;
            compare_dense(&ins[0].to_dense(), &ins[1].to_dense(), *op)?
        }
        Kernel::CompareScalar { op, s, side } => {
            arity(&ins, 1, "compare")?;
            compare_scalar_dense(&ins[0].to_dense(), *s, *op, *side)
        }
        other => return Err(Error::Argument(format!("{other:?} is not a comparison"))),
    };
    Ok(Block::Dense(c.mapv(u8::from)))
}

/// Runs a number-valued kernel (a reduction's partial result of one block; `None` for an
/// empty block).
pub fn run_partial<T: Element>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Option<T>> {
    match k {
        Kernel::Reduce(op) => {
            arity(&ins, 1, "reduce")?;
            Ok(reduce::reduce_op_block(&ins[0], *op))
        }
        Kernel::Check => {
            arity(&ins, 1, "check")?;
            Ok(None)
        }
        Kernel::FusedReduce(f, op) => {
            arity(&ins, f.reads.len(), "a fused reduction")?;
            let most = f.prog.check(f.reads.len())?;
            let scratch = std::cell::RefCell::new(Vec::new());
            fuse::fused_reduce(&ins, &f.reads, *op, |i, o| {
                f.prog.eval_checked(most, i, o, &mut scratch.borrow_mut())
            })
        }
        other => Err(Error::Argument(format!(
            "{other:?} gives a block, not a number"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::darray::held;

    #[test]
    fn fused_program_matches_the_plain_ops() {
        let a = crate::create::rand_block::<f64>(&[40, 70], 3, 0);
        let x = held(Block::Dense(a.clone()));
        // sum(x.^2 .+ 1)
        let prog = Program::leaf()
            .then(Op::Scalar(ArithOp::Pow, 2.0, Side::Right))
            .then(Op::Scalar(ArithOp::Add, 1.0, Side::Right));
        let f = Fused {
            prog,
            reads: vec![(false, None)],
        };
        let want: f64 = a.iter().map(|v| v * v + 1.0).sum();
        let got = run_partial(
            &Kernel::FusedReduce(f.clone(), ReduceOp::Sum),
            vec![x.clone()],
        )
        .unwrap()
        .unwrap();
        assert!((got - want).abs() < 1e-9 * want);
        let b = run(&Kernel::Fused(f), vec![x]).unwrap();
        assert!((b.to_dense().sum() - want).abs() < 1e-9 * want);
    }

    #[test]
    fn deep_and_wide_programs() {
        // A long chain decodes and runs without recursion.
        let mut p = Program::<f64>::leaf();
        p.ops
            .extend((0..100_000).map(|_| Op::Scalar(ArithOp::Add, 1.0, Side::Right)));
        let bytes = postcard::to_allocvec(&p).unwrap();
        let back: Program<f64> = postcard::from_bytes(&bytes).unwrap();
        let mut out = [0.0; 4];
        back.eval(&[&[1.0; 4][..]], &mut out, &mut Vec::new())
            .unwrap();
        assert_eq!(out, [100_001.0; 4]);
        // ((a - b) * (c + d)) - e: three tiles alive at once.
        let ab = Program::leaf().zip(&Program::leaf(), ArithOp::Sub, 1);
        let cd = Program::leaf().zip(&Program::leaf(), ArithOp::Add, 1);
        let p = ab
            .zip(&cd, ArithOp::Mul, 2)
            .zip(&Program::leaf(), ArithOp::Sub, 4);
        assert_eq!(p.check(5).unwrap(), 3);
        let ins: Vec<[f64; 2]> = vec![[5.0, 6.0], [1.0, 1.0], [2.0, 3.0], [1.0, 1.0], [0.5, 0.5]];
        let ins: Vec<&[f64]> = ins.iter().map(|t| &t[..]).collect();
        let mut out = [0.0; 2];
        p.eval(&ins, &mut out, &mut Vec::new()).unwrap();
        assert_eq!(out, [11.5, 19.5]);
    }

    #[test]
    fn wrong_inputs_are_errors() {
        let x = held(Block::Dense(crate::create::ones_block::<i64>(&[2, 2])));
        // An index piece that does not fit the block (e.g. decoded from a bad message).
        for local in [vec![vec![0], vec![0], vec![]], vec![vec![0], vec![5]]] {
            let piece = Piece {
                block: 0,
                out: local.clone(),
                local,
            };
            assert!(run(&Kernel::Gather(piece), vec![x.clone()]).is_err());
        }
        assert!(run(&Kernel::<i64>::Unary(UnaryOp::Exp), vec![x.clone()]).is_err());
        assert!(run(&Kernel::<i64>::Matmul, vec![x.clone()]).is_err());
        assert!(run(
            &Kernel::<i64>::Randn {
                shape: vec![2],
                seed: 1,
                block: 0
            },
            vec![]
        )
        .is_err());
        let y = held(Block::Dense(crate::create::ones_block::<i64>(&[3, 2])));
        assert!(matches!(
            run(&Kernel::<i64>::Arith(ArithOp::Add), vec![x.clone(), y]),
            Err(Error::DimensionMismatch(_))
        ));
        let f = Fused {
            prog: Program {
                ops: vec![Op::Leaf(3)],
            },
            reads: vec![(false, None)],
        };
        assert!(run(&Kernel::Fused(f), vec![x.clone()]).is_err());
        for ops in [
            vec![],
            vec![Op::Arith(ArithOp::Add)],
            vec![Op::Leaf(0), Op::Leaf(0)],
            vec![Op::Scalar(ArithOp::Add, 1, Side::Left)],
            vec![Op::Leaf(0), Op::Unary(UnaryOp::Exp)],
        ] {
            let f = Fused {
                prog: Program { ops },
                reads: vec![(false, None)],
            };
            assert!(run(&Kernel::Fused(f), vec![x.clone()]).is_err());
        }
    }
}
