//! Tiled Cholesky (right-looking: `potrf` on the diagonal tile, `trsm` on the tiles below
//! it, `syrk` and `gemm` on the trailing matrix) and the [`Cholesky`] factor object.

use crate::blocks::{tiled_back, tiled_to_workers};
use crate::blocks_lu::{cholesky_blocks, CholeskyBlocks};
use crate::error::{mismatch, not_positive_definite};
use crate::kernels::{gemm, potrf, scale, syrk, trsm, zero_strict};
use crate::region::{Tasks, TileMut, TileRef};
use crate::scalar::Scalar;
use crate::tile::{Diag, Side, Trans, Uplo};
use crate::tiled::TiledMatrix;
use crate::triangular::trsm_tiled;
use dagger_core::Result;
use dagger_sched::{Context, In, InOut, Out};

/// A Cholesky factorization `A = L·Lᵀ` (or `Uᵀ·U`), kept to solve again without
/// refactoring.
#[derive(Clone, Debug)]
pub struct Cholesky<T: Scalar> {
    factor: TiledMatrix<T>,
    uplo: Uplo,
    /// On a cluster: the factor as a DArray on the workers, where solves run.
    blocks: Option<CholeskyBlocks<T>>,
}

/// The Cholesky factorization of the symmetric positive definite `a`, reading its `uplo`
/// triangle: one datadeps region of `potrf`, `trsm`, `syrk` and `gemm` tile tasks.
///
/// The factor has square tiles: a copy of `a` re-blocked to tiles of its larger tile edge
/// when `a`'s are not square. On a context with worker processes the tiles are factored
/// on the workers ([`cholesky_darray`](crate::cholesky_darray)), kept there for
/// [`Cholesky::solve`], and copied back. A pivot that is not positive gives
/// [`Error::NotPositiveDefinite`](dagger_core::Error::NotPositiveDefinite) naming the
/// diagonal tile and the pivot (and nothing after it runs); a non-square `a`,
/// [`Error::DimensionMismatch`](dagger_core::Error::DimensionMismatch).
///
/// ```
/// use dagger_linalg::{cholesky, Error, TiledMatrix, Uplo};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let a = TiledMatrix::<f64>::from_fn(3, 3, [2, 2], |i, j| if i == j { 1.0 } else { 2.0 }).unwrap();
/// assert!(matches!(
///     cholesky(&ctx, &a, Uplo::Lower).unwrap_err(),
///     Error::NotPositiveDefinite { tile: [0, 0], pivot: 1, column: 1 }
/// ));
/// ```
pub fn cholesky<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>, uplo: Uplo) -> Result<Cholesky<T>> {
    if a.nrows() != a.ncols() {
        return Err(mismatch(
            "cholesky of a non-square matrix",
            a.shape(),
            a.shape(),
        ));
    }
    let factor = a.square_copy()?;
    if crate::blocks::on_cluster(ctx) {
        // On worker processes: the tiles go to the workers and are factored there.
        let d = tiled_to_workers(ctx, &factor)?;
        let cb = cholesky_blocks(ctx, &d, uplo)?;
        let factor = tiled_back(ctx, cb.factor(), factor.tile_shape())?;
        let blocks = Some(cb);
        return Ok(Cholesky {
            factor,
            uplo,
            blocks,
        });
    }
    Tasks::run(ctx, |t| factor_tiles(t, &factor, uplo))?;
    Ok(Cholesky {
        factor,
        uplo,
        blocks: None,
    })
}

fn factor_tiles<T: Scalar>(tasks: &Tasks<'_>, a: &TiledMatrix<T>, uplo: Uplo) {
    let nt = a.grid()[0];
    let b = a.tile_shape()[0];
    let (one, minus) = (T::of(1.0), T::of(-1.0));
    for k in 0..nt {
        let akk = a.tile(k, k);
        let f = move |(mut d,): (TileMut<T>,)| {
            potrf(&mut d, uplo).map_err(|p| not_positive_definite(k, b, p))
        };
        tasks.spawn(f, (InOut(akk),));
        match uplo {
            Uplo::Lower => {
                // A[i,k] ← A[i,k]·L[k,k]⁻ᵀ; A[i,j] -= A[i,k]·A[j,k]ᵀ for k < j ≤ i.
                for i in k + 1..nt {
                    let f = move |(mut x, l): (TileMut<T>, TileRef<T>)| {
                        trsm(
                            &mut x,
                            &l,
                            Side::Right,
                            uplo,
                            Trans::Yes,
                            Diag::NonUnit,
                            one,
                        )
                    };
                    tasks.spawn(f, (InOut(a.tile(i, k)), In(akk)));
                }
                for i in k + 1..nt {
                    let f = move |(mut c, x): (TileMut<T>, TileRef<T>)| {
                        syrk(&mut c, &x, Trans::No, uplo, minus, one)
                    };
                    tasks.spawn(f, (InOut(a.tile(i, i)), In(a.tile(i, k))));
                    for j in k + 1..i {
                        let f = move |(mut c, x, y): (TileMut<T>, TileRef<T>, TileRef<T>)| {
                            gemm(&mut c, &x, Trans::No, &y, Trans::Yes, minus, one)
                        };
                        tasks.spawn(f, (InOut(a.tile(i, j)), In(a.tile(i, k)), In(a.tile(j, k))));
                    }
                }
            }
            Uplo::Upper => {
                // A[k,j] ← U[k,k]⁻ᵀ·A[k,j]; A[i,j] -= A[k,i]ᵀ·A[k,j] for k < i ≤ j.
                for j in k + 1..nt {
                    let f = move |(mut x, u): (TileMut<T>, TileRef<T>)| {
                        trsm(&mut x, &u, Side::Left, uplo, Trans::Yes, Diag::NonUnit, one)
                    };
                    tasks.spawn(f, (InOut(a.tile(k, j)), In(akk)));
                }
                for j in k + 1..nt {
                    let f = move |(mut c, x): (TileMut<T>, TileRef<T>)| {
                        syrk(&mut c, &x, Trans::Yes, uplo, minus, one)
                    };
                    tasks.spawn(f, (InOut(a.tile(j, j)), In(a.tile(k, j))));
                    for i in k + 1..j {
                        let f = move |(mut c, x, y): (TileMut<T>, TileRef<T>, TileRef<T>)| {
                            gemm(&mut c, &x, Trans::Yes, &y, Trans::No, minus, one)
                        };
                        tasks.spawn(f, (InOut(a.tile(i, j)), In(a.tile(k, i)), In(a.tile(k, j))));
                    }
                }
            }
        }
    }
    // The other triangle of the factor is zero.
    for i in 0..nt {
        for j in 0..nt {
            let other = match uplo {
                Uplo::Lower => j > i,
                Uplo::Upper => j < i,
            };
            if i == j {
                let f = move |(mut d,): (TileMut<T>,)| {
                    zero_strict(&mut d, uplo.flip());
                    Ok(())
                };
                tasks.spawn(f, (InOut(a.tile(i, i)),));
            } else if other {
                let f = move |(mut d,): (TileMut<T>,)| {
                    scale(&mut d, T::of(0.0));
                    Ok(())
                };
                tasks.spawn(f, (Out(a.tile(i, j)),));
            }
        }
    }
}

impl<T: Scalar> Cholesky<T> {
    /// The triangular factor (`L` for [`Uplo::Lower`], `U` for [`Uplo::Upper`]), with the
    /// other strict triangle zero.
    pub fn factor(&self) -> &TiledMatrix<T> {
        &self.factor
    }

    /// Which factor this is.
    pub fn uplo(&self) -> Uplo {
        self.uplo
    }

    /// Solves `A·X = B` with the kept factor: two triangular solves in one region.
    pub fn solve(&self, ctx: &Context, b: &TiledMatrix<T>) -> Result<TiledMatrix<T>> {
        let f = &self.factor;
        if b.nrows() != f.nrows() {
            return Err(mismatch("cholesky solve (A, B)", f.shape(), b.shape()));
        }
        let tile = [f.tile_shape()[0], b.tile_shape()[1]];
        let x = b.retiled(tile)?;
        if let Some(cb) = &self.blocks {
            // On the workers, where the factor is.
            return tiled_back(ctx, &cb.solve(ctx, &tiled_to_workers(ctx, &x)?)?, tile);
        }
        // L·Lᵀ·X = B: L·Y = B then Lᵀ·X = Y (Uᵀ·U: Uᵀ·Y = B then U·X = Y).
        let (first, second) = match self.uplo {
            Uplo::Lower => (Trans::No, Trans::Yes),
            Uplo::Upper => (Trans::Yes, Trans::No),
        };
        Tasks::run(ctx, |t| {
            trsm_tiled(t, f, (self.uplo, first, Diag::NonUnit), &x);
            trsm_tiled(t, f, (self.uplo, second, Diag::NonUnit), &x);
        })?;
        Ok(x)
    }

    /// Solves `A·x = b` for a vector.
    pub fn solve_vec(&self, ctx: &Context, b: &[T]) -> Result<Vec<T>> {
        let b = TiledMatrix::from_vec(b, self.factor.tile_shape()[0])?;
        Ok(self.solve(ctx, &b)?.column_vec(0))
    }
}
