//! Tiled LU: with partial pivoting (a panel algorithm: each block column is factored as one
//! tall panel, its row swaps applied across the other block columns, then `trsm` on the
//! block row and `gemm` on the trailing tiles), or without pivoting (tile `getrf`, `trsm`,
//! `gemm`); and the [`Lu`] factor object.

use crate::blocks::{on_cluster, tiled_back, tiled_to_workers};
use crate::blocks_lu::{lu_darray, lu_nopiv_darray, LuBlocks};
use crate::error::{mismatch, singular};
use crate::kernels::{gemm, getrf, getrf_nopiv, permute_rows, trsm};
use crate::region::{stack, unstack, InOutTiles, Tasks, TileMut, TileRef};
use crate::scalar::Scalar;
use crate::tile::{Diag, Side, Tile, Trans, Uplo};
use crate::tiled::TiledMatrix;
use crate::triangular::trsm_tiled;
use dagger_core::Result;
use dagger_sched::{Context, Data, DataMut, DataRef, In, InOut, Out};

/// An LU factorization `P·A = L·U`, kept to solve again without refactoring.
#[derive(Clone, Debug)]
pub struct Lu<T: Scalar> {
    factors: TiledMatrix<T>,
    perm: Vec<usize>,
    /// On a cluster: the factors as a DArray on the workers, where solves run.
    blocks: Option<LuBlocks<T>>,
}

/// On a context with worker processes: the LU (`pivot`: partial pivoting) of the
/// square-tiled `f` computed on the workers ([`lu_darray`] / [`lu_nopiv_darray`]), with
/// a copy of the factors here.
fn on_workers<T: Scalar>(ctx: &Context, f: &TiledMatrix<T>, pivot: bool) -> Result<Option<Lu<T>>> {
    if !on_cluster(ctx) {
        return Ok(None);
    }
    let d = tiled_to_workers(ctx, f)?;
    let lb = if pivot {
        lu_darray(ctx, &d)?
    } else {
        lu_nopiv_darray(ctx, &d)?
    };
    Ok(Some(Lu {
        factors: tiled_back(ctx, lb.factors(), f.tile_shape())?,
        perm: lb.perm().to_vec(),
        blocks: Some(lb),
    }))
}

/// LU with partial pivoting of an `m × n` matrix: `P·A = L·U`, `L` unit lower `m × min(m, n)`,
/// `U` upper `min(m, n) × n`. One datadeps region: per block column, a panel task, one
/// task per other block column applying its row swaps (and, right of it, the `trsm`),
/// and one `gemm` per trailing tile.
///
/// Works on a copy with square tiles (re-blocked to the larger tile edge when `a`'s are not
/// square). On a context with worker processes the tiles are factored on the workers
/// ([`lu_darray`]) and kept there for [`Lu::solve`]. An exactly zero pivot gives
/// [`Error::Singular`](dagger_core::Error::Singular) naming the diagonal tile and pivot.
///
/// ```
/// use dagger_linalg::{lu, Error, TiledMatrix};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let a = TiledMatrix::<f64>::from_fn(3, 3, [2, 2], |i, j| [[0.0, 1.0, 2.0], [1.0, 1.0, 1.0], [2.0, 0.0, 5.0]][i][j]).unwrap();
/// let f = lu(&ctx, &a).unwrap();
/// assert_eq!(f.perm()[0], 2); // the largest entry of column 0 is the first pivot
/// let s = TiledMatrix::<f64>::from_fn(3, 3, [2, 2], |i, j| (i + j) as f64).unwrap();
/// assert!(matches!(lu(&ctx, &s).unwrap_err(), Error::Singular { tile: [1, 1], pivot: 0, column: 2 }));
/// ```
pub fn lu<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>) -> Result<Lu<T>> {
    let f = a.square_copy()?;
    if let Some(lu) = on_workers(ctx, &f, true)? {
        return Ok(lu);
    }
    let [gr, gc] = f.grid();
    let kt = gr.min(gc);
    let b = f.tile_shape()[0];
    let pivots: Vec<Data<Vec<usize>>> = (0..kt).map(|_| Data::new(Vec::new())).collect();
    Tasks::run(ctx, |t| {
        for (k, piv) in pivots.iter().enumerate() {
            let panel = move |(mut col, mut piv): (Vec<TileMut<T>>, DataMut<Vec<usize>>)| {
                let mut p = stack(&col);
                *piv = getrf(&mut p).map_err(|q| singular(k, b, q))?;
                unstack(&p, &mut col);
                Ok(())
            };
            t.spawn(panel, (InOutTiles(f.column(k, k)), Out(piv)));
            // Left of the panel: its row swaps; right of it: the swaps, then L[k,k]⁻¹·A[k,j].
            for j in 0..k {
                let swap = move |(mut col, piv): (Vec<TileMut<T>>, DataRef<Vec<usize>>)| {
                    swap_rows(&mut col, &piv, b);
                    Ok(())
                };
                t.spawn(swap, (InOutTiles(f.column(j, k)), In(piv)));
            }
            for j in k + 1..gc {
                type Args<T> = (Vec<TileMut<T>>, DataRef<Vec<usize>>, TileRef<T>);
                let swap_trsm = move |(mut col, piv, l): Args<T>| {
                    swap_rows(&mut col, &piv, b);
                    unit_lower_solve(&mut col[0], &l)
                };
                let args = (InOutTiles(f.column(j, k)), In(piv), In(f.tile(k, k)));
                t.spawn(swap_trsm, args);
            }
            trailing_update(t, &f, k);
        }
    })?;
    let mut perm: Vec<usize> = (0..f.nrows()).collect();
    for (k, piv) in pivots.iter().enumerate() {
        let pk = piv.get();
        let old = perm[k * b..].to_vec();
        for (i, &p) in pk.iter().enumerate() {
            perm[k * b + i] = old[p];
        }
    }
    Ok(Lu {
        factors: f,
        perm,
        blocks: None,
    })
}

/// Applies a panel's row permutation to the tiles of a block column below its row (tiles of
/// `b` rows but the last): only the rows the permutation moves (at most twice the panel's
/// width) are copied.
fn swap_rows<T: Scalar>(col: &mut [TileMut<T>], piv: &[usize], b: usize) {
    let w = col.first().map_or(0, |t| t.ncols());
    let moved: Vec<(usize, Vec<T>)> = (0..piv.len())
        .filter(|&i| piv[i] != i)
        .map(|i| {
            let (t, r) = (piv[i] / b, piv[i] % b);
            (i, (0..w).map(|j| col[t][(r, j)]).collect())
        })
        .collect();
    for (i, row) in moved {
        let t = &mut col[i / b];
        for (j, v) in row.into_iter().enumerate() {
            t[(i % b, j)] = v;
        }
    }
}

/// `x ← L⁻¹·x` for the unit lower triangle `L` of a diagonal tile.
fn unit_lower_solve<T: Scalar>(x: &mut Tile<T>, l: &Tile<T>) -> Result<()> {
    trsm(
        x,
        l,
        Side::Left,
        Uplo::Lower,
        Trans::No,
        Diag::Unit,
        T::of(1.0),
    )
}

/// `A[i,j] -= A[i,k]·A[k,j]` for every tile right of and below diagonal tile `k`.
fn trailing_update<T: Scalar>(t: &Tasks<'_>, f: &TiledMatrix<T>, k: usize) {
    let [gr, gc] = f.grid();
    for i in k + 1..gr {
        for j in k + 1..gc {
            let g = move |(mut c, x, y): (TileMut<T>, TileRef<T>, TileRef<T>)| {
                gemm(
                    &mut c,
                    &x,
                    Trans::No,
                    &y,
                    Trans::No,
                    T::of(-1.0),
                    T::of(1.0),
                )
            };
            t.spawn(g, (InOut(f.tile(i, j)), In(f.tile(i, k)), In(f.tile(k, j))));
        }
    }
}

/// LU without pivoting, `A = L·U` (for matrices known not to need it, e.g. diagonally
/// dominant ones): tile `getrf`, `trsm` and `gemm` tasks in one region. `perm` is the
/// identity. An exactly zero pivot gives [`Error::Singular`](dagger_core::Error::Singular).
/// On a context with worker processes it runs there ([`lu_nopiv_darray`]).
pub fn lu_nopiv<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>) -> Result<Lu<T>> {
    let f = a.square_copy()?;
    if let Some(lu) = on_workers(ctx, &f, false)? {
        return Ok(lu);
    }
    let [gr, gc] = f.grid();
    let b = f.tile_shape()[0];
    let one = T::of(1.0);
    Tasks::run(ctx, |t| {
        for k in 0..gr.min(gc) {
            let akk = f.tile(k, k);
            let d =
                move |(mut d,): (TileMut<T>,)| getrf_nopiv(&mut d).map_err(|q| singular(k, b, q));
            t.spawn(d, (InOut(akk),));
            for i in k + 1..gr {
                let s = move |(mut x, u): (TileMut<T>, TileRef<T>)| {
                    trsm(
                        &mut x,
                        &u,
                        Side::Right,
                        Uplo::Upper,
                        Trans::No,
                        Diag::NonUnit,
                        one,
                    )
                };
                t.spawn(s, (InOut(f.tile(i, k)), In(akk)));
            }
            for j in k + 1..gc {
                let s = |(mut x, l): (TileMut<T>, TileRef<T>)| unit_lower_solve(&mut x, &l);
                t.spawn(s, (InOut(f.tile(k, j)), In(akk)));
            }
            trailing_update(t, &f, k);
        }
    })?;
    let perm = (0..f.nrows()).collect();
    Ok(Lu {
        factors: f,
        perm,
        blocks: None,
    })
}

impl<T: Scalar> Lu<T> {
    /// `L` (below the diagonal, unit diagonal implied) and `U` (on and above it) in one
    /// matrix, as LAPACK stores them.
    pub fn factors(&self) -> &TiledMatrix<T> {
        &self.factors
    }

    /// The row permutation: row `i` of `P·A` is row `perm[i]` of `A`.
    pub fn perm(&self) -> &[usize] {
        &self.perm
    }

    /// `L`, `m × min(m, n)` with its unit diagonal (a copy).
    pub fn l(&self) -> Result<TiledMatrix<T>> {
        let [m, n] = self.factors.shape();
        let f = self.factors.to_mat();
        let one = T::of(1.0);
        let z = T::of(0.0);
        let e = |i: usize, j: usize| {
            if i == j {
                one
            } else if i > j {
                f[(i, j)]
            } else {
                z
            }
        };
        TiledMatrix::from_fn(m, m.min(n), self.factors.tile_shape(), e)
    }

    /// `U`, `min(m, n) × n` (a copy).
    pub fn u(&self) -> Result<TiledMatrix<T>> {
        let [m, n] = self.factors.shape();
        let f = self.factors.to_mat();
        let e = |i: usize, j: usize| if i <= j { f[(i, j)] } else { T::of(0.0) };
        TiledMatrix::from_fn(m.min(n), n, self.factors.tile_shape(), e)
    }

    /// Solves `A·X = B` (square `A`) with the kept factors: the row permutation, then the
    /// two triangular solves in one region (on the workers, where the factors are, when
    /// they were computed there).
    pub fn solve(&self, ctx: &Context, b: &TiledMatrix<T>) -> Result<TiledMatrix<T>> {
        let f = &self.factors;
        if f.nrows() != f.ncols() || b.nrows() != f.nrows() {
            return Err(mismatch("LU solve (A, B)", f.shape(), b.shape()));
        }
        let tile = [f.tile_shape()[0], b.tile_shape()[1]];
        if let Some(lb) = &self.blocks {
            let x = lb.solve(ctx, &tiled_to_workers(ctx, &b.retiled(tile)?)?)?;
            return tiled_back(ctx, &x, tile);
        }
        let mut pb: Tile<T> = b.to_mat();
        permute_rows(&mut pb, &self.perm);
        let x = TiledMatrix::from_mat(pb.as_ref(), tile)?;
        Tasks::run(ctx, |t| {
            trsm_tiled(t, f, (Uplo::Lower, Trans::No, Diag::Unit), &x);
            trsm_tiled(t, f, (Uplo::Upper, Trans::No, Diag::NonUnit), &x);
        })?;
        Ok(x)
    }

    /// Solves `A·x = b` for a vector.
    pub fn solve_vec(&self, ctx: &Context, b: &[T]) -> Result<Vec<T>> {
        let b = TiledMatrix::from_vec(b, self.factors.tile_shape()[0])?;
        Ok(self.solve(ctx, &b)?.column_vec(0))
    }
}
