//! The tile kernels as registered functions on DArray blocks (for f32 and f64), so that a
//! tiled algorithm over a DArray whose blocks live on worker processes runs each kernel on
//! the worker holding the tile it writes (see
//! [`DArray::update_blocks`](dagger_array::DArray::update_blocks)). A block is a row-major
//! ndarray; the kernels see it through a faer view with its strides, so nothing is copied.
//!
//! A kernel's failure (a pivot that is not positive) fails its task, so the tasks that
//! depend on it fail with `DTaskFailed` naming it and do not run; the algorithm returns the
//! typed error (`NotPositiveDefinite { tile, pivot }`) all the same. The `*_block` bodies
//! return it as a value, for callers outside a task.
//! The [`Scalar`] impls of f32 and f64, which hand out these entry points, are at the top
//! of the kernel stack ([`crate::tile_tasks_qr`]).
//!
//! ```
//! use dagger_linalg::Scalar;
//! use dagger_array::{Blocks, DArray};
//! use dagger_sched::{Context, InOut};
//! let ctx = Context::builder().threads(1).build();
//! let mut a = DArray::<f64>::fill(4.0, &Blocks::from([1, 1]), &[1, 1]).unwrap();
//! let k = f64::tile_kernels();
//! let r = a
//!     .update_blocks(&ctx, |b| ctx.spawn_registered(k.potrf, (InOut(&b[[0, 0]]), true, 0u64, 1u64)))
//!     .unwrap();
//! assert!(r.fetch().unwrap().is_ok());
//! assert_eq!(a.collect_dense(&ctx).unwrap()[[0, 0]], 2.0);
//! ```

use crate::error::{fail_task, not_positive_definite};
use crate::kernels::{gemm_view, potrf_view, syrk_view, trsm_view};
use crate::scalar::Scalar;
use crate::tile::{Diag, Side, Trans, Uplo};
use dagger_array::{BlockMut, BlockRef};
use dagger_core::{Error, Result};
use faer::{MatMut, MatRef};
use ndarray::ArrayD;

/// `[rows, columns]` of a 2-d block.
fn dims(shape: &[usize]) -> Result<(usize, usize)> {
    match *shape {
        [r, c] => Ok((r, c)),
        _ => Err(Error::DimensionMismatch(format!(
            "a tile kernel needs a 2-d block, got shape {shape:?}"
        ))),
    }
}

/// The block as a faer view (made row-major first if it is not).
fn view_mut<T: Scalar>(a: &mut ArrayD<T>) -> Result<MatMut<'_, T>> {
    if !a.is_standard_layout() {
        *a = a.as_standard_layout().into_owned();
    }
    let (r, c) = dims(a.shape())?;
    let s = a
        .as_slice_mut()
        .ok_or_else(|| Error::Argument("a standard-layout block is contiguous".into()))?;
    Ok(MatMut::from_row_major_slice_mut(s, r, c))
}

/// Calls `f` with the block as a faer view.
fn with_view<T: Scalar, R>(a: &ArrayD<T>, f: impl FnOnce(MatRef<'_, T>) -> R) -> Result<R> {
    let (r, c) = dims(a.shape())?;
    let std = a.as_standard_layout();
    let s = std
        .as_slice()
        .ok_or_else(|| Error::Argument("a standard-layout block is contiguous".into()))?;
    Ok(f(MatRef::from_row_major_slice(s, r, c)))
}

fn uplo(lower: bool) -> Uplo {
    if lower {
        Uplo::Lower
    } else {
        Uplo::Upper
    }
}

/// The body of every `potrf_*` entry point.
pub fn potrf_block<T: Scalar>(a: BlockMut<T>, lower: bool, k: u64, b: u64) -> Result<()> {
    let mut a = a;
    potrf_view(view_mut(&mut a)?, uplo(lower))
        .map_err(|p| not_positive_definite(k as usize, b as usize, p))?;
    // The factor's other strict triangle is zero.
    for ((i, j), v) in a
        .view_mut()
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|e| Error::DimensionMismatch(e.to_string()))?
        .indexed_iter_mut()
    {
        if (lower && j > i) || (!lower && i > j) {
            *v = T::of(0.0);
        }
    }
    Ok(())
}

/// `x ← op(a)⁻¹·x` (or `x·op(a)⁻¹`; flags: right side, lower, transposed; `alpha = 1`)
/// with the diagonal `diag`: the body of every `trsm_*` (non-unit) and `trsm_unit_*`
/// entry point.
pub fn trsm_diag_block<T: Scalar>(
    x: BlockMut<T>,
    a: BlockRef<T>,
    [right, lower, trans]: [bool; 3],
    diag: Diag,
) -> Result<()> {
    let mut x = x;
    let side = if right { Side::Right } else { Side::Left };
    let xv = view_mut(&mut x)?;
    with_view(&a, |av| {
        trsm_view(
            xv,
            av,
            side,
            uplo(lower),
            Trans::from_bool(trans),
            diag,
            T::of(1.0),
        )
    })?
}

/// The body of every `syrk_*` entry point (`c ← c − op(a)·op(a)ᵀ`).
pub fn syrk_block<T: Scalar>(
    c: BlockMut<T>,
    a: BlockRef<T>,
    trans: bool,
    lower: bool,
) -> Result<()> {
    let mut c = c;
    let cv = view_mut(&mut c)?;
    with_view(&a, |av| {
        syrk_view(
            cv,
            av,
            Trans::from_bool(trans),
            uplo(lower),
            T::of(-1.0),
            T::of(1.0),
        )
    })?
}

/// The body of every `gemm_*` entry point (`c ← c − op(a)·op(b)`).
pub fn gemm_block<T: Scalar>(
    c: BlockMut<T>,
    a: BlockRef<T>,
    ta: bool,
    b: BlockRef<T>,
    tb: bool,
) -> Result<()> {
    let mut c = c;
    let cv = view_mut(&mut c)?;
    with_view(&a, |av| {
        with_view(&b, |bv| {
            gemm_view(
                cv,
                av,
                Trans::from_bool(ta),
                bv,
                Trans::from_bool(tb),
                T::of(-1.0),
                T::of(1.0),
            )
        })
    })??
}

/// The body of every `zero_*` entry point.
pub fn zero_block<T: Scalar>(c: BlockMut<T>) -> Result<()> {
    let mut c = c;
    c.fill(T::of(0.0));
    Ok(())
}

macro_rules! tile_tasks {
    ($($t:ident),*) => {$(dagger_sched::__private::paste! {
        dagger_sched::register! {
            #[doc = concat!("`potrf` on a `", stringify!($t), "` block.")]
            pub fn [<potrf_ $t>](a: BlockMut<$t>, lower: bool, k: u64, b: u64) -> Result<()> {
                fail_task(potrf_block(a, lower, k, b))
            }
            #[doc = concat!("`trsm` on a `", stringify!($t), "` block.")]
            pub fn [<trsm_ $t>](x: BlockMut<$t>, a: BlockRef<$t>, right: bool, lower: bool, trans: bool) -> Result<()> {
                fail_task(trsm_diag_block(x, a, [right, lower, trans], Diag::NonUnit))
            }
            #[doc = concat!("`syrk` on a `", stringify!($t), "` block.")]
            pub fn [<syrk_ $t>](c: BlockMut<$t>, a: BlockRef<$t>, trans: bool, lower: bool) -> Result<()> {
                fail_task(syrk_block(c, a, trans, lower))
            }
            #[doc = concat!("`gemm` on a `", stringify!($t), "` block.")]
            pub fn [<gemm_ $t>](c: BlockMut<$t>, a: BlockRef<$t>, ta: bool, b: BlockRef<$t>, tb: bool) -> Result<()> {
                fail_task(gemm_block(c, a, ta, b, tb))
            }
            #[doc = concat!("Zeroes a `", stringify!($t), "` block.")]
            pub fn [<zero_ $t>](c: BlockMut<$t>) -> Result<()> { fail_task(zero_block(c)) }
        }

    })*};
}

tile_tasks!(f64, f32);
