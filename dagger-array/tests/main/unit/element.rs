//! The former unit tests of `src/element.rs` (`unit`'s doc says why they moved).

use dagger_array::{BitOp, IntElement, Scalar};

#[test]
fn shifts_follow_julia() {
    assert_eq!(i32::bit(BitOp::Shl, 1, 3), 8);
    assert_eq!(i32::bit(BitOp::Shl, 1, 40), 0);
    assert_eq!(i32::bit(BitOp::Shr, -8, 40), -1);
    assert_eq!(i32::bit(BitOp::Shr, 8, -1), 16);
    assert_eq!(u8::bit(BitOp::Xor, 0b1100, 0b1010), 0b0110);
    assert_eq!(i16::bit_op(BitOp::And, 6, 3), Some(2));
    assert_eq!(f64::bit_op(BitOp::And, 6.0, 3.0), None);
}
