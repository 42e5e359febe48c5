//! The former unit tests of `src/scalar.rs` (`unit`'s doc says why they moved).

use dagger_array::{ArithOp, Scalar};

#[test]
fn int_pow_and_bytes() {
    assert_eq!(i64::arith(ArithOp::Pow, 2, 10), Some(1024));
    assert_eq!(i64::arith(ArithOp::Pow, -1, -3), Some(-1));
    assert_eq!(i64::arith(ArithOp::Pow, 2, -1), None);
    let mut v = Vec::new();
    1.5f64.write_le(&mut v);
    assert_eq!(f64::read_le(&v), Some(1.5));
    assert_eq!(f64::read_le(&v[..3]), None);
    assert!(f64::NAN.is_nan() && !3i8.is_nan());
}
