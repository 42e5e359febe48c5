//! The former unit tests of `src/kernel/interpret.rs` (`unit`'s doc says why they moved).

use dagger_array::index::Piece;
use dagger_array::kernel::interpret::*;
use dagger_array::kernel::program::{Fused, Op, Program};
use dagger_array::kernel::Kernel;
use dagger_array::mem::Held;
use dagger_array::ops::ArithOp;
use dagger_array::reduce::ReduceOp;
use dagger_array::unary_op::UnaryOp;
use dagger_array::{Block, Element, Scalar, Side};
use dagger_core::Error;
use proptest::prelude::*;
use std::sync::Arc;

/// A block in the live-bytes accounting, as the crate's kernels receive it.
fn held<T: Scalar>(b: Block<T>) -> Arc<Held<T>> {
    Arc::new(Held::new(b))
}

#[test]
fn fused_program_matches_the_plain_ops() {
    let a = dagger_array::create::rand_block::<f64>(&[40, 70], 3, 0);
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
    let x = held(Block::Dense(dagger_array::create::ones_block::<i64>(&[
        2, 2,
    ])));
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
    let y = held(Block::Dense(dagger_array::create::ones_block::<i64>(&[
        3, 2,
    ])));
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

/// The block limit while arbitrary kernels run: blocks under it are made in milliseconds.
/// The limit is process-wide, so the two tests that lower it run alone in a process of
/// their own ([`crate::alone`]): the other tests of this binary make larger blocks.
const TEST_BLOCK_BYTES: u64 = 1 << 22;

/// Runs `k` on no, one and two blocks and as a partial reduction, ignoring the results.
fn run_any<T: Element>(k: &Kernel<T>) {
    let b = held(Block::Dense(dagger_array::create::ones_block::<T>(&[3, 2])));
    let _ = run(k, Vec::new());
    let _ = run(k, vec![b.clone()]);
    let _ = run(k, vec![b.clone(), b.clone()]);
    let _ = run_partial(k, vec![b]);
}

#[test]
fn arbitrary_bytes_never_panic() {
    if crate::alone::rerun(module_path!(), "arbitrary_bytes_never_panic") {
        return;
    }
    proptest!(ProptestConfig::with_cases(512), |(bytes in proptest::collection::vec(any::<u8>(), 0..200))| {
        let _ = postcard::from_bytes::<Block<f64>>(&bytes);
        let _ = postcard::from_bytes::<Block<u16>>(&bytes);
        let _ = postcard::from_bytes::<dagger_array::mem::BlockValue<i64>>(&bytes);
        // A kernel decoded from arbitrary bytes runs to a value or an error, creation
        // kernels included: whatever shape they ask for, nothing aborts on allocation.
        // (The block limit is lowered so that shapes under it are quick to make.)
        dagger_array::limits::set_max_block_bytes(TEST_BLOCK_BYTES);
        if let Ok(k) = postcard::from_bytes::<Kernel<f64>>(&bytes) {
            run_any(&k);
        }
        if let Ok(k) = postcard::from_bytes::<Kernel<u32>>(&bytes) {
            run_any(&k);
        }
    });
}

#[test]
fn huge_creation_shapes_are_argument_errors() {
    if crate::alone::rerun(module_path!(), "huge_creation_shapes_are_argument_errors") {
        return;
    }
    proptest!(|(shape in proptest::collection::vec(any::<usize>(), 1..5), which in 0u8..4)| {
        let n = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        prop_assume!(n.is_none_or(|n| n.saturating_mul(8) > TEST_BLOCK_BYTES));
        dagger_array::limits::set_max_block_bytes(TEST_BLOCK_BYTES);
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
    });
}
