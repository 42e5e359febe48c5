//! TSQR, the QR factorization of a tall-skinny matrix by row blocks: each block row is
//! factored by its own task (in parallel), and the stacked `R` factors of the blocks by one
//! more; the [`Tsqr`] factor object forms `Q`, `R` and least-squares solutions from them.
//!
//! The block-column [`qr`](crate::qr()) factors a matrix with one block column as one tall
//! panel, in one task: TSQR is its parallel form for that shape (Demmel et al.'s
//! communication-avoiding QR, with a flat tree of height 2: the stacked factors are
//! `Σ min(mᵢ, n)` rows, small next to `m` when the blocks are tall).

use crate::blocks::{on_cluster, tiled_back};
use crate::blocks_tsqr::{tsqr_darray, TsqrBlocks};
use crate::error::mismatch;
use crate::kernels::{apply_q, geqrf};
use crate::qr::Panel;
use crate::region::{InOutTiles, Tasks, TileMut, TileRef};
use crate::scalar::Scalar;
use crate::tile::{Diag, Tile, Trans, Uplo};
use crate::tiled::TiledMatrix;
use crate::triangular::solve_triangular;
use dagger_array::cyclic::ProcessGrid;
use dagger_core::Result;
use dagger_sched::{Context, Data, DataMut, DataRef, In, InOut, Out};

/// A TSQR factorization `A = Q·R` of an `m × n` matrix, kept to form `Q` and solve
/// least-squares problems without refactoring.
///
/// ```
/// use dagger_linalg::{tsqr, TiledMatrix};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// // 40 × 3 in 4 block rows of 10.
/// let a = TiledMatrix::<f64>::from_fn(40, 3, [10, 3], |i, j| ((i * 7 + j * 3) % 11) as f64 + (i == j) as u8 as f64).unwrap();
/// let f = tsqr(&ctx, &a).unwrap();
/// let (q, r) = (f.q(&ctx).unwrap().to_ndarray(), f.r().unwrap().to_ndarray());
/// let err = (q.dot(&r) - a.to_ndarray()).iter().fold(0.0f64, |m, v| m.max(v.abs()));
/// assert!(err < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Tsqr<T: Scalar> {
    /// One tile per block row of `A`, factored: `Rᵢ` on and above the diagonal, the block's
    /// reflectors below it.
    leaves: TiledMatrix<T>,
    /// The block factor of each leaf's reflectors.
    factors: Vec<Data<Tile<T>>>,
    /// The stacked leaf `R`s, factored.
    top: Data<Panel<T>>,
    /// Rows each leaf gives the stack: `min(mᵢ, n)`.
    rows: Vec<usize>,
    /// `A`'s tile shape, for the results.
    tile: [usize; 2],
    /// On a cluster: the factors as DArrays on the workers, where `Q` is applied.
    blocks: Option<TsqrBlocks<T>>,
}

/// TSQR of `a`: one task per block row of `a` (its tile rows), then one for the stacked
/// `R` factors. Any tile shape works (each block row is gathered into one tile first);
/// it pays when `a` has many more rows than columns and several block rows. On a context
/// with worker processes the block rows are spread over the workers and factored there
/// ([`tsqr_darray`]), and kept there for [`Tsqr::q`] and [`Tsqr::solve_least_squares`].
pub fn tsqr<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>) -> Result<Tsqr<T>> {
    let [m, n] = a.shape();
    if m == 0 || n == 0 {
        return Err(mismatch("TSQR needs a non-empty matrix", [m, n], [1, 1]));
    }
    let leaves = a.retiled([a.tile_shape()[0], n])?;
    let gr = leaves.grid()[0];
    let rows: Vec<usize> = (0..gr).map(|i| leaves.tile_rows(i).len().min(n)).collect();
    if on_cluster(ctx) {
        // Block row i on worker i mod (workers): the leaves factor in parallel.
        let pg = ProcessGrid::of(ctx, ctx.other_workers().len().max(1), 1)?;
        let d = leaves.to_darray()?.to_cyclic(&pg).compute(ctx)?;
        let tb = tsqr_darray(ctx, &d)?;
        let r = tiled_back(ctx, tb.r(), [m.min(n), n])?.to_mat();
        return Ok(Tsqr {
            leaves: tiled_back(ctx, tb.leaves(), leaves.tile_shape())?,
            factors: Vec::new(),
            top: Data::new(Panel {
                v: Some(r),
                t: None,
            }),
            rows,
            tile: a.tile_shape(),
            blocks: Some(tb),
        });
    }
    let factors: Vec<Data<Tile<T>>> = (0..gr).map(|_| Data::new(Tile::zeros(0, 0))).collect();
    let top = Data::new(Panel::default());
    let stacked_rows: Vec<usize> = rows.clone();
    Tasks::run(ctx, |t| {
        for (i, h) in factors.iter().enumerate() {
            let leaf = |(mut v, mut h): (TileMut<T>, DataMut<Tile<T>>)| {
                *h = geqrf(&mut v);
                Ok(())
            };
            t.spawn(leaf, (InOut(leaves.tile(i, 0)), Out(h)));
        }
        let combine = move |(vs, mut p): (Vec<TileMut<T>>, DataMut<Panel<T>>)| {
            let k = stacked_rows.iter().sum();
            let mut s = Tile::zeros(k, n);
            let mut r0 = 0;
            for (v, &r) in vs.iter().zip(&stacked_rows) {
                for j in 0..n {
                    for i in 0..r.min(j + 1) {
                        s[(r0 + i, j)] = v[(i, j)];
                    }
                }
                r0 += r;
            }
            let h = geqrf(&mut s);
            *p = Panel {
                v: Some(s),
                t: Some(h),
            };
            Ok(())
        };
        t.spawn(combine, (InOutTiles(leaves.column(0, 0)), Out(&top)));
    })?;
    Ok(Tsqr {
        leaves,
        factors,
        top,
        rows,
        tile: a.tile_shape(),
        blocks: None,
    })
}

/// What the task applying the top factor receives: the leaves' `Qᵢᵀ·Bᵢ`, the top factor,
/// and where `(Qᵀ·B)[..n]` goes.
type StackAndTop<T> = (Vec<TileMut<T>>, DataRef<Panel<T>>, DataMut<Tile<T>>);

/// What a task forming one block row of `Q` receives.
type QBlock<T> = (TileMut<T>, TileRef<T>, TileRef<T>, TileRef<T>);

impl<T: Scalar> Tsqr<T> {
    /// `A`'s shape.
    fn shape(&self) -> [usize; 2] {
        self.leaves.shape()
    }

    /// The first row of each leaf's part of the stack.
    fn offsets(&self) -> Vec<usize> {
        self.rows
            .iter()
            .scan(0, |o, &r| {
                *o += r;
                Some(*o - r)
            })
            .collect()
    }

    /// `R`, `min(m, n) × n` upper triangular (a copy).
    pub fn r(&self) -> Result<TiledMatrix<T>> {
        let [m, n] = self.shape();
        let f = self.top.get().v.unwrap_or_else(|| Tile::zeros(m.min(n), n));
        let e = |i: usize, j: usize| if i <= j { f[(i, j)] } else { T::of(0.0) };
        TiledMatrix::from_fn(m.min(n), n, self.tile, e)
    }

    /// The thin `Q`, `m × min(m, n)` with orthonormal columns, so that `A = Q·R`: the top
    /// factor's `Q` by one task, then each block row of `Q` by its own.
    pub fn q(&self, ctx: &Context) -> Result<TiledMatrix<T>> {
        if let Some(tb) = &self.blocks {
            return tiled_back(ctx, &tb.q(ctx)?, self.tile);
        }
        let [m, n] = self.shape();
        let p = m.min(n);
        let k: usize = self.rows.iter().sum();
        let q = TiledMatrix::zeros(m, p, [self.leaves.tile_shape()[0], p])?;
        let q_top = Data::new(Tile::zeros(0, 0));
        Tasks::run(ctx, |t| {
            let form_top = move |(top, mut qt): (DataRef<Panel<T>>, DataMut<Tile<T>>)| {
                let mut id = Tile::from_fn(k, p, |i, j| T::of(if i == j { 1.0 } else { 0.0 }));
                if let (Some(v), Some(h)) = (&top.v, &top.t) {
                    apply_q(&mut id, v, h, false);
                }
                *qt = id;
                Ok(())
            };
            t.spawn(form_top, (In(&self.top), Out(&q_top)));
            for (i, (&r0, &r)) in self.offsets().iter().zip(&self.rows).enumerate() {
                let form_block = move |(mut qi, v, h, qt): QBlock<T>| {
                    let mut c = Tile::zeros(v.nrows(), p);
                    c.as_mut()
                        .get_mut(..r, ..)
                        .copy_from(qt.as_ref().get(r0..r0 + r, ..));
                    apply_q(&mut c, &v, &h, false);
                    *qi = c;
                    Ok(())
                };
                let args = (
                    Out(q.tile(i, 0)),
                    In(self.leaves.tile(i, 0)),
                    In(&self.factors[i]),
                    In(&q_top),
                );
                t.spawn(form_block, args);
            }
        })?;
        q.retiled(self.tile)
    }

    /// The least-squares solution of `A·X ≈ B` (`m ≥ n`, full rank): `R⁻¹·(Qᵀ·B)[..n]`,
    /// with `Qᵀ·B` formed block row by block row.
    pub fn solve_least_squares(&self, ctx: &Context, b: &TiledMatrix<T>) -> Result<TiledMatrix<T>> {
        let [m, n] = self.shape();
        if m < n {
            return Err(mismatch(
                "least squares needs rows ≥ columns",
                [m, n],
                b.shape(),
            ));
        }
        if b.nrows() != m {
            return Err(mismatch("TSQR solve (A, B)", [m, n], b.shape()));
        }
        let nb = b.ncols();
        if let Some(tb) = &self.blocks {
            let pg = ProcessGrid::of(ctx, ctx.other_workers().len().max(1), 1)?;
            let x = b.retiled([self.leaves.tile_shape()[0], b.tile_shape()[1]])?;
            let x = x.to_darray()?.to_cyclic(&pg).compute(ctx)?;
            let tile = [self.tile[0], b.tile_shape()[1]];
            return tiled_back(ctx, &tb.solve_least_squares(ctx, &x)?, tile);
        }
        let x = b.retiled([self.leaves.tile_shape()[0], nb.max(1)])?;
        let stacked = Data::new(Tile::zeros(0, 0));
        let rows = self.rows.clone();
        Tasks::run(ctx, |t| {
            for i in 0..rows.len() {
                let apply_leaf = |(mut bi, v, h): (TileMut<T>, TileRef<T>, TileRef<T>)| {
                    apply_q(&mut bi, &v, &h, true);
                    Ok(())
                };
                let args = (
                    InOut(x.tile(i, 0)),
                    In(self.leaves.tile(i, 0)),
                    In(&self.factors[i]),
                );
                t.spawn(apply_leaf, args);
            }
            let apply_top = move |(bs, top, mut out): StackAndTop<T>| {
                let k = rows.iter().sum();
                let mut c = Tile::zeros(k, nb);
                let mut r0 = 0;
                for (bi, &r) in bs.iter().zip(&rows) {
                    c.as_mut()
                        .get_mut(r0..r0 + r, ..)
                        .copy_from(bi.as_ref().get(..r, ..));
                    r0 += r;
                }
                if let (Some(v), Some(h)) = (&top.v, &top.t) {
                    apply_q(&mut c, v, h, true);
                }
                *out = c.as_ref().get(..n, ..).to_owned();
                Ok(())
            };
            t.spawn(
                apply_top,
                (InOutTiles(x.column(0, 0)), In(&self.top), Out(&stacked)),
            );
        })?;
        let top = TiledMatrix::from_mat(stacked.get().as_ref(), b.tile_shape())?;
        solve_triangular(ctx, &self.r()?, Uplo::Upper, Trans::No, Diag::NonUnit, &top)
    }
}
