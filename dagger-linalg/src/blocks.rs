//! Tiled algorithms on a DArray's own blocks, where they live: [`cholesky_darray`] is the
//! right-looking Cholesky as one [`update_blocks`](dagger_array::DArray::update_blocks)
//! region of registered tile kernels ([`crate::tile_tasks`]). On a cluster each kernel runs
//! on the worker holding the tile it writes, the tiles it reads come to it from their
//! workers (once per version), and the factor's tiles stay where they were computed.
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! use dagger_linalg::{blocks::cholesky_darray, Uplo};
//! let ctx = dagger_sched::Context::builder().threads(2).build();
//! let a = ndarray::Array2::from_shape_fn((5, 5), |(i, j)| if i == j { 6.0f64 } else { 1.0 });
//! let d = DArray::from_array(a.clone().into_dyn(), &Blocks::from([2, 2])).unwrap();
//! let l = cholesky_darray(&ctx, &d, Uplo::Lower).unwrap().collect_dense(&ctx).unwrap();
//! let l = l.into_dimensionality::<ndarray::Ix2>().unwrap();
//! let r = &l.dot(&l.t()) - &a;
//! assert!(r.iter().all(|v| v.abs() < 1e-12) && l[[0, 1]] == 0.0);
//! ```

use crate::error::{mismatch, typed};
use crate::scalar::{Scalar, TileKernels};
use crate::tile::Uplo;
use crate::tiled::TiledMatrix;
use dagger_array::cyclic::ProcessGrid;
use dagger_array::{Blocks, DArray, TrackedBlock, TrackedBlocks};
use dagger_core::{Error, Options, Result, Scope, WorkerId};
use dagger_sched::{Context, DTask, In, InOut, Out};

/// Whether `ctx` has worker processes besides this one.
pub(crate) fn on_cluster(ctx: &Context) -> bool {
    ctx.workers().iter().any(|w| *w != ctx.worker_id())
}

/// Options placing a task that only reads `b` where `b` lives (a reader goes where the
/// scheduler's cost puts it, which may be the driver: the panel and the row exports run
/// beside their tiles instead).
pub(crate) fn beside<T: Scalar>(b: &TrackedBlock<T>) -> Options {
    match b.owner() {
        Some(w) => Options::new().scope(Scope::Process(w)),
        None => Options::new(),
    }
}

/// The tile edge of `a`'s square blocks (the last row and column may be ragged).
pub(crate) fn square_blocks<T: Scalar>(a: &DArray<T>, what: &str) -> Result<usize> {
    if a.shape().len() != 2 {
        let s = [a.shape()[0], 1];
        return Err(mismatch(what, s, s));
    }
    let b = a.grid().block_shape(&[0, 0]);
    if b[0] != b[1] {
        return Err(Error::Argument(format!(
            "{what} needs square blocks, got {b:?} (reblock first)"
        )));
    }
    Ok(b[0])
}

/// Where each block of `a` lives (row-major), computing `a` first if it is lazy; and the
/// computed array.
pub(crate) fn placed<T: Scalar>(
    ctx: &Context,
    a: &DArray<T>,
) -> Result<(DArray<T>, Vec<WorkerId>)> {
    let a = match a.chunks() {
        Some(_) => a.clone(),
        None => a.compute(ctx).map_err(typed)?,
    };
    let owners = a
        .chunks()
        .unwrap_or_default()
        .iter()
        .map(|c| c.owner())
        .collect();
    Ok((a, owners))
}

/// A zero `shape` array in blocks of `block` whose `rows × cols` blocks are made on
/// `owners` (row-major): the side outputs of an algorithm, beside the tiles they belong to.
pub(crate) fn zeros_on<T: Scalar>(
    shape: [usize; 2],
    block: [usize; 2],
    owners: Vec<WorkerId>,
    [rows, cols]: [usize; 2],
) -> Result<DArray<T>> {
    let pg = ProcessGrid::new(owners, rows, cols)?;
    DArray::fill_cyclic(T::of(0.0), &Blocks::from(block), &shape, &pg)
}

/// `a` computed on `ctx`'s worker processes only, block-cyclic over the most square grid
/// of them ([`ProcessGrid::square`]: block `(i, j)` on the worker at `(i mod p, j mod q)`),
/// so that every step of a tiled factorization keeps every worker busy. Blocks move there
/// from wherever they are (the driver, for an array made from a local matrix).
pub fn to_workers<T: Scalar>(ctx: &Context, a: &DArray<T>) -> Result<DArray<T>> {
    let pg = ProcessGrid::square(ctx)?;
    a.to_cyclic(&pg).compute(ctx).map_err(typed)
}

/// The tiled `a` (in this process) as a DArray in its tiles on `ctx`'s workers
/// ([`to_workers`]): how the [`TiledMatrix`] calls reach the `*_darray` algorithms on a
/// cluster.
pub(crate) fn tiled_to_workers<T: Scalar>(ctx: &Context, a: &TiledMatrix<T>) -> Result<DArray<T>> {
    to_workers(ctx, &a.to_darray()?)
}

/// The DArray `d` back in this process, in tiles of `tile`.
pub(crate) fn tiled_back<T: Scalar>(
    ctx: &Context,
    d: &DArray<T>,
    tile: [usize; 2],
) -> Result<TiledMatrix<T>> {
    TiledMatrix::from_darray_tiled(d, ctx, tile)
}

/// The Cholesky factor of the symmetric positive definite `a` (its `uplo` triangle is
/// read), computed in place on `a`'s blocks where they live; the other strict triangle of
/// the factor is zero. The blocks must be square (`Blocks([b, b])`; the last row and
/// column of blocks may be ragged). A pivot that is not positive is
/// [`Error::NotPositiveDefinite`] naming the tile and the pivot; a non-square `a` or
/// blocks, [`Error::DimensionMismatch`] / [`Error::Argument`].
pub fn cholesky_darray<T: Scalar>(ctx: &Context, a: &DArray<T>, uplo: Uplo) -> Result<DArray<T>> {
    let shape = a.shape().to_vec();
    if shape.len() != 2 || shape[0] != shape[1] {
        let s = [shape[0], shape.get(1).copied().unwrap_or(1)];
        return Err(mismatch("cholesky of a non-square matrix", s, s));
    }
    let b = a.grid().block_shape(&[0, 0]);
    if b[0] != b[1] {
        return Err(Error::Argument(format!(
            "cholesky_darray needs square blocks, got {b:?} (reblock first)"
        )));
    }
    let mut f = a.clone();
    let k = T::tile_kernels();
    let results = f
        .update_blocks(ctx, |t| factor(ctx, t, uplo, b[0] as u64, k))
        .map_err(typed)?;
    for r in results {
        r.fetch()??;
    }
    Ok(f)
}

/// The region's tasks: potrf, trsm, syrk and gemm per step (as [`crate::cholesky`]), then
/// the other triangle's tiles zeroed. Returns every kernel's result.
fn factor<T: Scalar>(
    ctx: &Context,
    t: &TrackedBlocks<T>,
    uplo: Uplo,
    b: u64,
    k: TileKernels<T>,
) -> Vec<DTask<Result<()>>> {
    let nt = t.grid().grid_shape()[0];
    let lower = uplo == Uplo::Lower;
    let mut out = Vec::new();
    for s in 0..nt {
        let d = &t[[s, s]];
        out.push(ctx.spawn_registered(k.potrf, (InOut(d), lower, s as u64, b)));
        // Lower: A[i,s] ← A[i,s]·L⁻ᵀ, A[i,j] −= A[i,s]·A[j,s]ᵀ (s < j ≤ i). Upper: the
        // transposes (A[s,j] ← U⁻ᵀ·A[s,j], A[i,j] −= A[s,i]ᵀ·A[s,j]).
        let panel = |i: usize| if lower { &t[[i, s]] } else { &t[[s, i]] };
        for i in s + 1..nt {
            out.push(ctx.spawn_registered(k.trsm, (InOut(panel(i)), In(d), lower, lower, true)));
        }
        for i in s + 1..nt {
            let diag = &t[[i, i]];
            out.push(ctx.spawn_registered(k.syrk, (InOut(diag), In(panel(i)), !lower, lower)));
            for j in s + 1..i {
                let (c, x, y) = if lower {
                    (&t[[i, j]], panel(i), panel(j))
                } else {
                    (&t[[j, i]], panel(j), panel(i))
                };
                out.push(ctx.spawn_registered(k.gemm, (InOut(c), In(x), !lower, In(y), lower)));
            }
        }
    }
    for i in 0..nt {
        for j in 0..nt {
            if (lower && j > i) || (!lower && j < i) {
                out.push(ctx.spawn_registered(k.zero, (Out(&t[[i, j]]),)));
            }
        }
    }
    out
}
