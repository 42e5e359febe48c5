//! The stencil kernel ([`run_stencil`]): the weighted taps of a [`StencilKernel`] applied to
//! the halo of one block without gluing the whole halo array first.
//!
//! The halo is built one slab at a time (one index of the first dimension): each slab is
//! copied from the source blocks in contiguous runs along the last dimension (a run is a
//! `copy_from_slice` out of a block's row-major storage), into a ring of `2r + 1` slabs that
//! stays in cache. Every output line (last dimension) is then accumulated from the slab
//! lines its taps read, the whole line per tap, in the taps' order; the output is written
//! once, never zero-filled first. So a step reads each source element once from memory and
//! writes each output element once, like a plain double-buffered loop. One-dimensional
//! stencils glue the (small) halo and use [`apply_taps`].

use crate::block::Block;
use crate::halo::{apply_taps, build_halo, StencilKernel};
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, ArrayViewMutD, Axis, IxDyn};
use std::borrow::Cow;

/// `(first local, first out, length)` runs of `(local, out)` pairs stepping by one together.
fn runs(local: &[usize], out: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut v: Vec<(usize, usize, usize)> = Vec::new();
    for (&l, &o) in local.iter().zip(out) {
        match v.last_mut() {
            Some((l0, o0, n)) if *l0 + *n == l && *o0 + *n == o => *n += 1,
            _ => v.push((l, o, 1)),
        }
    }
    v
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// One input of the kernel, ready for slab copies.
struct Source<'a, T: Clone> {
    /// The block's elements in row-major order.
    data: Cow<'a, [T]>,
    /// Row-major strides of the block.
    stride: Vec<usize>,
    /// Per dimension, the local indices read (positions in the cut piece when gathered).
    local: Vec<Vec<usize>>,
    /// Per dimension, where they go in the halo.
    out: Vec<Vec<usize>>,
    /// Runs along the last dimension.
    last: Vec<(usize, usize, usize)>,
}

fn bad(what: &str) -> Error {
    Error::DimensionMismatch(format!("halo {what} do not match its plan"))
}

/// The kernel's inputs checked against its plan and laid out for copying.
fn sources<'a, T: Scalar>(
    k: &StencilKernel<T>,
    ins: &[&'a Block<T>],
    hshape: &[usize],
) -> Result<Vec<Source<'a, T>>> {
    let pieces = k.halo.plan.pieces();
    let nd = hshape.len();
    if ins.len() != pieces.len() || k.gathered.len() != pieces.len() {
        return Err(bad("inputs"));
    }
    let mut out = Vec::with_capacity(pieces.len());
    for ((p, b), &g) in pieces.iter().zip(ins).zip(&k.gathered) {
        let shape = b.shape();
        let fits = p.out.len() == nd
            && p.local.len() == nd
            && shape.len() == nd
            && p.local.iter().zip(&p.out).all(|(l, o)| l.len() == o.len())
            && p.out
                .iter()
                .zip(hshape)
                .all(|(o, &n)| o.iter().all(|&x| x < n));
        if !fits {
            return Err(bad("pieces"));
        }
        let local: Vec<Vec<usize>> = if g {
            if p.local.iter().zip(&shape).any(|(l, &n)| l.len() != n) {
                return Err(bad("pieces"));
            }
            shape.iter().map(|&n| (0..n).collect()).collect()
        } else {
            if p.local
                .iter()
                .zip(&shape)
                .any(|(l, &n)| l.iter().any(|&i| i >= n))
            {
                return Err(bad("pieces"));
            }
            p.local.clone()
        };
        let data = match b {
            Block::Dense(a) => match a.as_slice() {
                Some(s) => Cow::Borrowed(s),
                None => Cow::Owned(a.iter().copied().collect()),
            },
            other => Cow::Owned(other.to_dense().iter().copied().collect()),
        };
        out.push(Source {
            data,
            stride: strides(&shape),
            last: runs(&local[nd - 1], &p.out[nd - 1]),
            local,
            out: p.out.clone(),
        });
    }
    Ok(out)
}

/// Copies into `slab` (halo position `p0` of dimension 0) the part of `s` at local index
/// `l0`: every combination of the middle dimensions, the last dimension in runs.
fn copy_slab<T: Scalar>(s: &Source<'_, T>, l0: usize, slab: &mut [T], hstride: &[usize]) {
    let nd = s.stride.len();
    let mid = 1..nd - 1;
    let mut k = vec![0usize; nd];
    'combos: loop {
        let mut src = l0 * s.stride[0];
        let mut dst = 0;
        for d in mid.clone() {
            src += s.local[d][k[d]] * s.stride[d];
            dst += s.out[d][k[d]] * hstride[d];
        }
        for &(l, o, n) in &s.last {
            slab[dst + o..dst + o + n].copy_from_slice(&s.data[src + l..src + l + n]);
        }
        // The next combination of the middle dimensions (odometer, last fastest).
        for d in mid.clone().rev() {
            k[d] += 1;
            if k[d] < s.local[d].len() {
                continue 'combos;
            }
            k[d] = 0;
        }
        break;
    }
}

/// Runs a stencil kernel on its inputs (one per piece of its plan): see the module docs. A
/// plan that does not match its inputs is an [`Error::DimensionMismatch`], taps wider than
/// the halo an [`Error::Argument`].
pub fn run_stencil<T: Scalar>(k: &StencilKernel<T>, ins: &[&Block<T>]) -> Result<Block<T>> {
    let hshape = k.halo.halo_shape().to_vec();
    let nd = hshape.len();
    if nd < 2 {
        let halo = build_halo(&k.halo, ins, &k.gathered, k.pad)?;
        return Ok(Block::Dense(apply_taps(&halo, &k.halo.radius, &k.taps)?));
    }
    let radius = &k.halo.radius;
    let need = k.taps.radius(nd)?;
    if radius.len() != nd || need.iter().zip(radius).any(|(n, r)| n > r) {
        return Err(Error::Argument(format!(
            "stencil taps need a radius of {need:?}, the halo has {radius:?}"
        )));
    }
    let outside = &k.halo.outside;
    if outside.len() != nd
        || outside
            .iter()
            .zip(&hshape)
            .any(|(o, &n)| o.iter().any(|&p| p >= n))
    {
        return Err(bad("pads"));
    }
    let srcs = sources(k, ins, &hshape)?;
    let out_shape = k.halo.out_shape();
    let total: usize = out_shape.iter().product();
    if total == 0 || k.taps.taps.is_empty() {
        return Ok(Block::Dense(ArrayD::zeros(IxDyn(&out_shape))));
    }
    // Which pieces (and which of their local indices) make each slab.
    let mut by_slab: Vec<Vec<(usize, usize)>> = vec![Vec::new(); hshape[0]];
    for (i, s) in srcs.iter().enumerate() {
        for (&l, &o) in s.local[0].iter().zip(&s.out[0]) {
            by_slab[o].push((i, l));
        }
    }
    let slab_shape = &hshape[1..];
    let hstride = strides(&hshape);
    let slab_len = hstride[0];
    let mut pad_slab = vec![false; hshape[0]];
    for &p in &outside[0] {
        pad_slab[p] = true;
    }
    let width = 2 * radius[0] + 1;
    let mut ring: Vec<Vec<T>> = vec![vec![T::zero(); slab_len]; width];
    let build = |p: usize, slab: &mut Vec<T>| -> Result<()> {
        for &(i, l0) in &by_slab[p] {
            copy_slab(&srcs[i], l0, slab, &hstride);
        }
        if let Some(v) = k.pad {
            if pad_slab[p] {
                slab.fill(v);
            } else {
                let mut view = ArrayViewMutD::from_shape(IxDyn(slab_shape), slab)
                    .map_err(|e| Error::DimensionMismatch(e.to_string()))?;
                for (d, o) in outside.iter().enumerate().skip(1) {
                    for &pos in o {
                        view.index_axis_mut(Axis(d - 1), pos).fill(v);
                    }
                }
            }
        }
        Ok(())
    };
    let line = out_shape[nd - 1];
    let lead = &out_shape[1..nd - 1];
    let lines: usize = lead.iter().product();
    let mut out: Vec<T> = Vec::with_capacity(total);
    let mut built = 0;
    let mut at = vec![0usize; lead.len()];
    for i in 0..out_shape[0] {
        while built <= i + 2 * radius[0] {
            build(built, &mut ring[built % width])?;
            built += 1;
        }
        for li in 0..lines {
            let mut rest = li;
            for d in (0..lead.len()).rev() {
                at[d] = rest % lead[d];
                rest /= lead[d];
            }
            let start = out.len();
            for (t, (off, w)) in k.taps.taps.iter().enumerate() {
                let slab = &ring[(i + radius[0]).wrapping_add_signed(off[0]) % width];
                let mut base = (radius[nd - 1]).wrapping_add_signed(off[nd - 1]);
                for (d, &a) in at.iter().enumerate() {
                    base += (a + radius[d + 1]).wrapping_add_signed(off[d + 1]) * hstride[d + 1];
                }
                let src = &slab[base..base + line];
                let w = *w;
                if t == 0 {
                    out.extend(src.iter().map(|&x| w * x));
                } else {
                    out[start..]
                        .iter_mut()
                        .zip(src)
                        .for_each(|(o, &x)| *o = *o + w * x);
                }
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(&out_shape), out)
        .map(Block::Dense)
        .map_err(|e| Error::DimensionMismatch(e.to_string()))
}
