//! [`Scalar`]: the element types of the linear algebra (f32 and f64), the small trait over
//! faer's real fields that the kernels and algorithms are generic over.

use dagger_array::extend::LinalgElement;
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
}

impl Scalar for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    const EPSILON: f64 = f64::EPSILON;
}

impl Scalar for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    const EPSILON: f64 = f32::EPSILON as f64;
}
