//! The block kernel of `permutedims` with a new blocking ([`permute_region`]): one result
//! block cut from the source blocks it overlaps and written with its dimensions permuted,
//! in one pass. Swapping the first two dimensions (a matrix transpose, or the transpose of
//! a complex matrix of pairs `[n, m, 2]`) copies in cache-sized tiles straight between the
//! blocks' row-major storage; other orders go through permuted ndarray views.

use crate::block::Block;
use crate::index::{run, IndexPlan};
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice};
use std::ops::Range;

/// Tile edge of the transposing copy.
const TILE: usize = 32;

/// Whether `perm` is a permutation of `0..nd`.
pub fn is_permutation(perm: &[usize], nd: usize) -> bool {
    let mut seen = vec![false; nd];
    perm.len() == nd
        && perm
            .iter()
            .all(|&p| p < nd && !std::mem::replace(&mut seen[p], true))
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// One piece as ranges: `src[d]` of the source block, `dst[d]` of the region (source
/// dimension order).
struct Runs {
    src: Vec<Range<usize>>,
    dst: Vec<Range<usize>>,
}

/// Copies `r` of a row-major source block of `sshape` into a row-major result of `oshape`
/// whose first two dimensions are the source's swapped (the others equal and whole), tile
/// by tile.
fn transpose_tiles<T: Copy>(
    src: &[T],
    sshape: &[usize],
    dst: &mut [T],
    oshape: &[usize],
    r: &Runs,
) {
    let (ss, ds) = (strides(sshape), strides(oshape));
    let g: usize = sshape[2..].iter().product();
    let (rows, cols) = (r.src[0].clone(), r.src[1].clone());
    for i0 in rows.clone().step_by(TILE) {
        let i1 = (i0 + TILE).min(rows.end);
        for j0 in cols.clone().step_by(TILE) {
            let j1 = (j0 + TILE).min(cols.end);
            for j in j0..j1 {
                // Output row: source column j; output column: source row i.
                let orow = (r.dst[1].start + j - cols.start) * ds[0];
                for i in i0..i1 {
                    let so = i * ss[0] + j * ss[1];
                    let d = orow + (r.dst[0].start + i - rows.start) * ds[1];
                    match g {
                        1 => dst[d] = src[so],
                        2 => {
                            dst[d] = src[so];
                            dst[d + 1] = src[so + 1];
                        }
                        _ => dst[d..d + g].copy_from_slice(&src[so..so + g]),
                    }
                }
            }
        }
    }
}

/// Copies the piece `r` of `src` into `out` (the region permuted by `perm`) through views.
fn permuted_views<T: Copy>(src: ArrayViewD<'_, T>, out: &mut ArrayD<T>, perm: &[usize], r: &Runs) {
    let mut s = src;
    for (d, rr) in r.src.iter().enumerate() {
        s.slice_axis_inplace(Axis(d), Slice::from(rr.clone()));
    }
    let s = s.permuted_axes(IxDyn(perm));
    let mut o: ArrayViewMutD<'_, T> = out.view_mut();
    for (k, &p) in perm.iter().enumerate() {
        o.slice_axis_inplace(Axis(k), Slice::from(r.dst[p].clone()));
    }
    o.assign(&s);
}

/// The region of `plan` (ranges only, no dropped dimensions) of the source blocks `ins` (one
/// whole source block per piece, in order), with dimension `k` of the result dimension
/// `perm[k]` of the region. A list that is not a permutation is an [`Error::Argument`],
/// inputs that do not match the plan an [`Error::DimensionMismatch`].
pub fn permute_region<T: Scalar>(
    plan: &IndexPlan,
    perm: &[usize],
    ins: &[&Block<T>],
) -> Result<Block<T>> {
    let shape = plan.shape();
    let nd = shape.len();
    if !is_permutation(perm, nd) {
        return Err(Error::Argument(format!(
            "{perm:?} is not a permutation of {nd} dimensions"
        )));
    }
    let bad = || Error::DimensionMismatch("permute inputs do not match their plan".into());
    if ins.len() != plan.pieces().len() {
        return Err(bad());
    }
    let oshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut out = ArrayD::<T>::zeros(IxDyn(&oshape));
    let swap = nd >= 2 && perm[0] == 1 && perm[1] == 0 && (2..nd).all(|d| perm[d] == d);
    for (p, b) in plan.pieces().iter().zip(ins) {
        let bshape = b.shape();
        if p.local.len() != nd || p.out.len() != nd || bshape.len() != nd {
            return Err(bad());
        }
        let src: Option<Vec<_>> = p.local.iter().map(|l| run(l)).collect();
        let dst: Option<Vec<_>> = p.out.iter().map(|o| run(o)).collect();
        let (Some(src), Some(dst)) = (src, dst) else {
            return Err(bad());
        };
        let fits = src.iter().zip(&bshape).all(|(r, &n)| r.end <= n)
            && dst.iter().zip(shape).all(|(r, &n)| r.end <= n)
            && src.iter().zip(&dst).all(|(s, d)| s.len() == d.len());
        if !fits {
            return Err(bad());
        }
        let r = Runs { src, dst };
        let dense;
        let view = match b {
            Block::Dense(a) => a.view(),
            other => {
                dense = other.to_dense();
                dense.view()
            }
        };
        let whole_rest = (2..nd).all(|d| r.src[d] == (0..bshape[d]) && r.dst[d] == (0..shape[d]));
        match (view.as_slice(), swap && whole_rest) {
            (Some(s), true) => match out.as_slice_mut() {
                Some(o) => transpose_tiles(s, &bshape, o, &oshape, &r),
                None => return Err(bad()),
            },
            _ => permuted_views(view, &mut out, perm, &r),
        }
    }
    Ok(Block::Dense(out))
}
