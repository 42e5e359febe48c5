//! Householder QR on a DArray's own blocks, where they live (as
//! [`cholesky_darray`](crate::cholesky_darray) and [`lu_darray`](crate::lu_darray)):
//! [`qr_darray`] and the [`QrBlocks`] factor object, whose reflectors, block factors and
//! `R` stay DArrays on the workers and which applies `Q`/`Qᵀ` and solves least squares
//! again without refactoring. Each step is one
//! [`update_blocks`](dagger_array::DArray::update_blocks) region of registered tile
//! kernels ([`crate::tile_tasks_qr`]): a panel task per block column (it reads the column
//! and returns it factored), each tile of the column taking its rows back, the panel's
//! block factor stored in a tile beside the diagonal tile, and per block column to its
//! right one task applying the panel's `Qᵀ` (its tiles then take their rows back).
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! use dagger_linalg::blocks_qr::qr_darray;
//! let ctx = dagger_sched::Context::builder().threads(2).build();
//! let a = ndarray::Array2::from_shape_fn((5, 3), |(i, j)| ((i * 7 + j * 3) % 5) as f64 + (i == j) as u8 as f64);
//! let d = DArray::from_array(a.clone().into_dyn(), &Blocks::from([2, 2])).unwrap();
//! let f = qr_darray(&ctx, &d).unwrap();
//! let q = f.q(&ctx).unwrap().collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
//! let r = f.r().collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
//! assert!((q.dot(&r) - &a).iter().all(|v| v.abs() < 1e-12));
//! ```

use crate::blocks::{beside, placed, square_blocks, zeros_on};
use crate::blocks_lu::solve_triangular_darray;
use crate::error::{mismatch, typed};
use crate::scalar::{QrPanel, Scalar};
use crate::tile::{Diag, Trans, Uplo};
use dagger_array::{BlockList, DArray, TrackedBlocks};
use dagger_core::{Error, Result, WorkerId};
use dagger_sched::{Context, DTask, In, InOut, Out};

/// A QR factorization `A = Q·R` whose factors are DArrays kept where their tiles were
/// computed: the reflectors below the diagonal of `factors` (`R` on and above it), each
/// panel's block factor in a tile of `tau`, and `R` itself.
#[derive(Clone, Debug)]
pub struct QrBlocks<T: Scalar> {
    factors: DArray<T>,
    tau: DArray<T>,
    r: DArray<T>,
}

/// Tile `(i, j)` of the column `j` tiles from block row `s` down take their rows of `p`
/// (stacked from block row `s`, tiles of `b` rows but the last).
pub(crate) fn take_back<T: Scalar>(
    ctx: &Context,
    t: &TrackedBlocks<T>,
    (s, j): (usize, usize),
    p: &DTask<QrPanel<T>>,
    b: usize,
) {
    let q = T::qr_kernels();
    for i in s..t.grid().grid_shape()[0] {
        let row0 = ((i - s) * b) as u64;
        ctx.spawn_registered(q.rows, (InOut(&t[[i, j]]), p, row0, u64::MAX));
    }
}

/// Block column `j` of `t` from block row `s` down, as one task argument.
fn column<T: Scalar>(t: &TrackedBlocks<T>, j: usize, s: usize) -> BlockList<'_, T> {
    BlockList((s..t.grid().grid_shape()[0]).map(|i| &t[[i, j]]).collect())
}

/// Panel `s`'s reflectors (`v`, its block factor in `tau`'s tile `s`) applied to block
/// column `j` of `x` from block row `s` down (`Qₛᵀ` if `transpose`), by one task beside the
/// column's top tile, its rows taken back into the column's tiles.
fn apply_panel<T: Scalar>(
    ctx: &Context,
    (v, tau): (&BlockList<'_, T>, &TrackedBlocks<T>),
    x: &TrackedBlocks<T>,
    (s, j): (usize, usize),
    transpose: bool,
    b: usize,
) {
    let c = column(x, j, s);
    let args = (
        In(v),
        In(&BlockList(vec![&tau[[s, 0]]])),
        0u64,
        In(&c),
        Vec::new(),
        transpose,
    );
    let p = ctx.spawn_registered_with(beside(&x[[s, j]]), T::qr_kernels().apply, args);
    take_back(ctx, x, (s, j), &p, b);
}

/// The owners of the blocks of rows `0..rows` and columns `0..cols` of a `gc`-column
/// block grid whose owners are `owners` (row-major).
fn corner(owners: &[WorkerId], gc: usize, rows: usize, cols: usize) -> Vec<WorkerId> {
    (0..rows)
        .flat_map(|i| (0..cols).map(move |j| owners[i * gc + j]))
        .collect()
}

/// Householder QR of the `m × n` DArray `a` (square blocks; the last row and column may be
/// ragged), computed on its blocks where they live: per block column a panel task beside
/// the diagonal tile, its rows back into the column's tiles, its block factor into a tile
/// of `tau` on the diagonal tile's worker, and `Qᵀ` applied to every block column to its
/// right by one task each (beside the column's top tile). `R` is then copied out of the
/// factors, tile by tile where they live. Blocks that are not square are an
/// [`Error::Argument`] (reblock first).
pub fn qr_darray<T: Scalar>(ctx: &Context, a: &DArray<T>) -> Result<QrBlocks<T>> {
    let b = square_blocks(a, "qr_darray")?;
    let (mut f, owners) = placed(ctx, a)?;
    let g = f.grid().grid_shape();
    let (gr, gc) = (g[0], g[1]);
    let kt = gr.min(gc);
    let diag = (0..kt).map(|s| owners[s * gc + s]).collect();
    let taut = zeros_on::<T>([kt * b, b], [b, b], diag, [kt, 1])?
        .tracked_blocks(ctx)
        .map_err(typed)?;
    let q = T::qr_kernels();
    f.update_blocks(ctx, |t| {
        for s in 0..kt {
            let col = column(t, s, s);
            let at = beside(&t[[s, s]]);
            let none = Vec::<u64>::new();
            let panel = ctx.spawn_registered_with(&at, q.panel, (In(&col), none, false));
            take_back(ctx, t, (s, s), &panel, b);
            ctx.spawn_registered(q.store, (Out(&taut[[s, 0]]), &panel, false));
            for j in s + 1..gc {
                apply_panel(ctx, (&col, &taut), t, (s, j), true, b);
            }
        }
    })
    .map_err(typed)?;
    let tau = taut.into_darray().map_err(typed)?;
    // R: the factors' upper part, in the top `min(m, n)` rows, tile by tile where they live.
    let [m, n] = [a.shape()[0], a.shape()[1]];
    let mut r = zeros_on::<T>([m.min(n), n], [b, b], corner(&owners, gc, kt, gc), [kt, gc])?;
    let ft = f.tracked_blocks(ctx).map_err(typed)?;
    r.update_blocks(ctx, |rt| {
        for i in 0..kt {
            for j in 0..gc {
                let from = (i * b) as i64 - (j * b) as i64;
                ctx.spawn_registered(q.copy_upper, (Out(&rt[[i, j]]), In(&ft[[i, j]]), from));
            }
        }
    })
    .map_err(typed)?;
    Ok(QrBlocks { factors: f, tau, r })
}

impl<T: Scalar> QrBlocks<T> {
    /// `R` above the diagonal and the Householder reflectors below it, in one DArray.
    pub fn factors(&self) -> &DArray<T> {
        &self.factors
    }

    /// `R`, `min(m, n) × n` upper triangular, in the factors' blocks (kept where the
    /// factors' top tiles are).
    pub fn r(&self) -> &DArray<T> {
        &self.r
    }

    /// The panels' block factors: tile `s` (of the factors' tile edge) holds panel `s`'s,
    /// on the worker of diagonal tile `s`.
    pub fn tau(&self) -> &DArray<T> {
        &self.tau
    }

    /// The tasks of `X ← Q·X` (`transpose`: `Qᵀ·X`) on `x`'s blocks, whose block rows are
    /// the factors' (`f`, `tau`: the factors' and block factors' tracked blocks).
    fn apply_tasks(
        ctx: &Context,
        (f, tau): (&TrackedBlocks<T>, &TrackedBlocks<T>),
        x: &TrackedBlocks<T>,
        transpose: bool,
        b: usize,
    ) {
        let kt = tau.grid().grid_shape()[0];
        // Q = H₀·H₁·…: Qᵀ applies the panels first to last, Q last to first.
        let order: Vec<usize> = if transpose {
            (0..kt).collect()
        } else {
            (0..kt).rev().collect()
        };
        for s in order {
            let v = column(f, s, s);
            for j in 0..x.grid().grid_shape()[1] {
                apply_panel(ctx, (&v, tau), x, (s, j), transpose, b);
            }
        }
    }

    /// `Q·B` (`transpose`: `Qᵀ·B`) for `B` with `m` rows in the factors' row blocks, on
    /// `b`'s blocks where they live (a copy of `b`): one region of a task per (panel, block
    /// column of `B`). Other row blocks are a [`Error::DimensionMismatch`].
    pub fn apply(&self, ctx: &Context, b: &DArray<T>, transpose: bool) -> Result<DArray<T>> {
        let f = &self.factors;
        let fits = b.shape().len() == 2 && b.grid().ranges()[0] == f.grid().ranges()[0];
        if !fits {
            return Err(Error::DimensionMismatch(format!(
                "QR apply Q: B {:?} in blocks {:?} needs A's {} rows in its row blocks {:?}",
                b.shape(),
                b.grid().block_shape(&[0, 0]),
                f.shape()[0],
                f.grid().block_shape(&[0, 0])
            )));
        }
        let bt = f.grid().block_shape(&[0, 0])[0];
        let (ft, taut) = (
            f.tracked_blocks(ctx).map_err(typed)?,
            self.tau.tracked_blocks(ctx).map_err(typed)?,
        );
        let mut x = b.clone();
        x.update_blocks(ctx, |xt| {
            Self::apply_tasks(ctx, (&ft, &taut), xt, transpose, bt)
        })
        .map_err(typed)?;
        Ok(x)
    }

    /// The thin `Q`, `m × min(m, n)` with orthonormal columns (`A = Q·R`), in the factors'
    /// blocks and on their workers: the identity's tiles made there, then `Q` applied.
    pub fn q(&self, ctx: &Context) -> Result<DArray<T>> {
        let f = &self.factors;
        let [m, n] = [f.shape()[0], f.shape()[1]];
        let b = f.grid().block_shape(&[0, 0])[0];
        let g = f.grid().grid_shape();
        let gp = m.min(n).div_ceil(b);
        let (_, owners) = placed(ctx, f)?;
        let at = corner(&owners, g[1], g[0], gp);
        let mut x = zeros_on::<T>([m, m.min(n)], [b, b], at, [g[0], gp])?;
        let (ft, taut) = (
            f.tracked_blocks(ctx).map_err(typed)?,
            self.tau.tracked_blocks(ctx).map_err(typed)?,
        );
        let eye = T::qr_kernels().eye;
        x.update_blocks(ctx, |xt| {
            for i in 0..g[0] {
                for j in 0..gp {
                    let shift = (i * b) as i64 - (j * b) as i64;
                    ctx.spawn_registered(eye, (Out(&xt[[i, j]]), shift, u64::MAX));
                }
            }
            Self::apply_tasks(ctx, (&ft, &taut), xt, false, b)
        })
        .map_err(typed)?;
        Ok(x)
    }

    /// The least-squares solution of `A·X ≈ B` (`m ≥ n`, full rank; `B` in the factors'
    /// row blocks): `R⁻¹·(Qᵀ·B)[..n]`, every step on the workers where the tiles live.
    pub fn solve_least_squares(&self, ctx: &Context, b: &DArray<T>) -> Result<DArray<T>> {
        let [m, n] = [self.factors.shape()[0], self.factors.shape()[1]];
        if m < n {
            let bs = [b.shape()[0], b.shape().get(1).copied().unwrap_or(1)];
            return Err(mismatch("least squares needs rows ≥ columns", [m, n], bs));
        }
        let y = self.apply(ctx, b, true)?;
        let top = top_rows(ctx, &y, n)?;
        solve_triangular_darray(ctx, &self.r, Uplo::Upper, Trans::No, Diag::NonUnit, &top)
    }
}

/// The first `n` rows of the 2-d `y` (a whole number of its block rows, the last one cut),
/// copied tile by tile on the workers holding them.
pub(crate) fn top_rows<T: Scalar>(ctx: &Context, y: &DArray<T>, n: usize) -> Result<DArray<T>> {
    let (y, owners) = placed(ctx, y)?;
    let g = y.grid().grid_shape();
    let [br, bc] = [
        y.grid().block_shape(&[0, 0])[0],
        y.grid().block_shape(&[0, 0])[1],
    ];
    let rows = n.div_ceil(br);
    let at = corner(&owners, g[1], rows, g[1]);
    let mut top = zeros_on::<T>([n, y.shape()[1]], [br, bc], at, [rows, g[1]])?;
    let yt = y.tracked_blocks(ctx).map_err(typed)?;
    let copy = T::qr_kernels().copy_upper;
    top.update_blocks(ctx, |tt| {
        for i in 0..rows {
            for j in 0..g[1] {
                ctx.spawn_registered(copy, (Out(&tt[[i, j]]), In(&yt[[i, j]]), i64::MIN));
            }
        }
    })
    .map_err(typed)?;
    Ok(top)
}
