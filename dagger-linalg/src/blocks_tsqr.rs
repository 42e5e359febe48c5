//! TSQR on a DArray's own blocks, where they live: [`tsqr_darray`] factors each block row
//! of a tall-skinny DArray on the worker holding it (in parallel), then the stacked `R`
//! factors of the block rows by one task; the [`TsqrBlocks`] factor object keeps the
//! block rows' reflectors, their block factors and the top factor as DArrays on the
//! workers, and applies `Q`/`Qᵀ`, forms the thin `Q` and solves least squares from them
//! (as [`tsqr`](crate::tsqr()) does for a [`TiledMatrix`](crate::TiledMatrix)).
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! use dagger_linalg::blocks_tsqr::tsqr_darray;
//! let ctx = dagger_sched::Context::builder().threads(2).build();
//! // 40 × 3 in 4 block rows of 10.
//! let a = ndarray::Array2::from_shape_fn((40, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 + (i == j) as u8 as f64);
//! let d = DArray::from_array(a.clone().into_dyn(), &Blocks::from([10, 3])).unwrap();
//! let f = tsqr_darray(&ctx, &d).unwrap();
//! let q = f.q(&ctx).unwrap().collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
//! let r = f.r().collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
//! assert!((q.dot(&r) - &a).iter().all(|v| v.abs() < 1e-12));
//! ```

use crate::blocks::{beside, placed, zeros_on};
use crate::blocks_lu::solve_triangular_darray;
use crate::error::{mismatch, typed};
use crate::scalar::Scalar;
use crate::tile::{Diag, Trans, Uplo};
use dagger_array::{BlockList, DArray, TrackedBlocks};
use dagger_core::{Error, Result};
use dagger_sched::{Context, In, InOut, Out};

/// A TSQR factorization `A = Q·R` of an `m × n` DArray in one block column, its factors
/// DArrays kept where they were computed.
#[derive(Clone, Debug)]
pub struct TsqrBlocks<T: Scalar> {
    /// Each block row factored where it lives: `Rᵢ` on and above the diagonal, the block
    /// row's reflectors below it.
    leaves: DArray<T>,
    /// Block row `i`'s block factor in tile `i` (`n × n`), on the same worker.
    tau: DArray<T>,
    /// One tile: the stacked leaf `R`s factored (rows `0..k`), their block factor below.
    top: DArray<T>,
    /// `R`, `min(m, n) × n`, one tile beside the top factor.
    r: DArray<T>,
    /// Rows each block row gives the stack: `min(mᵢ, n)`.
    rows: Vec<u64>,
}

/// TSQR of the tall-skinny `a`, which is one block column (`Blocks([rows, n])`): one panel
/// task per block row on the worker holding it, then one on the first block row's worker
/// for the stacked `R`s. More block columns are an [`Error::Argument`]; an empty matrix,
/// [`Error::DimensionMismatch`].
pub fn tsqr_darray<T: Scalar>(ctx: &Context, a: &DArray<T>) -> Result<TsqrBlocks<T>> {
    let shape = a.shape().to_vec();
    if shape.len() != 2 || shape[0] == 0 || shape[1] == 0 {
        let s = [shape[0], shape.get(1).copied().unwrap_or(0)];
        return Err(mismatch("TSQR needs a non-empty matrix", s, [1, 1]));
    }
    let g = a.grid().grid_shape();
    if g[1] != 1 {
        return Err(Error::Argument(format!(
            "tsqr_darray needs one block column (Blocks([rows, {}])), got {g:?} blocks",
            shape[1]
        )));
    }
    let (mut leaves, owners) = placed(ctx, a)?;
    let (gr, n) = (g[0], shape[1]);
    let rows: Vec<u64> = a.grid().ranges()[0]
        .iter()
        .map(|r| r.len().min(n) as u64)
        .collect();
    let k: usize = rows.iter().sum::<u64>() as usize;
    let taut = zeros_on::<T>([gr * n, n], [n, n], owners.clone(), [gr, 1])?
        .tracked_blocks(ctx)
        .map_err(typed)?;
    let topt = zeros_on::<T>([k + n, n], [k + n, n], vec![owners[0]], [1, 1])?;
    let topt = topt.tracked_blocks(ctx).map_err(typed)?;
    let q = T::qr_kernels();
    leaves
        .update_blocks(ctx, |t| {
            let none = Vec::<u64>::new;
            for i in 0..gr {
                let leaf = BlockList(vec![&t[[i, 0]]]);
                let at = beside(&t[[i, 0]]);
                let p = ctx.spawn_registered_with(&at, q.panel, (In(&leaf), none(), false));
                ctx.spawn_registered(q.rows, (InOut(&t[[i, 0]]), &p, 0u64, u64::MAX));
                ctx.spawn_registered(q.store, (Out(&taut[[i, 0]]), &p, false));
            }
            let all = BlockList(t.iter().collect());
            let args = (In(&all), rows.clone(), true);
            let p = ctx.spawn_registered_with(beside(&topt[[0, 0]]), q.panel, args);
            ctx.spawn_registered(q.store, (Out(&topt[[0, 0]]), &p, true));
        })
        .map_err(typed)?;
    let top = topt.into_darray().map_err(typed)?;
    let mut r = zeros_on::<T>(
        [shape[0].min(n), n],
        [shape[0].min(n), n],
        vec![owners[0]],
        [1, 1],
    )?;
    let tt = top.tracked_blocks(ctx).map_err(typed)?;
    r.update_blocks(ctx, |rt| {
        ctx.spawn_registered(q.copy_upper, (Out(&rt[[0, 0]]), In(&tt[[0, 0]]), 0i64));
    })
    .map_err(typed)?;
    Ok(TsqrBlocks {
        leaves,
        tau: taut.into_darray().map_err(typed)?,
        top,
        r,
        rows,
    })
}

/// The factors' tracked blocks: the leaves, their block factors and the top factor.
type Factors<'a, T> = (
    &'a TrackedBlocks<T>,
    &'a TrackedBlocks<T>,
    &'a TrackedBlocks<T>,
);

impl<T: Scalar> TsqrBlocks<T> {
    /// Each block row factored (`Rᵢ` and its reflectors), one block column.
    pub fn leaves(&self) -> &DArray<T> {
        &self.leaves
    }

    /// `R`, `min(m, n) × n` upper triangular, one tile.
    pub fn r(&self) -> &DArray<T> {
        &self.r
    }

    /// The first row of each block row's part of the stack.
    fn offsets(&self) -> Vec<u64> {
        self.rows
            .iter()
            .scan(0, |o, &r| {
                *o += r;
                Some(*o - r)
            })
            .collect()
    }

    /// The tasks of `X ← Q·X` (`transpose`: `Qᵀ·X`) on `x`'s blocks (the leaves' block
    /// rows): each block row's `Qᵢ` on its own, the top factor's on the stacked rows (its
    /// result taken back by each block row, or, when `out` is given, by `out`'s one block
    /// row: the top `n` rows of `Qᵀ·X`).
    fn apply_tasks(
        &self,
        ctx: &Context,
        (lt, taut, topt): Factors<'_, T>,
        x: &TrackedBlocks<T>,
        transpose: bool,
        out: Option<&TrackedBlocks<T>>,
    ) {
        let q = T::qr_kernels();
        let k: u64 = self.rows.iter().sum();
        let gr = self.rows.len();
        let leaves = |j: usize| {
            for i in 0..gr {
                let (v, c) = (BlockList(vec![&lt[[i, 0]]]), BlockList(vec![&x[[i, j]]]));
                let args = (
                    In(&v),
                    In(&BlockList(vec![&taut[[i, 0]]])),
                    0u64,
                    In(&c),
                    Vec::new(),
                    transpose,
                );
                let p = ctx.spawn_registered_with(beside(&x[[i, j]]), q.apply, args);
                ctx.spawn_registered(q.rows, (InOut(&x[[i, j]]), &p, 0u64, u64::MAX));
            }
        };
        for j in 0..x.grid().grid_shape()[1] {
            if transpose {
                leaves(j);
            }
            let v = BlockList(vec![&topt[[0, 0]]]);
            let c = BlockList((0..gr).map(|i| &x[[i, j]]).collect());
            let args = (
                In(&v),
                In(&BlockList(vec![])),
                k,
                In(&c),
                self.rows.clone(),
                transpose,
            );
            let p = ctx.spawn_registered_with(beside(&x[[0, j]]), q.apply, args);
            match out {
                Some(o) => {
                    let n = self.leaves.shape()[1] as u64;
                    ctx.spawn_registered(q.rows, (Out(&o[[0, j]]), &p, 0u64, n));
                }
                None => {
                    for (i, (&r0, &r)) in self.offsets().iter().zip(&self.rows).enumerate() {
                        ctx.spawn_registered(q.rows, (InOut(&x[[i, j]]), &p, r0, r));
                    }
                }
            }
            if !transpose {
                leaves(j);
            }
        }
    }

    /// `B` checked against the leaves' block rows.
    fn check(&self, b: &DArray<T>) -> Result<()> {
        let l = &self.leaves;
        if b.shape().len() == 2 && b.grid().ranges()[0] == l.grid().ranges()[0] {
            return Ok(());
        }
        Err(Error::DimensionMismatch(format!(
            "TSQR apply Q: B {:?} in blocks {:?} needs A's {} rows in its row blocks {:?}",
            b.shape(),
            b.grid().block_shape(&[0, 0]),
            l.shape()[0],
            l.grid().block_shape(&[0, 0])
        )))
    }

    /// `Q·B` (`transpose`: `Qᵀ·B`, the full `m × m` `Q`) for `B` in the leaves' block rows,
    /// on `b`'s blocks where they live (a copy of `b`).
    pub fn apply(&self, ctx: &Context, b: &DArray<T>, transpose: bool) -> Result<DArray<T>> {
        self.check(b)?;
        let (lt, taut) = (
            self.leaves.tracked_blocks(ctx).map_err(typed)?,
            self.tau.tracked_blocks(ctx).map_err(typed)?,
        );
        let topt = self.top.tracked_blocks(ctx).map_err(typed)?;
        let mut x = b.clone();
        x.update_blocks(ctx, |xt| {
            self.apply_tasks(ctx, (&lt, &taut, &topt), xt, transpose, None)
        })
        .map_err(typed)?;
        Ok(x)
    }

    /// The thin `Q`, `m × min(m, n)` with orthonormal columns (`A = Q·R`), in the leaves'
    /// block rows and on their workers.
    pub fn q(&self, ctx: &Context) -> Result<DArray<T>> {
        let l = &self.leaves;
        let [m, n] = [l.shape()[0], l.shape()[1]];
        let (br, p) = (l.grid().block_shape(&[0, 0])[0], m.min(n));
        let (_, owners) = placed(ctx, l)?;
        let gr = owners.len();
        let mut x = zeros_on::<T>([m, p], [br, p], owners, [gr, 1])?;
        let (lt, taut) = (
            l.tracked_blocks(ctx).map_err(typed)?,
            self.tau.tracked_blocks(ctx).map_err(typed)?,
        );
        let topt = self.top.tracked_blocks(ctx).map_err(typed)?;
        let eye = T::qr_kernels().eye;
        x.update_blocks(ctx, |xt| {
            // The identity in stacked rows: row r of block row i is stacked row offᵢ + r.
            for (i, (&off, &r)) in self.offsets().iter().zip(&self.rows).enumerate() {
                ctx.spawn_registered(eye, (Out(&xt[[i, 0]]), off as i64, r));
            }
            self.apply_tasks(ctx, (&lt, &taut, &topt), xt, false, None)
        })
        .map_err(typed)?;
        Ok(x)
    }

    /// The least-squares solution of `A·X ≈ B` (`m ≥ n`, full rank; `B` in the leaves'
    /// block rows): `R⁻¹·(Qᵀ·B)[..n]`, the top rows gathered beside `R`.
    pub fn solve_least_squares(&self, ctx: &Context, b: &DArray<T>) -> Result<DArray<T>> {
        let [m, n] = [self.leaves.shape()[0], self.leaves.shape()[1]];
        if m < n {
            let bs = [b.shape()[0], b.shape().get(1).copied().unwrap_or(1)];
            return Err(mismatch("least squares needs rows ≥ columns", [m, n], bs));
        }
        self.check(b)?;
        let (lt, taut) = (
            self.leaves.tracked_blocks(ctx).map_err(typed)?,
            self.tau.tracked_blocks(ctx).map_err(typed)?,
        );
        let topt = self.top.tracked_blocks(ctx).map_err(typed)?;
        let (_, at) = placed(ctx, &self.r)?;
        let bc = b.grid().block_shape(&[0, 0])[1];
        let gc = b.grid().grid_shape()[1];
        let y = zeros_on::<T>([n, b.shape()[1]], [n, bc], vec![at[0]; gc], [1, gc])?;
        let yt = y.tracked_blocks(ctx).map_err(typed)?;
        let mut x = b.clone();
        x.update_blocks(ctx, |xt| {
            self.apply_tasks(ctx, (&lt, &taut, &topt), xt, true, Some(&yt))
        })
        .map_err(typed)?;
        let y = yt.into_darray().map_err(typed)?;
        solve_triangular_darray(ctx, &self.r, Uplo::Upper, Trans::No, Diag::NonUnit, &y)
    }
}
