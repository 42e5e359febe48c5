//! Tiled Householder QR by block columns: each block column is factored as one tall panel
//! (faer's blocked Householder QR), and its `Qᵀ` is applied to every block column to the
//! right by one task each; and the [`Qr`] factor object, which applies `Q`/`Qᵀ` and solves
//! least-squares problems again without refactoring.

use crate::blocks::{on_cluster, tiled_back, tiled_to_workers};
use crate::blocks_qr::{qr_darray, QrBlocks};
use crate::error::mismatch;
use crate::kernels::{apply_q, geqrf};
use crate::region::{stack, unstack, InOutTiles, Tasks, TileMut};
use crate::scalar::Scalar;
use crate::tile::{Diag, Tile, Trans, Uplo};
use crate::tiled::TiledMatrix;
use crate::triangular::solve_triangular;
use dagger_core::Result;
use dagger_sched::{Context, Data, DataMut, DataRef, In, Out};

/// The reflectors of one panel: the factored panel (reflectors below its diagonal) and
/// their block factor.
#[derive(Clone, Debug, Default)]
pub(crate) struct Panel<T> {
    pub(crate) v: Option<Tile<T>>,
    pub(crate) t: Option<Tile<T>>,
}

/// A QR factorization `A = Q·R`, kept to apply `Q` and solve again without refactoring.
#[derive(Clone, Debug)]
pub struct Qr<T: Scalar> {
    factors: TiledMatrix<T>,
    panels: Vec<Data<Panel<T>>>,
    /// On a cluster: the factors as DArrays on the workers, where `Q` is applied.
    blocks: Option<QrBlocks<T>>,
}

/// Householder QR of an `m × n` matrix, `A = Q·R`: one datadeps region of a panel task per
/// block column and a `Qᵀ` update per block column to its right (these run in parallel).
/// Works on a copy with square tiles (re-blocked to the larger tile edge when `a`'s are not
/// square). A tall-skinny matrix, with one block column, is one panel task here: factor it
/// with [`tsqr`](crate::tsqr()), which factors its block rows in parallel. On a context
/// with worker processes the tiles are factored on the workers ([`qr_darray`]) and kept
/// there for [`Qr::apply`], [`Qr::q`] and [`Qr::solve_least_squares`].
///
/// ```
/// use dagger_linalg::{qr, TiledMatrix};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let a = TiledMatrix::<f64>::from_fn(5, 3, [2, 2], |i, j| ((i * 7 + j * 3) % 5) as f64 + (i == j) as u8 as f64).unwrap();
/// let f = qr(&ctx, &a).unwrap();
/// let (q, r) = (f.q(&ctx).unwrap().to_ndarray(), f.r().unwrap().to_ndarray());
/// let err = (q.dot(&r) - a.to_ndarray()).iter().fold(0.0f64, |m, v| m.max(v.abs()));
/// assert!(err < 1e-12);
/// ```
pub fn qr<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>) -> Result<Qr<T>> {
    let f = a.square_copy()?;
    if on_cluster(ctx) {
        let qb = qr_darray(ctx, &tiled_to_workers(ctx, &f)?)?;
        return Ok(Qr {
            factors: tiled_back(ctx, qb.factors(), f.tile_shape())?,
            panels: Vec::new(),
            blocks: Some(qb),
        });
    }
    let [gr, gc] = f.grid();
    let panels: Vec<Data<Panel<T>>> = (0..gr.min(gc))
        .map(|_| Data::new(Panel::default()))
        .collect();
    Tasks::run(ctx, |t| {
        for (k, pk) in panels.iter().enumerate() {
            let factor = |(mut col, mut p): (Vec<TileMut<T>>, DataMut<Panel<T>>)| {
                let mut v = stack(&col);
                let h = geqrf(&mut v);
                unstack(&v, &mut col);
                *p = Panel {
                    v: Some(v),
                    t: Some(h),
                };
                Ok(())
            };
            t.spawn(factor, (InOutTiles(f.column(k, k)), Out(pk)));
            for j in k + 1..gc {
                t.spawn(apply(true), (InOutTiles(f.column(j, k)), In(pk)));
            }
        }
    })?;
    Ok(Qr {
        factors: f,
        panels,
        blocks: None,
    })
}

/// What a task applying a panel to a block column receives.
type ColumnAndPanel<T> = (Vec<TileMut<T>>, DataRef<Panel<T>>);

/// The task applying one panel's `Q` (or `Qᵀ`) to a block column below the panel's row.
fn apply<T: Scalar>(
    transpose: bool,
) -> impl FnOnce(ColumnAndPanel<T>) -> Result<()> + Send + 'static {
    move |(mut col, p)| {
        if let (Some(v), Some(t)) = (&p.v, &p.t) {
            let mut c = stack(&col);
            apply_q(&mut c, v, t, transpose);
            unstack(&c, &mut col);
        }
        Ok(())
    }
}

impl<T: Scalar> Qr<T> {
    /// `R` above the diagonal and the Householder reflectors below it, in one matrix.
    pub fn factors(&self) -> &TiledMatrix<T> {
        &self.factors
    }

    /// `R`, `min(m, n) × n` upper triangular (a copy).
    pub fn r(&self) -> Result<TiledMatrix<T>> {
        let [m, n] = self.factors.shape();
        let f = self.factors.to_mat();
        let e = |i: usize, j: usize| if i <= j { f[(i, j)] } else { T::of(0.0) };
        TiledMatrix::from_fn(m.min(n), n, self.factors.tile_shape(), e)
    }

    /// `B ← Q·B` (`transpose`: `Qᵀ·B`) for `B` with `m` rows: one region of a task per
    /// (panel, block column of `B`). Returns the product (a copy of `B` in this QR's tile
    /// rows).
    pub fn apply(
        &self,
        ctx: &Context,
        b: &TiledMatrix<T>,
        transpose: bool,
    ) -> Result<TiledMatrix<T>> {
        let f = &self.factors;
        if b.nrows() != f.nrows() {
            return Err(mismatch("QR apply Q (A, B)", f.shape(), b.shape()));
        }
        let tile = [f.tile_shape()[0], b.tile_shape()[1]];
        let x = b.retiled(tile)?;
        if let Some(qb) = &self.blocks {
            let y = qb.apply(ctx, &tiled_to_workers(ctx, &x)?, transpose)?;
            return tiled_back(ctx, &y, tile);
        }
        let order: Vec<usize> = if transpose {
            (0..self.panels.len()).collect()
        } else {
            (0..self.panels.len()).rev().collect()
        };
        Tasks::run(ctx, |t| {
            for &k in &order {
                for j in 0..x.grid()[1] {
                    t.spawn(
                        apply(transpose),
                        (InOutTiles(x.column(j, k)), In(&self.panels[k])),
                    );
                }
            }
        })?;
        Ok(x)
    }

    /// The thin `Q`, `m × min(m, n)` with orthonormal columns, so that `A = Q·R`.
    pub fn q(&self, ctx: &Context) -> Result<TiledMatrix<T>> {
        if let Some(qb) = &self.blocks {
            return tiled_back(ctx, &qb.q(ctx)?, self.factors.tile_shape());
        }
        let [m, n] = self.factors.shape();
        let e = |i: usize, j: usize| T::of(if i == j { 1.0 } else { 0.0 });
        let id = TiledMatrix::from_fn(m, m.min(n), self.factors.tile_shape(), e)?;
        self.apply(ctx, &id, false)
    }

    /// The least-squares solution of `A·X ≈ B` (`m ≥ n`, full rank): `R⁻¹·(Qᵀ·B)[..n]`.
    pub fn solve_least_squares(&self, ctx: &Context, b: &TiledMatrix<T>) -> Result<TiledMatrix<T>> {
        let [m, n] = self.factors.shape();
        if m < n {
            return Err(mismatch(
                "least squares needs rows ≥ columns",
                [m, n],
                b.shape(),
            ));
        }
        if let Some(qb) = &self.blocks {
            let tile = [self.factors.tile_shape()[0], b.tile_shape()[1]];
            let x = tiled_to_workers(ctx, &b.retiled(tile)?)?;
            return tiled_back(ctx, &qb.solve_least_squares(ctx, &x)?, tile);
        }
        let qtb = self.apply(ctx, b, true)?.to_mat();
        let top = TiledMatrix::from_mat(qtb.as_ref().get(..n, ..), b.tile_shape())?;
        let r = self.r()?;
        solve_triangular(ctx, &r, Uplo::Upper, Trans::No, Diag::NonUnit, &top)
    }
}
