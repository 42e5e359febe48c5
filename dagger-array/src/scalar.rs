//! [`Scalar`]: the plain number types an array can hold, with their arithmetic as Julia
//! defines it (integers wrap; integer division by zero is an error) and their byte encoding.
//!
//! This is the bottom of the crate: it knows numbers and nothing else, so blocks, block
//! math and the kernel vocabulary can all be generic over it. [`Element`](crate::Element)
//! extends it with the hooks that reach the registered kernels (random blocks, products,
//! the per-type kernel entry points).

use crate::ops::{ArithOp, BitOp};
use crate::unary_op::UnaryOp;
use num_traits::{Bounded, NumCast, One, Zero};
use std::fmt;

/// A number type of an array: stored raw (little-endian) and combined element by element.
///
/// [`Element`](crate::Element) is the trait to bound on in code that builds arrays; it
/// extends this one. Generic code bounded on `Element` calls these methods directly; code
/// that names a concrete type (`i32::arith`) needs `Scalar` in scope.
///
/// ```
/// use dagger_array::{ArithOp, Scalar};
/// assert_eq!(i32::arith(ArithOp::Add, i32::MAX, 1), Some(i32::MIN)); // wraps, as Julia
/// assert_eq!(i64::arith(ArithOp::Div, 1, 0), None);                   // DivideError
/// assert_eq!(f64::arith(ArithOp::LeftDiv, 2.0, 1.0), Some(0.5));
/// assert_eq!(f32::NAME, "f32");
/// ```
pub trait Scalar:
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
    /// is that (`None`: encode element by element with [`Scalar::write_le`]).
    #[doc(hidden)]
    fn le_bytes(xs: &[Self]) -> Option<&[u8]>;
    /// Elements from little-endian bytes in one copy (`None` on a length that is not a
    /// multiple of [`Scalar::BYTES`]).
    #[doc(hidden)]
    fn from_le_bytes_vec(bytes: &[u8]) -> Option<Vec<Self>>;
    /// `op(x)` for a float type; `None` for integers (the kernels say so as an error).
    #[doc(hidden)]
    fn unary(_op: UnaryOp, _x: Self) -> Option<Self> {
        None
    }
    /// `a op b` for an integer type; `None` for floats.
    #[doc(hidden)]
    fn bit_op(_op: BitOp, _a: Self, _b: Self) -> Option<Self> {
        None
    }
}

/// The byte-encoding methods, the same for every type.
macro_rules! le_methods {
    ($t:ident) => {
        fn write_le(self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_le_bytes());
        }
        fn read_le(bytes: &[u8]) -> Option<Self> {
            Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
        }
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
    };
}

macro_rules! impl_float {
    ($($t:ident),*) => {$(
        impl Scalar for $t {
            const NAME: &'static str = stringify!($t);
            const BYTES: usize = std::mem::size_of::<$t>();
            const FLOAT: bool = true;
            le_methods!($t);
            fn unary(op: UnaryOp, x: Self) -> Option<Self> {
                Some(op.apply(x))
            }
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
    ($($t:ident),*) => {$( paste::paste! {
        impl Scalar for $t {
            const NAME: &'static str = stringify!($t);
            const BYTES: usize = std::mem::size_of::<$t>();
            const FLOAT: bool = false;
            le_methods!($t);
            fn bit_op(op: BitOp, a: Self, b: Self) -> Option<Self> {
                Some([<bit_ $t>](op, a, b))
            }
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

        /// `a op b` with Julia's rules: a shift by at least the bit width gives 0 (or -1 for
        /// `>>` of a negative value); a negative shift count shifts the other way.
        #[allow(unused_comparisons)]
        pub(crate) fn [<bit_ $t>](op: BitOp, a: $t, b: $t) -> $t {
            let bits = <$t>::BITS as i128;
            let shift = |left: bool, n: i128| -> $t {
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
    })*};
}

impl_float!(f32, f64);
impl_int!(i8, i16, i32, i64, u8, u16, u32, u64);
