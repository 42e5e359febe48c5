//! [`Element`]: the plain number types an array can hold, with their arithmetic as Julia
//! defines it (integers wrap; integer division by zero is an error) and their byte encoding.

use num_traits::{Bounded, NumCast, One, Zero};
use std::fmt;

/// An element-wise arithmetic operation (`.+ .- .* ./ .% .^ .\`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ArithOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b` (element-wise)
    Mul,
    /// `a / b`
    Div,
    /// `a % b` (remainder with the sign of `a`, as Julia's `%`/`rem`)
    Rem,
    /// `a ^ b`
    Pow,
    /// `a \ b` = `b / a`
    LeftDiv,
}

/// An element type: a plain number that can be stored raw (little-endian) and combined.
///
/// ```
/// use dagger_array::{ArithOp, Element};
/// assert_eq!(i32::arith(ArithOp::Add, i32::MAX, 1), Some(i32::MIN)); // wraps, as Julia
/// assert_eq!(i64::arith(ArithOp::Div, 1, 0), None);                   // DivideError
/// assert_eq!(f64::arith(ArithOp::LeftDiv, 2.0, 1.0), Some(0.5));
/// assert_eq!(f32::NAME, "f32");
/// ```
pub trait Element:
    Copy
    + Send
    + Sync
    + 'static
    + fmt::Debug
    + fmt::Display
    + PartialEq
    + PartialOrd
    + Default
    + Zero
    + One
    + NumCast
    + Bounded
    + serde::Serialize
    + serde::de::DeserializeOwned
{
    /// The type's name in metadata and summaries (`"f64"`, `"i32"` …).
    const NAME: &'static str;
    /// Bytes per element in the raw encoding.
    const BYTES: usize;
    /// Whether this is a floating-point type.
    const FLOAT: bool;
    /// Appends the little-endian bytes of `self`.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads a value from exactly [`Self::BYTES`] little-endian bytes (`None` on a wrong length).
    fn read_le(bytes: &[u8]) -> Option<Self>;
    /// `a op b`; `None` where Julia raises (integer division by zero, negative integer power).
    fn arith(op: ArithOp, a: Self, b: Self) -> Option<Self>;
    /// Whether the value is NaN (never for integers); reductions propagate NaN like Julia.
    #[allow(clippy::eq_op)] // NaN is the only value unequal to itself
    fn is_nan(self) -> bool {
        self != self
    }
    /// The elements' little-endian bytes without copying, where the memory layout already
    /// is that (`None`: encode element by element with [`Element::write_le`]).
    #[doc(hidden)]
    fn le_bytes(xs: &[Self]) -> Option<&[u8]>;
    /// Elements from little-endian bytes in one copy (`None` on a length that is not a
    /// multiple of [`Element::BYTES`]).
    #[doc(hidden)]
    fn from_le_bytes_vec(bytes: &[u8]) -> Option<Vec<Self>>;
    /// The registered block kernels of this element type (what a block task runs on any
    /// process of a cluster; see [`crate::remote`]).
    #[doc(hidden)]
    fn kernels() -> crate::remote::KernelSet<Self>;
    /// `op(x)` for a float type; `None` for integers (the kernels say so as an error).
    #[doc(hidden)]
    fn unary(_op: crate::UnaryOp, _x: Self) -> Option<Self> {
        None
    }
    /// `a op b` for an integer type; `None` for floats.
    #[doc(hidden)]
    fn bit_op(_op: BitOp, _a: Self, _b: Self) -> Option<Self> {
        None
    }
    /// Uniform random values of this type (see [`crate::create::rand_block`]).
    #[doc(hidden)]
    fn rand_block(shape: &[usize], seed: u64, block: usize) -> ndarray::ArrayD<Self>;
    /// Standard normal values (floats; `None` for integers).
    #[doc(hidden)]
    fn randn_block(_shape: &[usize], _seed: u64, _block: usize) -> Option<ndarray::ArrayD<Self>> {
        None
    }
    /// A random sparse block (see [`crate::create::sprand_block`]).
    #[doc(hidden)]
    fn sprand_block(
        shape: &[usize],
        density: f64,
        seed: u64,
        block: usize,
    ) -> dagger_core::Result<crate::Block<Self>>;
    /// `a · b` of two blocks (see [`crate::linalg::matmul_block`]).
    #[doc(hidden)]
    fn matmul(
        a: &crate::Block<Self>,
        b: &crate::Block<Self>,
    ) -> dagger_core::Result<crate::Block<Self>>;
    /// `c += a · b` (see [`crate::linalg::matmul_acc`]).
    #[doc(hidden)]
    fn matmul_acc(
        c: crate::Block<Self>,
        a: &crate::Block<Self>,
        b: &crate::Block<Self>,
    ) -> dagger_core::Result<crate::Block<Self>>;
}

/// The methods every element type implements the same way (the kernels' typed hooks).
macro_rules! common_hooks {
    ($t:ident) => {
        fn le_bytes(xs: &[Self]) -> Option<&[u8]> {
            // In memory, the elements are their little-endian bytes on little-endian targets.
            cfg!(target_endian = "little").then(|| bytemuck::cast_slice(xs))
        }
        fn from_le_bytes_vec(bytes: &[u8]) -> Option<Vec<Self>> {
            #[allow(clippy::modulo_one)] // one-byte types: every length fits
            if bytes.len() % Self::BYTES != 0 {
                return None;
            }
            if cfg!(target_endian = "little") {
                // One copy into aligned storage.
                Some(bytemuck::pod_collect_to_vec(bytes))
            } else {
                bytes.chunks_exact(Self::BYTES).map(Self::read_le).collect()
            }
        }
        fn kernels() -> crate::remote::KernelSet<Self> {
            crate::remote::kernel_set!($t)
        }
        fn rand_block(shape: &[usize], seed: u64, block: usize) -> ndarray::ArrayD<Self> {
            crate::create::rand_block(shape, seed, block)
        }
        fn sprand_block(
            shape: &[usize],
            density: f64,
            seed: u64,
            block: usize,
        ) -> dagger_core::Result<crate::Block<Self>> {
            crate::create::sprand_block(shape, density, seed, block)
        }
        fn matmul(
            a: &crate::Block<Self>,
            b: &crate::Block<Self>,
        ) -> dagger_core::Result<crate::Block<Self>> {
            crate::linalg::matmul_block(a, b)
        }
        fn matmul_acc(
            c: crate::Block<Self>,
            a: &crate::Block<Self>,
            b: &crate::Block<Self>,
        ) -> dagger_core::Result<crate::Block<Self>> {
            crate::linalg::matmul_acc(c, a, b)
        }
    };
}

macro_rules! impl_float {
    ($($t:ident),*) => {$(
        impl Element for $t {
            const NAME: &'static str = stringify!($t);
            const BYTES: usize = std::mem::size_of::<$t>();
            const FLOAT: bool = true;
            common_hooks!($t);
            fn unary(op: crate::UnaryOp, x: Self) -> Option<Self> {
                Some(op.apply(x))
            }
            fn randn_block(shape: &[usize], seed: u64, block: usize) -> Option<ndarray::ArrayD<Self>> {
                Some(crate::create::randn_block(shape, seed, block))
            }
            fn write_le(self, out: &mut Vec<u8>) { out.extend_from_slice(&self.to_le_bytes()); }
            fn read_le(bytes: &[u8]) -> Option<Self> { Some(<$t>::from_le_bytes(bytes.try_into().ok()?)) }
            fn arith(op: ArithOp, a: Self, b: Self) -> Option<Self> {
                Some(match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    ArithOp::Div => a / b,
                    ArithOp::Rem => a % b,
                    ArithOp::Pow => a.powf(b),
                    ArithOp::LeftDiv => b / a,
                })
            }
        }
    )*};
}

macro_rules! impl_int {
    ($($t:ident),*) => {$(
        impl Element for $t {
            const NAME: &'static str = stringify!($t);
            const BYTES: usize = std::mem::size_of::<$t>();
            const FLOAT: bool = false;
            common_hooks!($t);
            fn bit_op(op: BitOp, a: Self, b: Self) -> Option<Self> {
                Some(<$t as IntElement>::bit(op, a, b))
            }
            fn write_le(self, out: &mut Vec<u8>) { out.extend_from_slice(&self.to_le_bytes()); }
            fn read_le(bytes: &[u8]) -> Option<Self> { Some(<$t>::from_le_bytes(bytes.try_into().ok()?)) }
            #[allow(unused_comparisons)]
            fn arith(op: ArithOp, a: Self, b: Self) -> Option<Self> {
                match op {
                    ArithOp::Add => Some(a.wrapping_add(b)),
                    ArithOp::Sub => Some(a.wrapping_sub(b)),
                    ArithOp::Mul => Some(a.wrapping_mul(b)),
                    // Julia's integer `/` gives a float; keeping the element type, we truncate
                    // like `div`, and division by zero is Julia's DivideError.
                    ArithOp::Div => if b == 0 { None } else { Some(a.wrapping_div(b)) },
                    ArithOp::Rem => if b == 0 { None } else { Some(a.wrapping_rem(b)) },
                    ArithOp::LeftDiv => if a == 0 { None } else { Some(b.wrapping_div(a)) },
                    ArithOp::Pow => {
                        if b < 0 {
                            // Only ±1 have integer reciprocals; Julia raises for the rest.
                            if a == 1 { Some(1) }
                            else if a == 0 { None }
                            else if a.wrapping_add(1) == 0 { Some(if b % 2 == 0 { 1 } else { a }) }
                            else { None }
                        } else {
                            let e = u32::try_from(b).unwrap_or(u32::MAX);
                            Some(a.wrapping_pow(e))
                        }
                    }
                }
            }
        }
    )*};
}

impl_float!(f32, f64);
impl_int!(i8, i16, i32, i64, u8, u16, u32, u64);

/// An integer element type: bit operations and shifts (`& | $ << >>`).
pub trait IntElement: Element {
    /// `a & b`, `a | b`, `a ⊻ b`, `a << b`, `a >> b` with Julia's rules: a shift by at least
    /// the bit width gives 0 (or -1 for `>>` of a negative value); a negative shift count
    /// shifts the other way.
    fn bit(op: BitOp, a: Self, b: Self) -> Self;
}

/// An element-wise bit operation on integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BitOp {
    /// `a & b`
    And,
    /// `a | b`
    Or,
    /// `a ⊻ b` (Julia's old `$`)
    Xor,
    /// `a << b`
    Shl,
    /// `a >> b` (arithmetic for signed types)
    Shr,
}

macro_rules! impl_intel {
    ($($t:ident),*) => {$(
        impl IntElement for $t {
            #[allow(unused_comparisons)]
            fn bit(op: BitOp, a: Self, b: Self) -> Self {
                let bits = <$t>::BITS as i128;
                let shift = |left: bool, n: i128| -> Self {
                    let (left, n) = if n < 0 { (!left, -n) } else { (left, n) };
                    if n >= bits {
                        if !left && a < 0 { !0 } else { 0 }
                    } else if left {
                        a << n as u32
                    } else {
                        a >> n as u32
                    }
                };
                match op {
                    BitOp::And => a & b,
                    BitOp::Or => a | b,
                    BitOp::Xor => a ^ b,
                    BitOp::Shl => shift(true, b as i128),
                    BitOp::Shr => shift(false, b as i128),
                }
            }
        }
    )*};
}

impl_intel!(i8, i16, i32, i64, u8, u16, u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_follow_julia() {
        assert_eq!(i32::bit(BitOp::Shl, 1, 3), 8);
        assert_eq!(i32::bit(BitOp::Shl, 1, 40), 0);
        assert_eq!(i32::bit(BitOp::Shr, -8, 40), -1);
        assert_eq!(i32::bit(BitOp::Shr, 8, -1), 16);
        assert_eq!(u8::bit(BitOp::Xor, 0b1100, 0b1010), 0b0110);
    }

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
}
