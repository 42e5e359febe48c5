//! Element-wise unary functions on blocks: every one the reference's array API lists
//! ([`UnaryOp`], defined in [`crate::unary_op`]), plus `map` of any function over a block.

use crate::block::Block;
use crate::scalar::Scalar;
use ndarray::ArrayD;
use num_traits::Float;

pub use crate::unary_op::UnaryOp;

/// `f` applied to every element of a dense block.
pub fn map_dense<T: Scalar, U: Scalar>(a: &ArrayD<T>, f: impl Fn(T) -> U) -> ArrayD<U> {
    a.mapv(f)
}

/// `f` applied to every element of a block. A sparse block stays sparse when `f(0) == 0`
/// (only stored values are visited); otherwise it becomes dense.
///
/// ```
/// use dagger_array::{unary::map_block, Block};
/// use ndarray::ArrayD;
/// let b = Block::Dense(ArrayD::from_elem(vec![2, 2], 2.0f64));
/// assert_eq!(map_block(&b, |x| x * x).to_dense().sum(), 16.0);
/// ```
pub fn map_block<T: Scalar, U: Scalar>(b: &Block<T>, f: impl Fn(T) -> U) -> Block<U> {
    let keeps_sparse = f(T::zero()) == U::zero();
    match b {
        Block::Dense(a) => Block::Dense(a.mapv(f)),
        Block::SparseMat(m) if keeps_sparse => Block::SparseMat(m.map(|&x| f(x))),
        Block::SparseVec(v) if keeps_sparse => Block::SparseVec(sprs::CsVec::new(
            v.dim(),
            v.indices().to_vec(),
            v.data().iter().map(|&x| f(x)).collect(),
        )),
        other => Block::Dense(other.to_dense().mapv(f)),
    }
}

/// A named unary function applied to every element of a float block.
pub fn unary_block<T: Scalar + Float>(b: &Block<T>, op: UnaryOp) -> Block<T> {
    map_block(b, |x| op.apply(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::{rand_block, sprand_block};
    use proptest::prelude::*;
    use std::f64::consts::PI;

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan())
            || a == b
            || (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
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
}
