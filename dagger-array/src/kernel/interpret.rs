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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Piece;
    use crate::kernel::program::{Fused, Op, Program};
    use crate::mem::held;
    use crate::ops::ArithOp;
    use crate::reduce::ReduceOp;
    use crate::unary_op::UnaryOp;
    use proptest::prelude::*;

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

    /// The block limit while arbitrary kernels run: blocks under it are made in
    /// milliseconds. Only ever lowered (never raised back) so tests running at the same time
    /// see one limit or a smaller one.
    const TEST_BLOCK_BYTES: u64 = 1 << 22;

    /// Runs `k` on no, one and two blocks and as a partial reduction, ignoring the results.
    fn run_any<T: Element>(k: &Kernel<T>) {
        let b = held(Block::Dense(crate::create::ones_block::<T>(&[3, 2])));
        let _ = run(k, Vec::new());
        let _ = run(k, vec![b.clone()]);
        let _ = run(k, vec![b.clone(), b.clone()]);
        let _ = run_partial(k, vec![b]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = postcard::from_bytes::<Block<f64>>(&bytes);
            let _ = postcard::from_bytes::<Block<u16>>(&bytes);
            let _ = postcard::from_bytes::<crate::mem::BlockValue<i64>>(&bytes);
            // A kernel decoded from arbitrary bytes runs to a value or an error, creation
            // kernels included: whatever shape they ask for, nothing aborts on allocation.
            // (The block limit is lowered so that shapes under it are quick to make.)
            crate::limits::set_max_block_bytes(TEST_BLOCK_BYTES);
            if let Ok(k) = postcard::from_bytes::<Kernel<f64>>(&bytes) {
                run_any(&k);
            }
            if let Ok(k) = postcard::from_bytes::<Kernel<u32>>(&bytes) {
                run_any(&k);
            }
        }

        #[test]
        fn huge_creation_shapes_are_argument_errors(
            shape in proptest::collection::vec(any::<usize>(), 1..5),
            which in 0u8..4,
        ) {
            let n = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
            prop_assume!(n.is_none_or(|n| n.saturating_mul(8) > TEST_BLOCK_BYTES));
            crate::limits::set_max_block_bytes(TEST_BLOCK_BYTES);
            let k = match which {
                0 => Kernel::<f64>::Fill { shape: shape.clone(), value: 1.0 },
                1 => Kernel::Rand { shape: shape.clone(), seed: 1, block: 0 },
                2 => Kernel::Randn { shape: shape.clone(), seed: 1, block: 0 },
                _ => Kernel::Sprand { shape: shape.clone(), density: 0.5, seed: 1, block: 0 },
            };
            let bytes = postcard::to_allocvec(&k).unwrap();
            let k: Kernel<f64> = postcard::from_bytes(&bytes).unwrap();
            match run(&k, Vec::new()) {
                Err(dagger_core::Error::Argument(m)) => {
                    prop_assert!(m.contains(&format!("{shape:?}")), "{}", m)
                }
                other => prop_assert!(false, "{:?}", other.map(|b| b.shape())),
            }
        }
    }
}
