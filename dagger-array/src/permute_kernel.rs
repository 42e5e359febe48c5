//! The block kernel of `permutedims` with a new blocking ([`permute_region`]): one result
//! block cut from the source blocks it overlaps and written with its dimensions permuted,
//! in one pass. Swapping the first two dimensions (a matrix transpose, or the transpose of
//! a complex matrix of pairs `[n, m, 2]`) is written in output order through a cache-sized
//! band, straight from the blocks' row-major storage (`BAND`); other orders go through
//! permuted ndarray views into a zeroed result.

use crate::block::Block;
use crate::index::{run, IndexPlan};
use crate::mem::take_buffer;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice};
use std::ops::Range;

/// Whether `perm` is a permutation of `0..nd`.
pub fn is_permutation(perm: &[usize], nd: usize) -> bool {
    let mut seen = vec![false; nd];
    perm.len() == nd
        && perm
            .iter()
            .all(|&p| p < nd && !std::mem::replace(&mut seen[p], true))
}

/// One piece as ranges: `src[d]` of the source block, `dst[d]` of the region (source
/// dimension order).
struct Runs {
    src: Vec<Range<usize>>,
    dst: Vec<Range<usize>>,
}

/// Output rows of a transposing copy gathered at once: each source row gives `BAND`
/// neighbouring values (whole cache lines) to `BAND` rows of a scratch band that stays in
/// cache, so every source line is read once although the source rows lie a power of two
/// apart (which maps them to the same cache sets and defeats reuse between output rows).
const BAND: usize = 8;

/// One piece of a transposing copy: a row-major source block, its stride along dimension 0
/// and the piece's ranges.
struct Piece<'a, T> {
    src: &'a [T],
    stride: usize,
    r: Runs,
}

/// What a transposing copy does with each finished band of output rows: called with the
/// band (its first `len` values are whole output rows, in order) and the output so far,
/// it appends those rows to the output, changed or not. The band is scratch: the sink may
/// overwrite it (an FFT of each row in place while it is in cache, see
/// [`crate::fft_kernel`]).
pub type BandSink<'a, T> = &'a mut dyn FnMut(&mut Vec<T>, usize, &mut Vec<T>);

/// The region (of `shape`, source order) with its first two dimensions swapped, built in
/// output order from `pieces` (each with the other dimensions whole, `g` values per
/// `(i, j)`): nothing is zero-filled, and each output value is written once into the result
/// (by `sink`, from a scratch band). `None` when the pieces do not tile the region.
fn transpose_in_order<T: Scalar>(
    mut pieces: Vec<Piece<'_, T>>,
    shape: &[usize],
    g: usize,
    sink: BandSink<'_, T>,
) -> Option<Vec<T>> {
    pieces.sort_by_key(|p| (p.r.dst[1].start, p.r.dst[0].start));
    let total: usize = shape.iter().product();
    let row = shape[0] * g;
    // Every value is written once: a recycled buffer, not zeroed (see `crate::mem`).
    let mut out = take_buffer(total);
    let mut band = vec![T::zero(); BAND * row];
    let (mut rest, mut col) = (&pieces[..], 0);
    while let Some(first) = rest.first() {
        let cols = first.r.dst[1].clone();
        let n = rest.iter().take_while(|p| p.r.dst[1] == cols).count();
        let (group, tail) = rest.split_at(n);
        rest = tail;
        // The group covers the rows 0..shape[0] once, in order, after the previous group.
        let mut at = 0;
        for p in group {
            if p.r.dst[0].start != at {
                return None;
            }
            at = p.r.dst[0].end;
        }
        if at != shape[0] || cols.start != col {
            return None;
        }
        col = cols.end;
        for a0 in cols.clone().step_by(BAND) {
            let w = (a0 + BAND).min(cols.end) - a0;
            for p in group {
                let j0 = (p.r.src[1].start + a0 - cols.start) * g;
                for (k, i) in p.r.src[0].clone().enumerate() {
                    let s = &p.src[i * p.stride + j0..][..w * g];
                    let b = (p.r.dst[0].start + k) * g;
                    if g == 2 {
                        for (c, v) in s.chunks_exact(2).enumerate() {
                            band[c * row + b] = v[0];
                            band[c * row + b + 1] = v[1];
                        }
                    } else {
                        for (c, v) in s.chunks_exact(g).enumerate() {
                            band[c * row + b..][..g].copy_from_slice(v);
                        }
                    }
                }
            }
            sink(&mut band, w * row, &mut out);
        }
    }
    (col == shape[1] && out.len() == total).then_some(out)
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
    // The plain sink: the band's rows copied to the output.
    let mut copy = |band: &mut Vec<T>, len: usize, out: &mut Vec<T>| {
        out.extend_from_slice(&band[..len]);
    };
    permute_region_with(plan, perm, ins, &mut copy).map(|(b, _)| b)
}

/// [`permute_region`], and whether `sink` wrote the result's rows: a swap of the first two
/// dimensions of dense row-major blocks whose other dimensions are whole hands each band
/// of output rows to `sink` (see [`BandSink`]); any other permutation or block ignores it
/// (`false`), so a caller that changes the rows there must change them itself.
pub fn permute_region_with<T: Scalar>(
    plan: &IndexPlan,
    perm: &[usize],
    ins: &[&Block<T>],
    sink: BandSink<'_, T>,
) -> Result<(Block<T>, bool)> {
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
    let swap = nd >= 2 && perm[0] == 1 && perm[1] == 0 && (2..nd).all(|d| perm[d] == d);
    let mut runs = Vec::with_capacity(ins.len());
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
        runs.push((Runs { src, dst }, bshape));
    }
    // A swap of the first two dimensions of dense row-major blocks whose other dimensions
    // are whole: built in output order, with no zero fill.
    let g: usize = shape[2.min(nd)..].iter().product();
    let pieces: Option<Vec<Piece<'_, T>>> = (swap && nd >= 2)
        .then(|| {
            runs.iter()
                .zip(ins)
                .map(|((r, bshape), b)| {
                    let whole =
                        (2..nd).all(|d| r.src[d] == (0..bshape[d]) && r.dst[d] == (0..shape[d]));
                    match b {
                        Block::Dense(a) if whole => a.as_slice().map(|src| Piece {
                            src,
                            stride: bshape[1] * g,
                            r: Runs {
                                src: r.src.clone(),
                                dst: r.dst.clone(),
                            },
                        }),
                        _ => None,
                    }
                })
                .collect()
        })
        .flatten();
    if let Some(v) = pieces.and_then(|p| transpose_in_order(p, shape, g, sink)) {
        return ArrayD::from_shape_vec(IxDyn(&oshape), v)
            .map(|a| (Block::Dense(a), true))
            .map_err(|_| bad());
    }
    let mut out = ArrayD::<T>::zeros(IxDyn(&oshape));
    for ((r, _), b) in runs.iter().zip(ins) {
        let dense;
        let view = match b {
            Block::Dense(a) => a.view(),
            other => {
                dense = other.to_dense();
                dense.view()
            }
        };
        permuted_views(view, &mut out, perm, r);
    }
    Ok((Block::Dense(out), false))
}
