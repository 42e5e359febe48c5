//! The former unit tests of `src/unary.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{rand_block, sprand_block};
use dagger_array::unary::*;
use dagger_array::{Block, UnaryOp};
use proptest::prelude::*;
use std::f64::consts::PI;

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #[test]
    fn against_std_definitions(x in -3.0f64..3.0) {
        use UnaryOp::*;
        prop_assume!(x.abs() > 1e-3);
        let want = [
            (Sec, 1.0 / x.cos()), (Cot, x.cos() / x.sin()), (Csc, 1.0 / x.sin()),
            (Coth, x.cosh() / x.sinh()), (Sech, 1.0 / x.cosh()), (Csch, 1.0 / x.sinh()),
            (Acot, (1.0 / x).atan()), (Asinh, x.asinh()), (Acsch, (1.0 / x).asinh()),
            (Sinpi, (PI * x).sin()), (Cospi, (PI * x).cos()),
            (Sinc, (PI * x).sin() / (PI * x)),
            (Cosc, (PI * x).cos() / x - (PI * x).sin() / (PI * x * x)),
            (Neg, -x), (Cbrt, x.cbrt()), (Exp, x.exp()), (Expm1, x.exp_m1()),
        ];
        for (op, w) in want {
            let got = op.apply(x);
            prop_assert!((got - w).abs() <= 1e-9 * (1.0 + w.abs()), "{} {x}: {got} vs {w}", op.name());
        }
        let s = Significand.apply(x);
        prop_assert!((1.0..2.0).contains(&s.abs()));
        prop_assert_eq!(s * 2f64.powf(Exponent.apply(x)), x);
    }

    #[test]
    fn map_matches_whole_array(m in 0usize..8, n in 0usize..8, seed: u64) {
        let a = rand_block::<f64>(&[m, n], seed, 0);
        for op in UnaryOp::ALL {
            let got = unary_block(&Block::Dense(a.clone()), op).to_dense();
            for (g, &x) in got.iter().zip(a.iter()) {
                prop_assert!(close(*g, op.apply(x)));
            }
        }
    }
}

#[test]
fn exact_points_and_sparse() {
    assert_eq!(UnaryOp::Sinpi.apply(2.0f64), 0.0);
    assert_eq!(UnaryOp::Cospi.apply(0.5f64), 0.0);
    assert_eq!(UnaryOp::Cospi.apply(1.0f64), -1.0);
    assert_eq!(UnaryOp::Sinc.apply(1.0f64), 0.0);
    assert_eq!(UnaryOp::Cosc.apply(0.0f64), 0.0);
    assert!(UnaryOp::Exponent.apply(0.0f64).is_nan());
    assert_eq!(UnaryOp::Exponent.apply(1.0f32), 0.0);
    assert_eq!(UnaryOp::Exponent.apply(f64::MIN_POSITIVE / 4.0), -1024.0);
    assert!(UnaryOp::Sin.preserves_zero() && !UnaryOp::Cos.preserves_zero());
    let s = sprand_block::<f64>(&[20, 20], 0.2, 1, 0).unwrap();
    let sin = unary_block(&s, UnaryOp::Sin);
    assert!(matches!(sin, Block::SparseMat(_)));
    let cos = unary_block(&s, UnaryOp::Cos);
    assert!(matches!(cos, Block::Dense(_)));
    let want = s.to_dense().mapv(f64::cos);
    assert_eq!(cos.to_dense(), want);
}
