//! The former unit tests of `src/binary.rs` (`unit`'s doc says why they moved).

use dagger_array::binary::*;
use dagger_array::create::{rand_block, sprand_block};
use dagger_array::{ArithOp, BitOp, Block, CmpOp, Scalar, Side};
use dagger_core::Error;
use ndarray::ArrayD;
use proptest::prelude::*;

const OPS: [ArithOp; 7] = [
    ArithOp::Add,
    ArithOp::Sub,
    ArithOp::Mul,
    ArithOp::Div,
    ArithOp::Rem,
    ArithOp::Pow,
    ArithOp::LeftDiv,
];

proptest! {
    #[test]
    fn float_ops_match_scalar_math(m in 0usize..6, n in 0usize..6, seed: u64) {
        let a = rand_block::<f64>(&[m, n], seed, 0);
        let b = rand_block::<f64>(&[m, n], seed, 1);
        for op in OPS {
            let got = arith_dense(&a, &b, op).unwrap();
            let sc = arith_scalar_dense(&a, 0.5, op, Side::Left).unwrap();
            for ((g, s), (&x, &y)) in got.iter().zip(sc.iter()).zip(a.iter().zip(b.iter())) {
                prop_assert_eq!(*g, f64::arith(op, x, y).unwrap());
                prop_assert_eq!(*s, f64::arith(op, 0.5, x).unwrap());
            }
        }
        let lt = compare_dense(&a, &b, CmpOp::Lt).unwrap();
        for (l, (&x, &y)) in lt.iter().zip(a.iter().zip(b.iter())) {
            prop_assert_eq!(*l, x < y);
        }
    }

    #[test]
    fn sparse_add_mul_stay_sparse(m in 1usize..8, n in 1usize..8, seed: u64) {
        let a = sprand_block::<f64>(&[m, n], 0.3, seed, 0).unwrap();
        let b = sprand_block::<f64>(&[m, n], 0.3, seed, 1).unwrap();
        for op in [ArithOp::Add, ArithOp::Sub, ArithOp::Mul] {
            let got = arith_block(&a, &b, op).unwrap();
            prop_assert!(matches!(got, Block::SparseMat(_)));
            prop_assert_eq!(got.to_dense(), arith_dense(&a.to_dense(), &b.to_dense(), op).unwrap());
        }
        let scaled = arith_scalar_block(&a, 3.0, ArithOp::Mul, Side::Right).unwrap();
        prop_assert!(matches!(scaled, Block::SparseMat(_)));
        prop_assert_eq!(scaled.to_dense(), a.to_dense().mapv(|x| x * 3.0));
        let plus = arith_scalar_block(&a, 1.0, ArithOp::Add, Side::Right).unwrap();
        prop_assert!(matches!(plus, Block::Dense(_)));
    }

    #[test]
    fn int_bits(v in proptest::collection::vec(any::<i32>(), 1..10), s in -40i32..40) {
        let a = ndarray::Array1::from(v.clone()).into_dyn();
        let b = a.mapv(|_| s);
        for op in [BitOp::And, BitOp::Or, BitOp::Xor, BitOp::Shl, BitOp::Shr] {
            prop_assert_eq!(bit_dense(&a, &b, op).unwrap(), bit_scalar_dense(&a, s, op, Side::Right));
        }
    }
}

#[test]
fn mismatch_and_divide_errors() {
    let a = ArrayD::<i64>::zeros(vec![2, 2]);
    let b = ArrayD::<i64>::zeros(vec![2, 3]);
    assert!(matches!(
        arith_dense(&a, &b, ArithOp::Add),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(matches!(
        arith_scalar_dense(&a, 0, ArithOp::Div, Side::Right),
        Err(Error::Argument(_))
    ));
    assert_eq!(
        compare_scalar_dense(&a, 1, CmpOp::Lt, Side::Right)
            .iter()
            .filter(|&&x| x)
            .count(),
        4
    );
}
