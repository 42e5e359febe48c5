//! LAPACK-style tile kernels: Cholesky (`potrf`), LU with partial pivoting (`getrf`) and
//! without (`getrf_nopiv`), Householder QR (`geqrf`) and the application of its `Q`
//! (`apply_q`), row permutations, and norms. Failures return the pivot's index in the tile;
//! the tiled algorithms turn it into a typed error naming the tile.

use crate::scalar::Scalar;
use crate::tile::{Tile, Uplo};
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor as llt;
use faer::linalg::householder as hh;
use faer::linalg::lu::partial_pivoting::factor as plu;
use faer::linalg::matmul::matmul;
use faer::linalg::qr::no_pivoting::factor as qr;
use faer::linalg::triangular_solve as ts;
use faer::prelude::*;
use faer::{Accum, Conj, MatMut, Par};

/// Runs `f` with a scratch stack of `req`.
fn with_stack<R>(req: StackReq, f: impl FnOnce(&mut MemStack) -> R) -> R {
    let mut mem = MemBuffer::new(req);
    f(MemStack::new(&mut mem))
}

/// The Cholesky factor of the square tile `a` in place, reading and writing its `uplo`
/// triangle: `a = L·Lᵀ` (lower) or `a = Uᵀ·U` (upper). The other strict triangle is left
/// as it was. `Err(p)`: pivot `p` is not positive (the leading minor of order `p + 1` is
/// not positive definite).
///
/// ```
/// use dagger_linalg::kernels::potrf;
/// use dagger_linalg::{Tile, Uplo};
/// let mut a = Tile::<f64>::from_fn(2, 2, |i, j| [[4.0, 2.0], [2.0, 5.0]][i][j]);
/// potrf(&mut a, Uplo::Lower).unwrap();
/// assert_eq!((a[(0, 0)], a[(1, 0)], a[(1, 1)]), (2.0, 1.0, 2.0));
/// let mut b = Tile::<f64>::from_fn(2, 2, |i, j| [[1.0, 2.0], [2.0, 1.0]][i][j]);
/// assert_eq!(potrf(&mut b, Uplo::Upper), Err(1));
/// ```
pub fn potrf<T: Scalar>(a: &mut Tile<T>, uplo: Uplo) -> Result<(), usize> {
    potrf_view(a.as_mut(), uplo)
}

/// [`potrf`] on a view.
pub fn potrf_view<T: Scalar>(a: faer::MatMut<'_, T>, uplo: Uplo) -> Result<(), usize> {
    let n = a.nrows();
    if n != a.ncols() {
        return Err(0);
    }
    // The upper factor of A is the lower factor of Aᵀ, on a transposed view.
    let view = match uplo {
        Uplo::Lower => a,
        Uplo::Upper => a.transpose_mut(),
    };
    let req = llt::cholesky_in_place_scratch::<T>(n, Par::Seq, Default::default());
    let res = with_stack(req, |st| {
        llt::cholesky_in_place(view, Default::default(), Par::Seq, st, Default::default())
    });
    match res {
        Ok(_) => Ok(()),
        Err(llt::LltError::NonPositivePivot { index }) => Err(index),
    }
}

/// The first exactly zero entry on the diagonal of `a` (over `min(m, n)`).
fn zero_pivot<T: Scalar>(a: MatRef<'_, T>) -> Option<usize> {
    (0..a.nrows().min(a.ncols())).find(|&i| a[(i, i)] == T::of(0.0))
}

/// LU with partial (row) pivoting in place: `P·a = L·U` with `L` unit lower (below the
/// diagonal) and `U` upper. Returns the row permutation: row `i` of `P·a` is row
/// `perm[i]` of `a`. `Err(p)`: pivot `p` is exactly zero (the matrix is singular).
///
/// ```
/// use dagger_linalg::kernels::getrf;
/// use dagger_linalg::Tile;
/// let mut a = Tile::<f64>::from_fn(2, 2, |i, j| [[1.0, 2.0], [3.0, 4.0]][i][j]);
/// assert_eq!(getrf(&mut a).unwrap(), vec![1, 0]); // the larger pivot, 3, comes first
/// let mut s = Tile::<f64>::from_fn(2, 2, |i, j| [[1.0, 2.0], [2.0, 4.0]][i][j]);
/// assert_eq!(getrf(&mut s), Err(1));
/// ```
pub fn getrf<T: Scalar>(a: &mut Tile<T>) -> Result<Vec<usize>, usize> {
    let (m, n) = a.shape();
    let mut perm = vec![0usize; m];
    let mut inv = vec![0usize; m];
    let req = plu::lu_in_place_scratch::<usize, T>(m, n, Par::Seq, Default::default());
    with_stack(req, |st| {
        plu::lu_in_place(
            a.as_mut(),
            &mut perm,
            &mut inv,
            Par::Seq,
            st,
            Default::default(),
        );
    });
    match zero_pivot(a.as_ref()) {
        Some(p) => Err(p),
        None => Ok(perm),
    }
}

/// LU without pivoting in place, `a = L·U` (recursive, blocked through faer's triangular
/// solve and product). `Err(p)`: pivot `p` is exactly zero.
///
/// ```
/// use dagger_linalg::kernels::getrf_nopiv;
/// use dagger_linalg::Tile;
/// let mut a = Tile::<f64>::from_fn(2, 2, |i, j| [[2.0, 1.0], [4.0, 5.0]][i][j]);
/// getrf_nopiv(&mut a).unwrap();
/// assert_eq!((a[(1, 0)], a[(1, 1)]), (2.0, 3.0));
/// ```
pub fn getrf_nopiv<T: Scalar>(a: &mut Tile<T>) -> Result<(), usize> {
    nopiv(a.as_mut(), 0)
}

fn nopiv<T: Scalar>(a: MatMut<'_, T>, offset: usize) -> Result<(), usize> {
    let mut a = a;
    let (m, n) = a.shape();
    let k = m.min(n);
    if k <= 16 {
        for j in 0..k {
            let p = a[(j, j)];
            if p == T::of(0.0) {
                return Err(offset + j);
            }
            for i in j + 1..m {
                a[(i, j)] /= p;
            }
            for c in j + 1..n {
                let u = a[(j, c)];
                for i in j + 1..m {
                    let l = a[(i, j)];
                    a[(i, c)] -= l * u;
                }
            }
        }
        return Ok(());
    }
    let h = k / 2;
    let (mut left, right) = a.split_at_col_mut(h);
    nopiv(left.rb_mut(), offset)?;
    let (l11, l21) = left.rb().split_at_row(h);
    let (mut a12, mut a22) = right.split_at_row_mut(h);
    ts::solve_unit_lower_triangular_in_place(l11, a12.rb_mut(), Par::Seq);
    matmul(
        a22.rb_mut(),
        Accum::Add,
        l21,
        a12.rb(),
        T::of(-1.0),
        Par::Seq,
    );
    nopiv(a22, offset + h)
}

/// The Householder factor of a QR factorization: the reflectors' block coefficients `t`
/// (faer's blocked compact-WY form); the reflectors themselves are below the diagonal of
/// the factored matrix.
pub type HouseholderFactor<T> = Tile<T>;

/// The rows of the block factor [`geqrf`] returns for an `m × n` matrix (its columns are
/// `min(m, n)`): what [`apply_q`] needs to find a factor stored padded in a larger tile.
pub fn geqrf_block_size<T: Scalar>(m: usize, n: usize) -> usize {
    qr::recommended_block_size::<T>(m, n)
}

/// Householder QR in place: afterwards `R` is on and above the diagonal of `a` and the
/// reflectors below it; returns their block factor (for [`apply_q`]).
///
/// ```
/// use dagger_linalg::kernels::{apply_q, geqrf};
/// use dagger_linalg::Tile;
/// let a = Tile::<f64>::from_fn(3, 2, |i, j| (1 + i * 2 + j) as f64);
/// let mut f = a.clone();
/// let t = geqrf(&mut f);
/// let mut r = Tile::<f64>::from_fn(3, 2, |i, j| if i <= j { f[(i, j)] } else { 0.0 });
/// apply_q(&mut r, &f, &t, false); // Q·R
/// assert!((&r - &a).norm_max() < 1e-12);
/// ```
pub fn geqrf<T: Scalar>(a: &mut Tile<T>) -> HouseholderFactor<T> {
    let (m, n) = a.shape();
    let k = m.min(n);
    if k == 0 {
        return Tile::zeros(1, 0);
    }
    let bs = geqrf_block_size::<T>(m, n);
    let mut t = Tile::zeros(bs, k);
    let req = qr::qr_in_place_scratch::<T>(m, n, bs, Par::Seq, Default::default());
    with_stack(req, |st| {
        qr::qr_in_place(a.as_mut(), t.as_mut(), Par::Seq, st, Default::default());
    });
    t
}

/// `b ← Q·b` (or `Qᵀ·b` when `transpose`), for the `Q` of a [`geqrf`] whose reflectors are
/// in `v` (below its diagonal) with block factor `t`. `b` has as many rows as `v`.
pub fn apply_q<T: Scalar>(b: &mut Tile<T>, v: &Tile<T>, t: &HouseholderFactor<T>, transpose: bool) {
    if t.ncols() == 0 || b.ncols() == 0 {
        return;
    }
    let (m, bs, n) = (v.nrows(), t.nrows(), b.ncols());
    // Both scratch sizes are the same block-size × columns temporary.
    let req = hh::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(m, bs, n);
    let apply = if transpose {
        hh::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj::<T>
    } else {
        hh::apply_block_householder_sequence_on_the_left_in_place_with_conj::<T>
    };
    with_stack(req, |st| {
        apply(v.as_ref(), t.as_ref(), Conj::No, b.as_mut(), Par::Seq, st)
    });
}

/// Permutes the rows of `b` in place: row `i` becomes old row `perm[i]`.
pub fn permute_rows<T: Scalar>(b: &mut Tile<T>, perm: &[usize]) {
    let old = b.clone();
    for j in 0..b.ncols() {
        for (i, &p) in perm.iter().enumerate() {
            b[(i, j)] = old[(p, j)];
        }
    }
}

/// Sets the strict `uplo` triangle of `a` to zero.
pub fn zero_strict<T: Scalar>(a: &mut Tile<T>, uplo: Uplo) {
    for j in 0..a.ncols() {
        let rows = match uplo {
            Uplo::Lower => (j + 1).min(a.nrows())..a.nrows(),
            Uplo::Upper => 0..j.min(a.nrows()),
        };
        for i in rows {
            a[(i, j)] = T::of(0.0);
        }
    }
}

/// The Frobenius norm of a tile.
pub fn norm_fro<T: Scalar>(a: &Tile<T>) -> T {
    a.norm_l2()
}

/// The largest absolute value in a tile.
pub fn norm_max<T: Scalar>(a: &Tile<T>) -> T {
    a.norm_max()
}
