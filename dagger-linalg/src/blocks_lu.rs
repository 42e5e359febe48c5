//! LU and triangular solves on a DArray's own blocks, where they live (as
//! [`cholesky_darray`](crate::cholesky_darray)): [`lu_darray`] (partial pivoting),
//! [`lu_nopiv_darray`], [`solve_triangular_darray`], and the [`LuBlocks`] factor object
//! whose factors stay a DArray on the workers and which solves again without refactoring.
//! Each is one [`update_blocks`](dagger_array::DArray::update_blocks) region of registered
//! tile kernels ([`crate::tile_tasks`], [`crate::tile_tasks_lu`]); a pivoted panel and its
//! row swaps travel between the workers as the few rows they move (see
//! [`crate::tile_tasks_lu`]).
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! use dagger_linalg::blocks_lu::lu_darray;
//! let ctx = dagger_sched::Context::builder().threads(2).build();
//! let a = ndarray::Array2::from_shape_fn((5, 5), |(i, j)| ((i * 7 + j * 3) % 5) as f64 + (i == j) as u8 as f64);
//! let d = DArray::from_array(a.clone().into_dyn(), &Blocks::from([2, 2])).unwrap();
//! let b = DArray::from_array(ndarray::Array2::<f64>::ones((5, 1)).into_dyn(), &Blocks::from([2, 1])).unwrap();
//! let x = lu_darray(&ctx, &d).unwrap().solve(&ctx, &b).unwrap().collect_dense(&ctx).unwrap();
//! let x = x.into_dimensionality::<ndarray::Ix2>().unwrap();
//! assert!(a.dot(&x).iter().all(|v| (v - 1.0).abs() < 1e-12));
//! ```

use crate::blocks::{beside, square_blocks};
use crate::error::{mismatch, typed};
use crate::tile::{solve_steps, Diag, Trans, Triangle, Uplo};
use crate::tile_tasks_lu::LuScalar;
use dagger_array::{BlockList, DArray, TrackedBlocks};
use dagger_core::{Error, Result};
use dagger_sched::{All, Context, DTask, In, InOut};

/// An LU factorization `P·A = L·U` whose factors are a DArray (`L` below the diagonal, unit
/// diagonal implied, `U` on and above it), kept where its tiles were computed.
#[derive(Clone, Debug)]
pub struct LuBlocks<T: LuScalar> {
    factors: DArray<T>,
    perm: Vec<usize>,
}

/// LU with partial pivoting of the `m × n` DArray `a` (square blocks), computed on its
/// blocks where they live: per block column a panel task (it reads the column and returns
/// it factored), each tile of the column taking its rows back, the panel's row swaps on
/// every other block column, `trsm` on the block row and `gemm` on the trailing tiles. An
/// exactly zero pivot is [`Error::Singular`] naming the diagonal tile and the pivot (and
/// nothing after it runs).
pub fn lu_darray<T: LuScalar>(ctx: &Context, a: &DArray<T>) -> Result<LuBlocks<T>> {
    let b = square_blocks(a, "lu_darray")?;
    let l = T::lu_kernels();
    let mut f = a.clone();
    let perms = f
        .update_blocks(ctx, |t| {
            let g = t.grid().grid_shape();
            let (gr, gc) = (g[0], g[1]);
            let mut perms = Vec::new();
            for s in 0..gr.min(gc) {
                let col = BlockList((s..gr).map(|i| &t[[i, s]]).collect());
                let at = beside(&t[[s, s]]);
                let panel = ctx.spawn_registered_with(&at, l.panel, (In(&col), s as u64, b as u64));
                let perm = ctx.spawn_registered_with(&at, l.perm, (&panel,));
                for i in s..gr {
                    let row0 = ((i - s) * b) as u64;
                    ctx.spawn_registered(l.panel_out, (InOut(&t[[i, s]]), &panel, row0));
                }
                for j in (0..gc).filter(|j| *j != s) {
                    swap_rows(ctx, t, (j, s), &Perm::Task(&perm), (s * b) as u64, b);
                    if j > s {
                        let args = (InOut(&t[[s, j]]), In(&t[[s, s]]), false, true, false);
                        ctx.spawn_registered(l.trsm_unit, args);
                    }
                }
                trailing_update(ctx, t, s);
                perms.push(perm);
            }
            perms
        })
        .map_err(typed)?;
    let m = a.shape()[0];
    let mut perm: Vec<usize> = (0..m).collect();
    for (s, p) in perms.iter().enumerate() {
        let p = p.fetch().map_err(typed)?;
        let old = perm[s * b..].to_vec();
        for (i, &q) in p.iter().enumerate() {
            perm[s * b + i] = old[q as usize];
        }
    }
    Ok(LuBlocks { factors: f, perm })
}

/// A row permutation: a panel task's result, or known here (a factor's, for a solve).
enum Perm<'a> {
    Task(&'a DTask<Vec<u64>>),
    Known(&'a [u64]),
}

/// Step `s`'s trailing update: `A[i,j] −= A[i,s]·A[s,j]` for every `i, j > s` of the
/// block grid (the same in the pivoted and the unpivoted LU).
fn trailing_update<T: LuScalar>(ctx: &Context, t: &TrackedBlocks<T>, s: usize) {
    let k = T::tile_kernels();
    let [gr, gc] = [t.grid().grid_shape()[0], t.grid().grid_shape()[1]];
    for i in s + 1..gr {
        for j in s + 1..gc {
            let args = (
                InOut(&t[[i, j]]),
                In(&t[[i, s]]),
                false,
                In(&t[[s, j]]),
                false,
            );
            ctx.spawn_registered(k.gemm, args);
        }
    }
}

/// The row permutation `perm` of the rows from `first` applied to block column `j` from
/// block row `s` down: each tile sends the rows it is the source of, and each takes the
/// rows that land in it.
fn swap_rows<T: LuScalar>(
    ctx: &Context,
    t: &TrackedBlocks<T>,
    (j, s): (usize, usize),
    perm: &Perm<'_>,
    first: u64,
    b: usize,
) {
    let l = T::lu_kernels();
    let gr = t.grid().grid_shape()[0];
    let sent: Vec<_> = (s..gr)
        .map(|i| {
            let (x, row0, at) = (In(&t[[i, j]]), (i * b) as u64, beside(&t[[i, j]]));
            match perm {
                Perm::Task(p) => ctx.spawn_registered_with(at, l.rows_out, (x, *p, first, row0)),
                Perm::Known(p) => {
                    ctx.spawn_registered_with(at, l.rows_out, (x, p.to_vec(), first, row0))
                }
            }
        })
        .collect();
    for i in s..gr {
        let (x, row0, all) = (InOut(&t[[i, j]]), (i * b) as u64, All(sent.clone()));
        match perm {
            Perm::Task(p) => ctx.spawn_registered(l.rows_in, (x, *p, first, row0, all)),
            Perm::Known(p) => ctx.spawn_registered(l.rows_in, (x, p.to_vec(), first, row0, all)),
        };
    }
}

/// LU without pivoting, `A = L·U`, on `a`'s blocks where they live (for matrices known not
/// to need pivoting, e.g. diagonally dominant ones): tile `getrf`, `trsm` and `gemm`. The
/// permutation is the identity; an exactly zero pivot is [`Error::Singular`].
pub fn lu_nopiv_darray<T: LuScalar>(ctx: &Context, a: &DArray<T>) -> Result<LuBlocks<T>> {
    let b = square_blocks(a, "lu_nopiv_darray")?;
    let (k, l) = (T::tile_kernels(), T::lu_kernels());
    let mut f = a.clone();
    f.update_blocks(ctx, |t| {
        let g = t.grid().grid_shape();
        let (gr, gc) = (g[0], g[1]);
        for s in 0..gr.min(gc) {
            let d = &t[[s, s]];
            ctx.spawn_registered(l.getrf_nopiv, (InOut(d), s as u64, b as u64));
            for i in s + 1..gr {
                // A[i,s] ← A[i,s]·U[s,s]⁻¹.
                ctx.spawn_registered(k.trsm, (InOut(&t[[i, s]]), In(d), true, false, false));
            }
            for j in s + 1..gc {
                // A[s,j] ← L[s,s]⁻¹·A[s,j].
                let args = (InOut(&t[[s, j]]), In(d), false, true, false);
                ctx.spawn_registered(l.trsm_unit, args);
            }
            trailing_update(ctx, t, s);
        }
    })
    .map_err(typed)?;
    let perm = (0..a.shape()[0]).collect();
    Ok(LuBlocks { factors: f, perm })
}

/// The tasks of `op(A)·X = X` (X overwritten) for the triangular `a` (its `uplo` triangle)
/// on `x`'s blocks, whose block rows are `a`'s tiles: per step a `trsm` on each block of
/// the row, then `gemm` on the blocks of the rows after it (in [`solve_steps`] order).
fn trsm_tasks<T: LuScalar>(
    ctx: &Context,
    a: &TrackedBlocks<T>,
    op: Triangle,
    x: &TrackedBlocks<T>,
) {
    let (k, l) = (T::tile_kernels(), T::lu_kernels());
    let (uplo, trans, diag) = op;
    let steps = solve_steps(op, a.grid().grid_shape()[0]);
    let nc = x.grid().grid_shape()[1];
    let (lower, tr) = (uplo == Uplo::Lower, trans.is_yes());
    for (step, &s) in steps.iter().enumerate() {
        for c in 0..nc {
            let args = (InOut(&x[[s, c]]), In(&a[[s, s]]), false, lower, tr);
            match diag {
                Diag::Unit => ctx.spawn_registered(l.trsm_unit, args),
                Diag::NonUnit => ctx.spawn_registered(k.trsm, args),
            };
        }
        for &i in &steps[step + 1..] {
            // X[i] −= op(A)[i,s]·X[s]; op(A)[i,s] is A[s,i]ᵀ when transposed.
            let ais = if tr { &a[[s, i]] } else { &a[[i, s]] };
            for c in 0..nc {
                let args = (InOut(&x[[i, c]]), In(ais), tr, In(&x[[s, c]]), false);
                ctx.spawn_registered(k.gemm, args);
            }
        }
    }
}

/// `b`'s blocking checked against the tiles of `a` (its block rows are `a`'s).
fn check_rhs<T: LuScalar>(a: &DArray<T>, b: &DArray<T>, what: &str) -> Result<()> {
    let fits = b.shape().len() == 2
        && b.shape()[0] == a.shape()[1]
        && b.grid().ranges()[0] == a.grid().ranges()[1];
    if fits {
        return Ok(());
    }
    let s = |x: &DArray<T>| [x.shape()[0], x.shape().get(1).copied().unwrap_or(1)];
    Err(Error::DimensionMismatch(format!(
        "{what}: B {:?} in blocks {:?} needs {} rows in A's row blocks (A {:?} in blocks {:?})",
        s(b),
        b.grid().block_shape(&[0, 0]),
        a.shape()[1],
        s(a),
        a.grid().block_shape(&[0, 0])
    )))
}

/// `op(A)⁻¹·B` for the triangular `a` (its `uplo` triangle, square blocks), computed on
/// `b`'s blocks where they live (a copy of `b`; its block rows must be `a`'s tiles).
pub fn solve_triangular_darray<T: LuScalar>(
    ctx: &Context,
    a: &DArray<T>,
    uplo: Uplo,
    trans: Trans,
    diag: Diag,
    b: &DArray<T>,
) -> Result<DArray<T>> {
    square_blocks(a, "solve_triangular_darray")?;
    check_rhs(a, b, "solve_triangular_darray")?;
    let at = a.tracked_blocks(ctx).map_err(typed)?;
    let mut x = b.clone();
    x.update_blocks(ctx, |xt| trsm_tasks(ctx, &at, (uplo, trans, diag), xt))
        .map_err(typed)?;
    Ok(x)
}

impl<T: LuScalar> LuBlocks<T> {
    /// `L` and `U` in one DArray, as LAPACK stores them.
    pub fn factors(&self) -> &DArray<T> {
        &self.factors
    }

    /// The row permutation: row `i` of `P·A` is row `perm[i]` of `A`.
    pub fn perm(&self) -> &[usize] {
        &self.perm
    }

    /// Solves `A·X = B` (square `A`) with the kept factors, on `b`'s blocks where they live
    /// (a copy of `b`, whose block rows must be the factors' tiles): `B`'s rows permuted,
    /// then the two triangular solves, in one region.
    pub fn solve(&self, ctx: &Context, b: &DArray<T>) -> Result<DArray<T>> {
        let f = &self.factors;
        if f.shape()[0] != f.shape()[1] {
            return Err(mismatch(
                "LU solve of a non-square A",
                [f.shape()[0], f.shape()[1]],
                [f.shape()[0], f.shape()[1]],
            ));
        }
        check_rhs(f, b, "LU solve (A, B)")?;
        let bt = f.grid().block_shape(&[0, 0])[0];
        let perm: Vec<u64> = self.perm.iter().map(|&p| p as u64).collect();
        let moved = perm.iter().enumerate().any(|(i, p)| *p != i as u64);
        let at = f.tracked_blocks(ctx).map_err(typed)?;
        let mut x = b.clone();
        x.update_blocks(ctx, |xt| {
            if moved {
                for j in 0..xt.grid().grid_shape()[1] {
                    swap_rows(ctx, xt, (j, 0), &Perm::Known(&perm), 0, bt);
                }
            }
            trsm_tasks(ctx, &at, (Uplo::Lower, Trans::No, Diag::Unit), xt);
            trsm_tasks(ctx, &at, (Uplo::Upper, Trans::No, Diag::NonUnit), xt);
        })
        .map_err(typed)?;
        Ok(x)
    }
}

/// `A⁻¹·B` by LU with partial pivoting, on the workers where the blocks live (see
/// [`lu_darray`] and [`LuBlocks::solve`]).
pub fn solve_darray<T: LuScalar>(ctx: &Context, a: &DArray<T>, b: &DArray<T>) -> Result<DArray<T>> {
    lu_darray(ctx, a)?.solve(ctx, b)
}

/// A Cholesky factorization `A = L·Lᵀ` (or `Uᵀ·U`) whose factor is a DArray kept where
/// its tiles were computed ([`cholesky_darray`](crate::cholesky_darray)), to solve again
/// without refactoring.
#[derive(Clone, Debug)]
pub struct CholeskyBlocks<T: LuScalar> {
    factor: DArray<T>,
    uplo: Uplo,
}

/// The Cholesky factorization of `a` on its blocks where they live (see
/// [`cholesky_darray`](crate::cholesky_darray)), as a factor object.
pub fn cholesky_blocks<T: LuScalar>(
    ctx: &Context,
    a: &DArray<T>,
    uplo: Uplo,
) -> Result<CholeskyBlocks<T>> {
    let factor = crate::blocks::cholesky_darray(ctx, a, uplo)?;
    Ok(CholeskyBlocks { factor, uplo })
}

impl<T: LuScalar> CholeskyBlocks<T> {
    /// The triangular factor (`L` or `U`), the other strict triangle zero.
    pub fn factor(&self) -> &DArray<T> {
        &self.factor
    }

    /// Solves `A·X = B` with the kept factor on `b`'s blocks where they live (a copy of
    /// `b`, whose block rows must be the factor's tiles): two triangular solves in one
    /// region.
    pub fn solve(&self, ctx: &Context, b: &DArray<T>) -> Result<DArray<T>> {
        check_rhs(&self.factor, b, "cholesky solve (A, B)")?;
        // L·Lᵀ·X = B: L·Y = B, then Lᵀ·X = Y (Uᵀ·U: Uᵀ·Y = B, then U·X = Y).
        let (first, second) = match self.uplo {
            Uplo::Lower => (Trans::No, Trans::Yes),
            Uplo::Upper => (Trans::Yes, Trans::No),
        };
        let at = self.factor.tracked_blocks(ctx).map_err(typed)?;
        let mut x = b.clone();
        x.update_blocks(ctx, |xt| {
            trsm_tasks(ctx, &at, (self.uplo, first, Diag::NonUnit), xt);
            trsm_tasks(ctx, &at, (self.uplo, second, Diag::NonUnit), xt);
        })
        .map_err(typed)?;
        Ok(x)
    }
}
