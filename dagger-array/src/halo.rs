//! Halos and stencils on blocks (Dagger.jl's `@neighbors` and `HaloArray`): the plan of
//! which strips of which blocks an output block's neighbourhood reads, under a
//! [`Boundary`]; the halo array glued from the block and those strips; and a stencil
//! applied to it, either the weighted [`Taps`] (a registered kernel) or a user closure.
//!
//! An output block with ranges `s_d..e_d` reads the source indices `s_d - r_d .. e_d + r_d`
//! of every dimension `d` mapped into the array by the boundary. That is an index request
//! ([`IndexPlan`]) of one list per dimension, so a radius wider than a block simply reads
//! strips of several neighbours. Constant padding reads some valid index in place of an
//! outside one and overwrites it afterwards.

use crate::block::Block;
use crate::grid::BlockGrid;
use crate::index::{Index, IndexPlan};
use crate::ops::ArithOp;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use serde::{Deserialize, Serialize};

/// What a neighbourhood reads outside the array.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub enum Boundary<T> {
    /// Periodic: index `-1` is the last index (`Wrap()`).
    Wrap,
    /// The nearest edge element (`Clamp()`).
    Clamp,
    /// This value (`Pad(v)`).
    Constant(T),
    /// Symmetric reflection with the edge repeated: `-1 → 0`, `-2 → 1` (`Reflect(true)`).
    Reflect,
    /// Mirror reflection about the edge element: `-1 → 1`, `-2 → 2` (`Reflect(false)`).
    Mirror,
}

/// Index `i` (maybe outside `0..n`) mapped into `0..n` by `b`; `None` for constant padding
/// (or an empty dimension).
pub fn map_index<T>(i: isize, n: usize, b: &Boundary<T>) -> Option<usize> {
    let n = n as isize;
    if n == 0 {
        return None;
    }
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    let m = match b {
        Boundary::Constant(_) => return None,
        Boundary::Wrap => i.rem_euclid(n),
        Boundary::Clamp => i.clamp(0, n - 1),
        Boundary::Reflect => {
            let k = i.rem_euclid(2 * n);
            if k < n {
                k
            } else {
                2 * n - 1 - k
            }
        }
        Boundary::Mirror if n == 1 => 0,
        Boundary::Mirror => {
            let k = i.rem_euclid(2 * n - 2);
            if k < n {
                k
            } else {
                2 * n - 2 - k
            }
        }
    };
    Some(m as usize)
}

/// Which source strips the neighbourhood of one output block reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HaloPlan {
    /// The index request of the halo array (output block grown by the radius).
    pub plan: IndexPlan,
    /// Radius per dimension.
    pub radius: Vec<usize>,
    /// Per dimension, the halo positions outside the array (constant padding only).
    pub outside: Vec<Vec<usize>>,
}

impl HaloPlan {
    /// The halo of the block at `coords` of `grid`, of `radius` (one per dimension) under
    /// `boundary`. A radius list of the wrong length is an [`Error::DimensionMismatch`].
    pub fn new<T>(
        grid: &BlockGrid,
        coords: &[usize],
        radius: &[usize],
        boundary: &Boundary<T>,
    ) -> Result<Self> {
        if radius.len() != grid.ndim() {
            return Err(Error::DimensionMismatch(format!(
                "a radius for {} dimensions on a {}-dimensional array",
                radius.len(),
                grid.ndim()
            )));
        }
        let mut index = Vec::with_capacity(radius.len());
        let mut outside = Vec::with_capacity(radius.len());
        for (d, (range, &r)) in grid.block_ranges(coords).iter().zip(radius).enumerate() {
            let n = grid.shape()[d];
            let (lo, hi) = (range.start as isize - r as isize, (range.end + r) as isize);
            let mut list = Vec::with_capacity((hi - lo).max(0) as usize);
            let mut out = Vec::new();
            for (pos, i) in (lo..hi).enumerate() {
                match map_index(i, n, boundary) {
                    Some(m) => list.push(m),
                    None => {
                        // Read a valid index the halo reads anyway (the nearest edge: an
                        // outside index lies beyond every index between it and the block,
                        // and those are read too); the pad value replaces it. Index 0 for
                        // every outside position made the blocks at the far edge read a
                        // strip of the first block, which is no neighbour of theirs.
                        out.push(pos);
                        list.push(i.clamp(0, n.saturating_sub(1) as isize) as usize);
                    }
                }
            }
            index.push(Index::List(list));
            outside.push(out);
        }
        Ok(Self {
            plan: IndexPlan::new(grid, &index)?,
            radius: radius.to_vec(),
            outside,
        })
    }

    /// The halo array's shape.
    pub fn halo_shape(&self) -> &[usize] {
        self.plan.shape()
    }

    /// The output block's shape (the halo shrunk by the radius).
    pub fn out_shape(&self) -> Vec<usize> {
        shrink(self.halo_shape(), &self.radius)
    }
}

/// A halo's shape shrunk by its radius on both sides: the output block's shape.
fn shrink(halo: &[usize], radius: &[usize]) -> Vec<usize> {
    halo.iter()
        .zip(radius)
        .map(|(&h, &r)| h.saturating_sub(2 * r))
        .collect()
}

/// Whether `v` is `a, a+1, a+2, …`.
fn contiguous(v: &[usize]) -> bool {
    v.windows(2).all(|w| w[1] == w[0] + 1)
}

/// The halo array of `plan`: piece `k` comes from `ins[k]`, which is the piece itself when
/// `gathered[k]` (cut where its block lives) or else the whole source block (cut here).
/// Outside positions hold `pad`.
pub fn build_halo<T: Scalar>(
    plan: &HaloPlan,
    ins: &[&Block<T>],
    gathered: &[bool],
    pad: Option<T>,
) -> Result<ArrayD<T>> {
    let pieces = plan.plan.pieces();
    let hshape = plan.halo_shape().to_vec();
    let nd = hshape.len();
    let bad = |what: &str| Error::DimensionMismatch(format!("halo {what} do not match its plan"));
    if ins.len() != pieces.len() || gathered.len() != pieces.len() || plan.radius.len() != nd {
        return Err(bad("inputs"));
    }
    if plan.outside.len() != nd
        || plan
            .outside
            .iter()
            .zip(&hshape)
            .any(|(o, &n)| o.iter().any(|&p| p >= n))
    {
        return Err(bad("pads"));
    }
    let mut halo = ArrayD::<T>::zeros(IxDyn(&hshape));
    for ((p, b), &g) in pieces.iter().zip(ins).zip(gathered) {
        let want: Vec<usize> = p.local.iter().map(Vec::len).collect();
        if p.out.len() != nd
            || p.out.iter().zip(&want).any(|(o, &n)| o.len() != n)
            || p.out
                .iter()
                .zip(&hshape)
                .any(|(o, &n)| o.iter().any(|&x| x >= n))
        {
            return Err(bad("pieces"));
        }
        let dense;
        let src: ArrayViewD<T> = match b {
            Block::Dense(a) => a.view(),
            other => {
                dense = other.to_dense();
                dense.view()
            }
        };
        if src.ndim() != nd {
            return Err(bad("blocks"));
        }
        // The piece as a view where its local indices are runs, selected where not.
        let mut part = src;
        let mut picked: Option<ArrayD<T>> = None;
        if !g {
            for (d, l) in p.local.iter().enumerate() {
                if l.iter().any(|&i| i >= part.shape()[d]) {
                    return Err(bad("pieces"));
                }
                if contiguous(l) && !l.is_empty() {
                    part.slice_axis_inplace(Axis(d), Slice::from(l[0]..l[0] + l.len()));
                }
            }
            for (d, l) in p.local.iter().enumerate() {
                if !contiguous(l) || l.is_empty() {
                    let cur = picked.as_ref().map_or(part.view(), |a| a.view());
                    picked = Some(cur.select(Axis(d), l));
                }
            }
        }
        let part = picked.as_ref().map_or(part, |a| a.view());
        if part.shape() != want.as_slice() {
            return Err(bad("pieces"));
        }
        if p.out.iter().all(|o| contiguous(o) && !o.is_empty()) {
            let mut dst = halo.view_mut();
            for (d, o) in p.out.iter().enumerate() {
                dst.slice_axis_inplace(Axis(d), Slice::from(o[0]..o[0] + o.len()));
            }
            dst.assign(&part);
        } else {
            let mut at = vec![0; nd];
            for (idx, &v) in part.indexed_iter() {
                for d in 0..nd {
                    at[d] = p.out[d][idx[d]];
                }
                halo[IxDyn(&at)] = v;
            }
        }
    }
    if let Some(v) = pad {
        for (d, out) in plan.outside.iter().enumerate() {
            for &pos in out {
                halo.index_axis_mut(Axis(d), pos).fill(v);
            }
        }
    }
    Ok(halo)
}

/// A linear stencil: `B[i] = Σ w · A[i + offset]` over its taps.
///
/// ```
/// use dagger_array::halo::Taps;
/// let heat = Taps::<f64>::heat(2, 0.25);
/// assert_eq!(heat.taps.len(), 5);
/// assert_eq!(heat.radius(2).unwrap(), vec![1, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct Taps<T> {
    /// Offsets (one entry per dimension) and their weights.
    pub taps: Vec<(Vec<isize>, T)>,
}

impl<T: Scalar> Taps<T> {
    /// Taps from `(offset, weight)` pairs.
    pub fn new(taps: Vec<(Vec<isize>, T)>) -> Self {
        Self { taps }
    }

    /// The sum over the whole `(2r+1)^nd` box around each element (centre included).
    pub fn box_sum(nd: usize, r: usize) -> Self {
        let r = r as isize;
        let mut offs: Vec<Vec<isize>> = vec![vec![]];
        for _ in 0..nd {
            offs = offs
                .into_iter()
                .flat_map(|o| {
                    (-r..=r).map(move |k| {
                        let mut o = o.clone();
                        o.push(k);
                        o
                    })
                })
                .collect();
        }
        Self::new(offs.into_iter().map(|o| (o, T::one())).collect())
    }

    /// One explicit heat-equation step in `nd` dimensions:
    /// `B = A + alpha · Σ_d (A[i - e_d] - 2A[i] + A[i + e_d])`.
    pub fn heat(nd: usize, alpha: T) -> Self {
        let two = T::one() + T::one();
        let mut centre = T::one();
        let mut taps = Vec::with_capacity(2 * nd + 1);
        for d in 0..nd {
            for s in [-1, 1] {
                let mut o = vec![0; nd];
                o[d] = s;
                taps.push((o, alpha));
            }
            // Unsigned types wrap like their arithmetic does.
            centre = T::arith(ArithOp::Sub, centre, two * alpha).unwrap_or(centre);
        }
        taps.insert(0, (vec![0; nd], centre));
        Self::new(taps)
    }

    /// The smallest radius per dimension that covers every tap of an `nd`-d stencil; an
    /// offset of the wrong length is an [`Error::DimensionMismatch`].
    pub fn radius(&self, nd: usize) -> Result<Vec<usize>> {
        let mut r = vec![0; nd];
        for (o, _) in &self.taps {
            if o.len() != nd {
                return Err(Error::DimensionMismatch(format!(
                    "stencil offset {o:?} on a {nd}-dimensional array"
                )));
            }
            for (rd, &k) in r.iter_mut().zip(o) {
                *rd = (*rd).max(k.unsigned_abs());
            }
        }
        Ok(r)
    }
}

/// The taps applied to a halo array of radius `radius`: one output line (last dimension)
/// at a time, every tap accumulated into it while it is in cache.
pub fn apply_taps<T: Scalar>(
    halo: &ArrayD<T>,
    radius: &[usize],
    taps: &Taps<T>,
) -> Result<ArrayD<T>> {
    let nd = halo.ndim();
    let need = taps.radius(nd)?;
    if radius.len() != nd || need.iter().zip(radius).any(|(n, r)| n > r) {
        return Err(Error::Argument(format!(
            "stencil taps need a radius of {need:?}, the halo has {radius:?}"
        )));
    }
    let out_shape = shrink(halo.shape(), radius);
    let mut out = ArrayD::<T>::zeros(IxDyn(&out_shape));
    let (Some(h), Some(o)) = (halo.as_slice(), out.as_slice_mut()) else {
        return Err(Error::Argument("halo arrays are in standard layout".into()));
    };
    if nd == 0 || o.is_empty() {
        return Ok(out);
    }
    let hs = halo.shape();
    let mut hstride = vec![1usize; nd];
    for d in (0..nd - 1).rev() {
        hstride[d] = hstride[d + 1] * hs[d + 1];
    }
    let line = out_shape[nd - 1];
    let lead = &out_shape[..nd - 1];
    let mut at = vec![0usize; nd - 1];
    for (li, o) in o.chunks_exact_mut(line).enumerate() {
        // The leading coordinates of line `li`.
        let mut rest = li;
        for d in (0..nd - 1).rev() {
            at[d] = rest % lead[d];
            rest /= lead[d];
        }
        for (t, (off, w)) in taps.taps.iter().enumerate() {
            let mut base = 0usize;
            for d in 0..nd {
                let c = if d + 1 < nd { at[d] } else { 0 };
                base += (c + radius[d]).wrapping_add_signed(off[d]) * hstride[d];
            }
            let src = &h[base..base + line];
            if t == 0 {
                o.iter_mut().zip(src).for_each(|(o, &x)| *o = *w * x);
            } else {
                o.iter_mut().zip(src).for_each(|(o, &x)| *o = *o + *w * x);
            }
        }
    }
    Ok(out)
}

/// `f` applied to the neighbourhood (a view of `2r+1` per dimension, the element at
/// `[r, …]`) of every output element of a halo array of radius `radius`.
pub fn apply_fn<T: Scalar>(
    halo: &ArrayD<T>,
    radius: &[usize],
    f: &dyn Fn(ArrayViewD<'_, T>) -> T,
) -> Result<ArrayD<T>> {
    if radius.len() != halo.ndim() {
        return Err(Error::DimensionMismatch(
            "a halo's radius does not match its dimensions".into(),
        ));
    }
    let out_shape = shrink(halo.shape(), radius);
    let mut out = ArrayD::<T>::zeros(IxDyn(&out_shape));
    for (idx, o) in out.indexed_iter_mut() {
        let mut v = halo.view();
        for (d, &r) in radius.iter().enumerate() {
            v.slice_axis_inplace(Axis(d), Slice::from(idx[d]..idx[d] + 2 * r + 1));
        }
        *o = f(v);
    }
    Ok(out)
}

/// The stencil kernel's parameters: the halo plan, which inputs are cut pieces, the pad
/// value of constant boundaries, and the taps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "T: Scalar")]
pub struct StencilKernel<T> {
    /// Which strips of which blocks.
    pub halo: HaloPlan,
    /// Per piece: the input is the cut piece (else the whole source block).
    pub gathered: Vec<bool>,
    /// The value outside the array (constant boundaries).
    pub pad: Option<T>,
    /// The stencil.
    pub taps: Taps<T>,
}
