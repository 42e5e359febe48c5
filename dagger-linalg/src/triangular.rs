//! Tiled triangular solves: `op(A)·X = B` for a triangular tiled `A` and a tiled `B` with
//! any number of columns (a vector is one column), as tile `trsm` and `gemm` tasks.

use crate::blocks::{on_cluster, tiled_back, tiled_to_workers};
use crate::blocks_lu::solve_triangular_darray;
use crate::error::mismatch;
use crate::kernels::{gemm, trsm};
use crate::region::{Tasks, TileMut, TileRef};
use crate::scalar::Scalar;
use crate::tile::{solve_steps, Diag, Side, Trans, Triangle, Uplo};
use crate::tiled::TiledMatrix;
use dagger_core::Result;
use dagger_sched::{Context, In, InOut};

/// Solves `op(A)·X = B` for `X`, where the square `A` is triangular (`uplo` is the
/// triangle read; with [`Diag::Unit`] its diagonal is taken as ones). One datadeps region:
/// a `trsm` per tile of `X` on the diagonal tiles, a `gemm` update per tile below (or
/// above) them, so different columns of `B` and independent updates run in parallel.
///
/// `A` needs square tiles: one with other tiles is re-blocked (a copy, tiles of its larger
/// edge); `B` is copied with its rows in `A`'s tiles. On a context with worker processes
/// both go to the workers and the solve runs there ([`solve_triangular_darray`]).
///
/// ```
/// use dagger_linalg::{solve_triangular, Diag, TiledMatrix, Trans, Uplo};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let l = TiledMatrix::<f64>::from_fn(3, 3, [2, 2], |i, j| if j <= i { 1.0 } else { 0.0 }).unwrap();
/// let b = TiledMatrix::from_fn(3, 1, [2, 1], |i, _| (i + 1) as f64).unwrap();
/// let x = solve_triangular(&ctx, &l, Uplo::Lower, Trans::No, Diag::NonUnit, &b).unwrap();
/// assert_eq!(x.to_ndarray().column(0).to_vec(), vec![1.0, 1.0, 1.0]);
/// ```
pub fn solve_triangular<T: Scalar>(
    ctx: &Context,
    a: &TiledMatrix<T>,
    uplo: Uplo,
    trans: Trans,
    diag: Diag,
    b: &TiledMatrix<T>,
) -> Result<TiledMatrix<T>> {
    if a.nrows() != a.ncols() || a.nrows() != b.nrows() {
        return Err(mismatch("triangular solve (A, B)", a.shape(), b.shape()));
    }
    let sq;
    let a = if a.tile_shape()[0] == a.tile_shape()[1] {
        a
    } else {
        sq = a.square_copy()?;
        &sq
    };
    let tile = [a.tile_shape()[0], b.tile_shape()[1]];
    let x = b.retiled(tile)?;
    if on_cluster(ctx) {
        let (a, x) = (tiled_to_workers(ctx, a)?, tiled_to_workers(ctx, &x)?);
        let y = solve_triangular_darray(ctx, &a, uplo, trans, diag, &x)?;
        return tiled_back(ctx, &y, tile);
    }
    Tasks::run(ctx, |t| trsm_tiled(t, a, (uplo, trans, diag), &x))?;
    Ok(x)
}

/// `X ← op(A)⁻¹·X` in place inside an open region; `A` has square tiles of the edge of
/// `X`'s tile rows.
pub(crate) fn trsm_tiled<T: Scalar>(
    tasks: &Tasks<'_>,
    a: &TiledMatrix<T>,
    op: Triangle,
    x: &TiledMatrix<T>,
) {
    let (uplo, trans, diag) = op;
    let [nt, xc] = x.grid();
    let order = solve_steps(op, nt);
    // Tile (i, k) of op(A), as a stored tile and whether to transpose it.
    let op_tile = |i: usize, k: usize| match trans {
        Trans::No => a.tile(i, k),
        Trans::Yes => a.tile(k, i),
    };
    for (step, &k) in order.iter().enumerate() {
        for j in 0..xc {
            let f = move |(mut x, a): (TileMut<T>, TileRef<T>)| {
                trsm(&mut x, &a, Side::Left, uplo, trans, diag, T::of(1.0))
            };
            tasks.spawn(f, (InOut(x.tile(k, j)), In(a.tile(k, k))));
        }
        for &i in &order[step + 1..] {
            for j in 0..xc {
                let f = move |(mut xi, a, xk): (TileMut<T>, TileRef<T>, TileRef<T>)| {
                    gemm(&mut xi, &a, trans, &xk, Trans::No, T::of(-1.0), T::of(1.0))
                };
                tasks.spawn(
                    f,
                    (InOut(x.tile(i, j)), In(op_tile(i, k)), In(x.tile(k, j))),
                );
            }
        }
    }
}
