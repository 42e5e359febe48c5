//! The kernel interpreter: [`run`] and its siblings do what a [`Kernel`] names to its input
//! blocks, in whichever process the block task runs.

use crate::binary::{arith_block, arith_scalar_block, compare_dense, compare_scalar_dense};
use crate::block::{filled, in_kind, Block};
use crate::element::Element;
use crate::index::IndexPlan;
use crate::kernel::named::{Kernel, Moments};
use crate::kernel::program::{fused_block, fused_reduce, unary_check};
use crate::limits::{check_shape, check_sparse_shape};
use crate::linalg::transpose_block;
use crate::mem::Held;
use crate::ops::{divide_error, BitOp, Side};
use crate::reduce;
use crate::scalar::Scalar;
use crate::sort_kernel;
use crate::unary::map_block;
use dagger_core::{Error, Result};
use ndarray::IxDyn;
use std::sync::Arc;

fn arity<T>(ins: &[T], n: usize, what: &str) -> Result<()> {
    if ins.len() != n {
        return Err(Error::Argument(format!(
            "{what} takes {n} input blocks, got {}",
            ins.len()
        )));
    }
    Ok(())
}

fn int_only<T: Scalar>(what: &str) -> Error {
    Error::Argument(format!(
        "{what} is defined for integer arrays, not {}",
        T::NAME
    ))
}

fn bit_dense<T: Scalar>(a: &Block<T>, b: &Block<T>, op: BitOp) -> Result<Block<T>> {
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
            Block::Dense(filled(shape, *value))
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
            map_block(b, |x| T::unary(*op, x).unwrap_or(x))
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
            in_kind(d, *kind)?
        }
        Kernel::PermuteReblock { plan, perm } => {
            arity(&ins, plan.pieces().len(), "permutedims")?;
            let bs: Vec<&Block<T>> = ins.iter().map(|h| &***h).collect();
            crate::permute_kernel::permute_region(plan, perm, &bs)?
        }
        Kernel::PermuteReblockFft { plan, perm, op } => {
            arity(&ins, plan.pieces().len(), "permutedims")?;
            let bs: Vec<&Block<T>> = ins.iter().map(|h| &***h).collect();
            crate::fft_kernel::permute_fft(plan, perm, &bs, op)?
        }
        Kernel::Gather(piece) => IndexPlan::gather(piece, one("index")?)?,
        Kernel::DropAxis { dim } => {
            let d = one("dropdims")?.to_dense();
            if d.shape().get(*dim) != Some(&1) {
                return Err(Error::DimensionMismatch(format!(
                    "dropdims: dimension {dim} of a block of shape {:?} is not of length 1",
                    d.shape()
                )));
            }
            Block::Dense(d.index_axis_move(ndarray::Axis(*dim), 0))
        }
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
        Kernel::MatmulNt { kn, diagonal } => {
            arity(&ins, if *diagonal { *kn } else { 2 * kn }, "matmul nt")?;
            let blocks: Vec<&Block<T>> = ins.iter().map(|h| &***h).collect();
            let (a, b) = blocks.split_at(*kn);
            T::matmul_nt(a, (!*diagonal).then_some(b))?
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
        Kernel::Fft(op) => {
            arity(&ins, 1, "fft")?;
            let Some(b) = ins.into_iter().next() else {
                return Err(Error::Argument("fft takes 1 input block".into()));
            };
            crate::fft_kernel::run_fft_held(op, b)?
        }
        Kernel::Stencil(s) => {
            let blocks: Vec<&Block<T>> = ins.iter().map(|h| &***h).collect();
            crate::halo_apply::run_stencil(s, &blocks)?
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
            fused_block(&ins, &f.reads, |i, o| {
                f.prog.eval_checked(most, i, o, &mut scratch.borrow_mut())
            })?
        }
        Kernel::SortSample { parts } => sort_kernel::sample_kernel(one("sort sample")?, *parts)?,
        Kernel::SortSplitters { parts, rev } => sort_kernel::splitters_kernel(&ins, *parts, *rev)?,
        Kernel::SortGroup { part, rev } => {
            arity(&ins, 2, "sort group")?;
            sort_kernel::group_kernel(&ins[0], &ins[1], *part, *rev)?
        }
        Kernel::Concat => sort_kernel::concat_kernel(&ins, None)?,
        Kernel::SortMergeParts {
            part,
            parts,
            rev,
            stable,
        } => sort_kernel::merge_kernel(&ins, *part, *parts, *rev, *stable)?,
        Kernel::SortMerge { rev, stable } => {
            sort_kernel::concat_kernel(&ins, Some((*rev, *stable)))?
        }
        Kernel::SortPartition { rev } => {
            arity(&ins, 2, "sort partition")?;
            sort_kernel::partition_kernel(&ins[0], &ins[1], *rev)?
        }
        Kernel::SortSlice { start, end } => sort_kernel::slice_kernel(&ins, *start, *end)?,
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

/// Runs a moment kernel ([`Kernel::Moments`]): two passes over the block, so the sum of
/// squares is taken about the block's own mean (numerically stable).
pub fn run_moments<T: Scalar>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Moments> {
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
pub fn run_compare<T: Scalar>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Block<u8>> {
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
pub fn run_partial<T: Scalar>(k: &Kernel<T>, ins: Vec<Arc<Held<T>>>) -> Result<Option<T>> {
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
            fused_reduce(&ins, &f.reads, *op, |i, o| {
                f.prog.eval_checked(most, i, o, &mut scratch.borrow_mut())
            })
        }
        other => Err(Error::Argument(format!(
            "{other:?} gives a block, not a number"
        ))),
    }
}
