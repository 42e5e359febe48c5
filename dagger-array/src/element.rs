//! [`Element`]: the element types an array can hold — a [`Scalar`] number plus the hooks its
//! block kernels reach: random blocks, block products and the registered kernel entry points
//! of the type. Generic array code bounds on `Element`; the number methods (`NAME`, `arith`,
//! …) come from its supertrait [`Scalar`].
//!
//! The trait is declared here, below the kernel interpreter that calls its hooks; the impls
//! for the ten number types are at the top of the kernel stack, in [`crate::remote`], beside
//! the entry points they hand out.

use crate::block::Block;
use crate::kernel::set::KernelSet;
use crate::scalar::Scalar;

pub use crate::ops::{ArithOp, BitOp};

/// An element type: a plain number that can be stored raw (little-endian) and combined, with
/// the typed hooks of its block kernels.
///
/// ```
/// use dagger_array::{ArithOp, Element, Scalar};
/// fn double<T: Element>(x: T) -> T {
///     T::arith(ArithOp::Add, x, x).unwrap_or(x) // the number methods come with the bound
/// }
/// assert_eq!(double(21i32), 42);
/// assert_eq!(f32::NAME, "f32"); // a concrete type's number methods need `Scalar` in scope
/// assert!(f32::kernels().k0.name.ends_with("k0_f32"));
/// ```
pub trait Element: Scalar {
    /// The registered block kernels of this element type (what a block task runs on any
    /// process of a cluster; see the crate's `remote` module).
    #[doc(hidden)]
    fn kernels() -> KernelSet<Self>;
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
    ) -> dagger_core::Result<Block<Self>>;
    /// `a · b` of two blocks (see [`crate::linalg::matmul_block`]).
    #[doc(hidden)]
    fn matmul(a: &Block<Self>, b: &Block<Self>) -> dagger_core::Result<Block<Self>>;
    /// `c += a · b` (see [`crate::linalg::matmul_acc`]).
    #[doc(hidden)]
    fn matmul_acc(
        c: Block<Self>,
        a: &Block<Self>,
        b: &Block<Self>,
    ) -> dagger_core::Result<Block<Self>>;
    /// `Σ_k a_k · b_kᵀ` (`b` is `a` when `None`; see [`crate::linalg::matmul_nt`]).
    #[doc(hidden)]
    fn matmul_nt(
        a: &[&Block<Self>],
        b: Option<&[&Block<Self>]>,
    ) -> dagger_core::Result<Block<Self>>;
}

/// An integer element type: bit operations and shifts (`& | $ << >>`).
pub trait IntElement: Element {
    /// `a & b`, `a | b`, `a ⊻ b`, `a << b`, `a >> b` with Julia's rules: a shift by at least
    /// the bit width gives 0 (or -1 for `>>` of a negative value); a negative shift count
    /// shifts the other way.
    fn bit(op: BitOp, a: Self, b: Self) -> Self;
}

macro_rules! impl_intel {
    ($($t:ident),*) => {$( paste::paste! {
        impl IntElement for $t {
            fn bit(op: BitOp, a: Self, b: Self) -> Self {
                crate::scalar::[<bit_ $t>](op, a, b)
            }
        }
    })*};
}

impl_intel!(i8, i16, i32, i64, u8, u16, u32, u64);
