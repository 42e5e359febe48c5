//! The fused program: an element-wise chain over leaf tiles as a flat, serializable list of
//! steps ([`Program`], [`Op`]), how each leaf block is read ([`Read`]), and running one over
//! a block's tiles (`fused_block`, `fused_reduce`): what a fused kernel ([`Fused`]) does
//! wherever its task runs.

use crate::block::Block;
use crate::mem::Held;
use crate::ops::{divide_error, ArithOp, Side};
use crate::reduce::ReduceOp;
use crate::scalar::Scalar;
use crate::unary_op::UnaryOp;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, CowArray, IxDyn};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

/// Elements per tile of a fused kernel.
pub const TILE: usize = 1024;

/// A fused element-wise chain: a program over leaf tiles and how each leaf is read.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct Fused<T> {
    /// The program.
    pub prog: Program<T>,
    /// Per leaf: transposed or not, and the part read.
    pub reads: Vec<Read>,
}

/// One step of a [`Program`].
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
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
#[serde(bound = "T: Scalar")]
pub struct Program<T> {
    /// The steps.
    pub ops: Vec<Op<T>>,
}

impl<T: Scalar> Program<T> {
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
    pub(crate) fn eval_checked(
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
pub(crate) fn scalar_tile<T: Scalar>(out: &mut [T], op: ArithOp, s: T, side: Side) -> Result<()> {
    for v in out.iter_mut() {
        let r = match side {
            Side::Right => T::arith(op, *v, s),
            Side::Left => T::arith(op, s, *v),
        };
        *v = r.ok_or_else(|| divide_error(op))?;
    }
    Ok(())
}

pub(crate) fn unary_check<T: Scalar>(op: UnaryOp) -> Result<()> {
    match T::unary(op, T::zero()) {
        Some(_) => Ok(()),
        None => Err(Error::Argument(format!(
            "{} is defined for float arrays, not {}",
            op.name(),
            T::NAME
        ))),
    }
}

/// One block of a fused chain: `k` computes each output tile from the leaves' tiles.
pub(crate) fn fused_block<T: Scalar>(
    vs: &[Arc<Held<T>>],
    flags: &[Read],
    k: impl Fn(&[&[T]], &mut [T]) -> Result<()>,
) -> Result<Block<T>> {
    let (shape, views) = views(vs, flags)?;
    let len = shape.iter().product();
    let mut out = vec![T::zero(); len];
    for_tiles(&views, len, |start, ins| {
        k(
            ins,
            &mut out[start..start + ins.first().map_or(0, |s| s.len())],
        )
    })?;
    let a = ArrayD::from_shape_vec(IxDyn(&shape), out)
        .map_err(|e| Error::DimensionMismatch(format!("fused block: {e}")))?;
    Ok(Block::Dense(a))
}

/// The reduction `op` of one block of a fused chain, folded tile by tile.
pub(crate) fn fused_reduce<T: Scalar>(
    vs: &[Arc<Held<T>>],
    flags: &[Read],
    op: ReduceOp,
    k: impl Fn(&[&[T]], &mut [T]) -> Result<()>,
) -> Result<Option<T>> {
    let (shape, views) = views(vs, flags)?;
    let len = shape.iter().product();
    let mut acc: Option<T> = None;
    let mut tile = [T::zero(); TILE];
    for_tiles(&views, len, |_, ins| {
        let out = &mut tile[..ins.first().map_or(0, |s| s.len())];
        k(ins, out)?;
        let part = fold_tile(out, op);
        acc = match (acc, part) {
            (Some(a), Some(p)) => Some(op.apply(a, p)),
            (a, p) => a.or(p),
        };
        Ok(())
    })?;
    Ok(acc)
}

fn fold_tile<T: Scalar>(xs: &[T], op: ReduceOp) -> Option<T> {
    match op {
        // Eight lanes so the compiler can vectorize the sum (as ndarray's `sum` does).
        ReduceOp::Sum => {
            let mut lanes = [T::zero(); 8];
            let chunks = xs.chunks_exact(8);
            let rest = chunks.remainder();
            for c in chunks {
                for j in 0..8 {
                    lanes[j] = ReduceOp::Sum.apply(lanes[j], c[j]);
                }
            }
            let mut s = lanes.into_iter().reduce(|a, b| ReduceOp::Sum.apply(a, b));
            for &r in rest {
                s = s.map(|a| ReduceOp::Sum.apply(a, r));
            }
            if xs.is_empty() {
                None
            } else {
                s
            }
        }
        _ => xs.iter().copied().reduce(|a, b| op.apply(a, b)),
    }
}

/// How a leaf block is read: transposed or not, and which part of it.
pub type Read = (bool, Option<Vec<Range<usize>>>);

type Views<'a, T> = (Vec<usize>, Vec<CowArray<'a, T, IxDyn>>);

/// Standard-layout views of the leaf blocks (a transposed leaf is copied into standard
/// layout inside the task; an untransposed one is read in place).
fn views<'a, T: Scalar>(vs: &'a [Arc<Held<T>>], flags: &[Read]) -> Result<Views<'a, T>> {
    let mut shape: Option<Vec<usize>> = None;
    let mut out = Vec::with_capacity(vs.len());
    for (v, (t, slice)) in vs.iter().zip(flags) {
        let a = v.as_dense("a fused element-wise chain")?;
        let mut view = if *t {
            a.view().reversed_axes()
        } else {
            a.view()
        };
        if let Some(ranges) = slice {
            if ranges.len() != view.ndim()
                || ranges
                    .iter()
                    .zip(view.shape())
                    .any(|(r, &n)| r.end > n || r.start > r.end)
            {
                return Err(Error::DimensionMismatch(format!(
                    "view {ranges:?} does not fit a block of shape {:?}",
                    view.shape()
                )));
            }
            view.slice_each_axis_inplace(|ax| {
                let r = &ranges[ax.axis.index()];
                ndarray::Slice::from(r.start..r.end)
            });
        }
        match &shape {
            None => shape = Some(view.shape().to_vec()),
            Some(s) if s.as_slice() != view.shape() => {
                return Err(Error::DimensionMismatch(format!(
                    "Sizes of A {s:?} and B {:?} must match",
                    view.shape()
                )))
            }
            Some(_) => {}
        }
        out.push(if view.is_standard_layout() {
            CowArray::from(view)
        } else {
            CowArray::from(view.as_standard_layout().into_owned())
        });
    }
    Ok((shape.unwrap_or_default(), out))
}

fn for_tiles<T: Scalar>(
    views: &[CowArray<'_, T, IxDyn>],
    len: usize,
    mut f: impl FnMut(usize, &[&[T]]) -> Result<()>,
) -> Result<()> {
    let slices = views
        .iter()
        .map(|v| {
            v.as_slice()
                .ok_or_else(|| Error::Argument("fused leaf is not contiguous".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut ins: Vec<&[T]> = Vec::with_capacity(slices.len());
    let mut start = 0;
    while start < len {
        let end = (start + TILE).min(len);
        ins.clear();
        ins.extend(slices.iter().map(|s| &s[start..end]));
        f(start, &ins)?;
        start = end;
    }
    Ok(())
}
