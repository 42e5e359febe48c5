//! [`Scalar`]: the element types of the linear algebra (f32 and f64), the small trait over
//! faer's real fields that the kernels and algorithms are generic over.

use dagger_array::extend::LinalgElement;
use dagger_array::{BlockMut, BlockRef};
use dagger_core::Result;
use dagger_sched::Registered;
use faer::traits::RealField;
use std::fmt::Debug;

/// A real floating-point element: what faer computes with and what a `DArray` holds.
pub trait Scalar: RealField + LinalgElement + Copy + Debug + Send + Sync + 'static {
    /// The value of an `f64` in this type (rounded).
    fn of(x: f64) -> Self;
    /// This value as an `f64`.
    fn as_f64(self) -> f64;
    /// The machine epsilon, as an `f64`.
    const EPSILON: f64;
    /// The tile kernels of this type as registered functions on DArray blocks (they run
    /// on the worker holding the block they write).
    fn tile_kernels() -> TileKernels<Self>;
}

/// `trsm(x, a, right, lower, transposed)` as a registered function.
pub type TrsmTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, bool, bool), Result<()>>;
/// `syrk(c, a, transposed, lower)` as a registered function.
pub type SyrkTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, bool), Result<()>>;
/// `gemm(c, a, ta, b, tb)` as a registered function.
pub type GemmTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, BlockRef<T>, bool), Result<()>>;

/// The tile kernels of one element type as registered functions on DArray blocks (see
/// [`crate::tile_tasks`]); flags are plain `bool`s (`lower`, transposed, right side).
#[derive(Debug)]
pub struct TileKernels<T: Scalar> {
    /// `potrf(a, lower, k, b)`: the Cholesky factor of diagonal tile `k` (tiles of edge
    /// `b`) in place, the other strict triangle zeroed.
    pub potrf: Registered<(BlockMut<T>, bool, u64, u64), Result<()>>,
    /// `trsm(x, a, right, lower, transposed)`: `x ← op(a)⁻¹·x` or `x·op(a)⁻¹`.
    pub trsm: TrsmTask<T>,
    /// `syrk(c, a, transposed, lower)`: `c ← c − op(a)·op(a)ᵀ` on one triangle.
    pub syrk: SyrkTask<T>,
    /// `gemm(c, a, ta, b, tb)`: `c ← c − op(a)·op(b)`.
    pub gemm: GemmTask<T>,
    /// `zero(c)`: every element 0.
    pub zero: Registered<(BlockMut<T>,), Result<()>>,
}

impl<T: Scalar> Clone for TileKernels<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Scalar> Copy for TileKernels<T> {}
