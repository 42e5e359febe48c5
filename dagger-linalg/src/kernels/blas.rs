//! BLAS-3 tile kernels: `gemm` (every transpose combination, any `alpha`/`beta`), `syrk` on
//! one triangle, `trsm` (left/right, upper/lower, transposed, unit diagonal), and `scale`.
//! Each is a plain function on tiles that runs faer's SIMD kernels on one thread
//! (`Par::Seq`): the scheduler runs tiles in parallel.

use crate::scalar::Scalar;
use crate::tile::{effective, Diag, Side, Tile, Trans, Uplo};
use dagger_core::{Error, Result};
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::triangular_solve as ts;
use faer::{Accum, MatMut, MatRef, Par};

fn mismatch(what: &str, shapes: &[(usize, usize)]) -> Error {
    Error::DimensionMismatch(format!("{what}: operand shapes {shapes:?} do not agree"))
}

/// `op(a)`.
fn op<T>(a: MatRef<'_, T>, t: Trans) -> MatRef<'_, T> {
    if t.is_yes() {
        a.transpose()
    } else {
        a
    }
}

/// Multiplies every element of `c` (in `part`, or all of it) by `beta`.
fn scale_part<T: Scalar>(c: MatMut<'_, T>, beta: T, part: Option<Uplo>) {
    let mut c = c;
    let (m, n) = (c.nrows(), c.ncols());
    for j in 0..n {
        let rows = match part {
            None => 0..m,
            Some(Uplo::Lower) => j.min(m)..m,
            Some(Uplo::Upper) => 0..(j + 1).min(m),
        };
        for i in rows {
            c[(i, j)] *= beta;
        }
    }
}

/// `c ← beta·c` (`beta = 0` clears, even NaNs).
pub fn scale<T: Scalar>(c: &mut Tile<T>, beta: T) {
    scale_view(c.as_mut(), beta)
}

/// [`scale`] on a view.
pub fn scale_view<T: Scalar>(c: MatMut<'_, T>, beta: T) {
    let mut c = c;
    if beta == T::of(0.0) {
        for j in 0..c.ncols() {
            for i in 0..c.nrows() {
                c[(i, j)] = T::of(0.0);
            }
        }
    } else if beta != T::of(1.0) {
        scale_part(c, beta, None);
    }
}

/// How `beta` turns into faer's accumulation mode (scaling `c` first when it has to).
fn accum<T: Scalar>(c: MatMut<'_, T>, beta: T, part: Option<Uplo>) -> Accum {
    if beta == T::of(0.0) {
        Accum::Replace
    } else {
        if beta != T::of(1.0) {
            scale_part(c, beta, part);
        }
        Accum::Add
    }
}

/// `c ← beta·c + alpha·op(a)·op(b)`.
///
/// ```
/// use dagger_linalg::kernels::gemm;
/// use dagger_linalg::{Tile, Trans};
/// let a = Tile::<f64>::from_fn(2, 3, |i, j| (i + j) as f64);
/// let mut c = Tile::<f64>::identity(2, 2);
/// gemm(&mut c, &a, Trans::No, &a, Trans::Yes, 1.0, 2.0).unwrap(); // c = 2I + a·aᵀ
/// assert_eq!(c[(0, 0)], 2.0 + 0.0 + 1.0 + 4.0);
/// assert_eq!(c[(0, 1)], 0.0 + 2.0 + 6.0);
/// ```
pub fn gemm<T: Scalar>(
    c: &mut Tile<T>,
    a: &Tile<T>,
    ta: Trans,
    b: &Tile<T>,
    tb: Trans,
    alpha: T,
    beta: T,
) -> Result<()> {
    gemm_view(c.as_mut(), a.as_ref(), ta, b.as_ref(), tb, alpha, beta)
}

/// [`gemm`] on views (of any strides: a row-major array block too).
pub fn gemm_view<T: Scalar>(
    c: MatMut<'_, T>,
    a: MatRef<'_, T>,
    ta: Trans,
    b: MatRef<'_, T>,
    tb: Trans,
    alpha: T,
    beta: T,
) -> Result<()> {
    let mut c = c;
    let (a, b) = (op(a, ta), op(b, tb));
    if a.ncols() != b.nrows() || c.nrows() != a.nrows() || c.ncols() != b.ncols() {
        let s = [c.shape(), a.shape(), b.shape()];
        return Err(mismatch("gemm (c, op(a), op(b))", &s));
    }
    let acc = accum(c.as_mut(), beta, None);
    faer::linalg::matmul::matmul(c.as_mut(), acc, a, b, alpha, Par::Seq);
    Ok(())
}

/// `c ← beta·c + alpha·op(a)·op(a)ᵀ` on the `uplo` triangle of the square `c` only (the
/// other strict triangle is not touched): `op(a)·op(a)ᵀ` is `a·aᵀ` for `Trans::No` and
/// `aᵀ·a` for `Trans::Yes`.
///
/// ```
/// use dagger_linalg::kernels::syrk;
/// use dagger_linalg::{Tile, Trans, Uplo};
/// let a = Tile::<f64>::from_fn(2, 2, |i, j| (1 + i + j) as f64);
/// let mut c = Tile::<f64>::zeros(2, 2);
/// syrk(&mut c, &a, Trans::No, Uplo::Lower, 1.0, 0.0).unwrap();
/// assert_eq!((c[(0, 0)], c[(1, 0)], c[(1, 1)], c[(0, 1)]), (5.0, 8.0, 13.0, 0.0));
/// ```
pub fn syrk<T: Scalar>(
    c: &mut Tile<T>,
    a: &Tile<T>,
    trans: Trans,
    uplo: Uplo,
    alpha: T,
    beta: T,
) -> Result<()> {
    syrk_view(c.as_mut(), a.as_ref(), trans, uplo, alpha, beta)
}

/// [`syrk`] on views.
pub fn syrk_view<T: Scalar>(
    c: MatMut<'_, T>,
    a: MatRef<'_, T>,
    trans: Trans,
    uplo: Uplo,
    alpha: T,
    beta: T,
) -> Result<()> {
    let mut c = c;
    let a = op(a, trans);
    if c.nrows() != c.ncols() || c.nrows() != a.nrows() {
        return Err(mismatch("syrk (c, op(a))", &[c.shape(), a.shape()]));
    }
    let acc = accum(c.as_mut(), beta, Some(uplo));
    let dst = match uplo {
        Uplo::Lower => BlockStructure::TriangularLower,
        Uplo::Upper => BlockStructure::TriangularUpper,
    };
    let rect = BlockStructure::Rectangular;
    triangular::matmul(
        c.as_mut(),
        dst,
        acc,
        a,
        rect,
        a.transpose(),
        rect,
        alpha,
        Par::Seq,
    );
    Ok(())
}

/// A triangular solve in place: `b ← alpha·op(a)⁻¹·b` ([`Side::Left`]) or
/// `b ← alpha·b·op(a)⁻¹` ([`Side::Right`]), where `a` is square and only its `uplo`
/// triangle is read (its diagonal too unless [`Diag::Unit`]). A rectangular `op(a)` is
/// allowed: its leading square (of the edge that `b` needs) is the triangular matrix.
///
/// ```
/// use dagger_linalg::kernels::trsm;
/// use dagger_linalg::{Diag, Side, Tile, Trans, Uplo};
/// let l = Tile::<f64>::from_fn(2, 2, |i, j| if j <= i { (1 + i + j) as f64 } else { 9.0 });
/// let mut b = Tile::<f64>::from_fn(2, 1, |i, _| [1.0, 8.0][i]);
/// trsm(&mut b, &l, Side::Left, Uplo::Lower, Trans::No, Diag::NonUnit, 1.0).unwrap();
/// assert_eq!((b[(0, 0)], b[(1, 0)]), (1.0, 2.0)); // [1 0; 2 3] x = [1; 8]
/// ```
pub fn trsm<T: Scalar>(
    b: &mut Tile<T>,
    a: &Tile<T>,
    side: Side,
    uplo: Uplo,
    trans: Trans,
    diag: Diag,
    alpha: T,
) -> Result<()> {
    trsm_view(b.as_mut(), a.as_ref(), side, uplo, trans, diag, alpha)
}

/// [`trsm`] on views.
pub fn trsm_view<T: Scalar>(
    b: MatMut<'_, T>,
    a: MatRef<'_, T>,
    side: Side,
    uplo: Uplo,
    trans: Trans,
    diag: Diag,
    alpha: T,
) -> Result<()> {
    let mut b = b;
    let k = match side {
        Side::Left => b.nrows(),
        Side::Right => b.ncols(),
    };
    if a.nrows() < k || a.ncols() < k {
        return Err(mismatch("trsm (b, a)", &[b.shape(), a.shape()]));
    }
    scale_view(b.as_mut(), alpha);
    let a = op(a, trans).get(..k, ..k);
    // A right solve X·op(A) = B is the left solve op(A)ᵀ·Xᵀ = Bᵀ on transposed views.
    let (tri, rhs, tri_uplo) = match side {
        Side::Left => (a, b.as_mut(), effective(uplo, trans)),
        Side::Right => (
            a.transpose(),
            b.as_mut().transpose_mut(),
            effective(uplo, trans).flip(),
        ),
    };
    match (tri_uplo, diag) {
        (Uplo::Lower, Diag::NonUnit) => ts::solve_lower_triangular_in_place(tri, rhs, Par::Seq),
        (Uplo::Lower, Diag::Unit) => ts::solve_unit_lower_triangular_in_place(tri, rhs, Par::Seq),
        (Uplo::Upper, Diag::NonUnit) => ts::solve_upper_triangular_in_place(tri, rhs, Par::Seq),
        (Uplo::Upper, Diag::Unit) => ts::solve_unit_upper_triangular_in_place(tri, rhs, Par::Seq),
    }
    Ok(())
}
