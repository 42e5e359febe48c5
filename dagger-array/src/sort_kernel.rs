//! The numeric sample sort of [`crate::sort`] as block kernels: each stage is a function of
//! 1-D blocks that a named [`Kernel`](crate::kernel::Kernel) runs, so on a cluster every stage
//! runs where its blocks live.

use crate::block::Block;
use crate::limits::check_parts;
use crate::mem::Held;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::ArrayD;
use std::cmp::Ordering;
use std::sync::Arc;

/// Samples each part contributes per output part.
pub(crate) const OVERSAMPLE: usize = 32;

/// Sorts one part in place.
pub(crate) fn sort_part<T, C: Fn(&T, &T) -> Ordering>(v: &mut [T], cmp: &C, stable: bool) {
    if stable {
        v.sort_by(|a, b| cmp(a, b));
    } else {
        v.sort_unstable_by(|a, b| cmp(a, b));
    }
}

/// Julia's `isless` order for numbers: NaN after everything.
pub(crate) fn num_cmp<T: Scalar>(a: &T, b: &T) -> Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// The order of a numeric sort (`rev`: descending), for the light uses (samples, binary
/// searches); the heavy loops use [`sort_num`] and [`partition_by`], monomorphic per order.
fn order<T: Scalar>(rev: bool) -> impl Fn(&T, &T) -> Ordering {
    move |a, b| if rev { num_cmp(b, a) } else { num_cmp(a, b) }
}

/// Sorts numbers; one monomorphic sort per direction, so the comparison inlines.
fn sort_num<T: Scalar>(v: &mut [T], rev: bool, stable: bool) {
    if rev {
        sort_part(v, &|a: &T, b: &T| num_cmp(b, a), stable);
    } else {
        sort_part(v, &num_cmp::<T>, stable);
    }
}

/// The elements of `v` grouped by output part (a counting sort on the part number).
fn partition_by<T: Scalar, C: Fn(&T, &T) -> Ordering>(v: &[T], sp: &[T], cmp: C) -> Vec<T> {
    let ids: Vec<u32> = v.iter().map(|x| bucket(sp, x, &cmp) as u32).collect();
    let mut start = vec![0usize; sp.len() + 2];
    for &j in &ids {
        start[j as usize + 1] += 1;
    }
    for j in 1..start.len() {
        start[j] += start[j - 1];
    }
    let mut out = vec![T::zero(); v.len()];
    for (x, &j) in v.iter().zip(&ids) {
        out[start[j as usize]] = *x;
        start[j as usize] += 1;
    }
    out
}

/// A 1-D block's elements (a sparse vector made dense).
fn elements<T: Scalar>(b: &Block<T>) -> Result<std::borrow::Cow<'_, [T]>> {
    if b.shape().len() != 1 {
        return Err(Error::Argument(format!(
            "sort: a {}-d block is not a vector part",
            b.shape().len()
        )));
    }
    Ok(match b {
        Block::Dense(a) => match a.as_slice() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(a.iter().copied().collect()),
        },
        other => std::borrow::Cow::Owned(other.to_dense().iter().copied().collect()),
    })
}

fn vector<T: Scalar>(v: Vec<T>) -> Block<T> {
    Block::Dense(
        ArrayD::from_shape_vec(vec![v.len()], v).unwrap_or_else(|_| ArrayD::zeros(vec![0])),
    ) // ok: 1-D of its own length
}

/// The output part of `x`: the number of splitters not greater than it.
fn bucket<T, C: Fn(&T, &T) -> Ordering>(sp: &[T], x: &T, cmp: &C) -> usize {
    if sp.len() <= 16 {
        // Few splitters: counting them avoids the binary search's unpredictable branches.
        sp.iter().filter(|s| cmp(s, x) != Ordering::Greater).count()
    } else {
        sp.partition_point(|s| cmp(s, x) != Ordering::Greater)
    }
}

/// Stage 1: `parts - 1` splitters from evenly spaced samples of every input part.
pub(crate) fn splitters_kernel<T: Scalar>(
    ins: &[Arc<Held<T>>],
    parts: usize,
    rev: bool,
) -> Result<Block<T>> {
    check_parts("sort splitters", parts)?;
    let cmp = order::<T>(rev);
    let k = OVERSAMPLE * parts;
    let mut samples: Vec<T> = Vec::new();
    for b in ins {
        let v = elements(b)?;
        if v.is_empty() {
            continue;
        }
        let take = k.min(v.len());
        samples.extend((0..take).map(|i| v[i * v.len() / take]));
    }
    samples.sort_by(&cmp);
    let n = samples.len();
    Ok(vector(if n == 0 {
        Vec::new()
    } else {
        (1..parts).map(|j| samples[j * n / parts]).collect()
    }))
}

/// Stage 2: the part's elements grouped by output part (each group in input order).
pub(crate) fn partition_kernel<T: Scalar>(
    part: &Block<T>,
    splitters: &Block<T>,
    rev: bool,
) -> Result<Block<T>> {
    let (v, sp) = (elements(part)?, elements(splitters)?);
    Ok(vector(if rev {
        partition_by(&v, &sp, |a: &T, b: &T| num_cmp(b, a))
    } else {
        partition_by(&v, &sp, num_cmp::<T>)
    }))
}

/// Stage 3a: the group of a partitioned part bound for output part `part`, found by
/// binary search (the output part is non-decreasing along a partitioned block).
pub(crate) fn group_kernel<T: Scalar>(
    partitioned: &Block<T>,
    splitters: &Block<T>,
    part: usize,
    rev: bool,
) -> Result<Block<T>> {
    let cmp = order::<T>(rev);
    let (v, sp) = (elements(partitioned)?, elements(splitters)?);
    let lo = v.partition_point(|x| bucket(&sp, x, &cmp) < part);
    let hi = v.partition_point(|x| bucket(&sp, x, &cmp) <= part);
    Ok(vector(v[lo..hi.max(lo)].to_vec()))
}

/// Stage 3 in one process: output part `part` from every partitioned part (`ins[0]` holds
/// the splitters), each group found by binary search, concatenated and sorted.
pub(crate) fn merge_kernel<T: Scalar>(
    ins: &[Arc<Held<T>>],
    part: usize,
    parts: usize,
    rev: bool,
    stable: bool,
) -> Result<Block<T>> {
    let cmp = order::<T>(rev);
    let (sp, rest) = ins
        .split_first()
        .ok_or_else(|| Error::Argument("sort merge needs the splitters".into()))?;
    let sp = elements(sp)?;
    if sp.len() + 1 != parts || part >= parts {
        return Err(Error::Argument(format!(
            "sort merge: part {part} of {parts} with {} splitters",
            sp.len()
        )));
    }
    let mut out = Vec::new();
    for b in rest {
        let v = elements(b)?;
        let lo = v.partition_point(|x| bucket(&sp, x, &cmp) < part);
        let hi = v.partition_point(|x| bucket(&sp, x, &cmp) <= part);
        out.extend_from_slice(&v[lo..hi.max(lo)]);
    }
    sort_num(&mut out, rev, stable);
    Ok(vector(out))
}

/// Stage 3b: 1-D blocks concatenated in order, then sorted when `sort` says how.
pub(crate) fn concat_kernel<T: Scalar>(
    ins: &[Arc<Held<T>>],
    sort: Option<(bool, bool)>,
) -> Result<Block<T>> {
    let mut out = Vec::new();
    for b in ins {
        out.extend_from_slice(&elements(b)?);
    }
    if let Some((rev, stable)) = sort {
        sort_num(&mut out, rev, stable);
    }
    Ok(vector(out))
}

/// Stage 0: evenly spaced samples of one part (`OVERSAMPLE` per output part at most).
pub(crate) fn sample_kernel<T: Scalar>(part: &Block<T>, parts: usize) -> Result<Block<T>> {
    check_parts("sort sample", parts)?;
    let v = elements(part)?;
    let take = (OVERSAMPLE * parts).min(v.len());
    Ok(vector((0..take).map(|i| v[i * v.len() / take]).collect()))
}

/// Re-blocking: elements `start..end` of the concatenated input parts.
pub(crate) fn slice_kernel<T: Scalar>(
    ins: &[Arc<Held<T>>],
    start: usize,
    end: usize,
) -> Result<Block<T>> {
    // The range comes from the kernel (maybe from another process): reserve no more than
    // the inputs hold.
    let held: usize = ins.iter().map(|b| elements(b).map_or(0, |v| v.len())).sum();
    let mut out = Vec::with_capacity(end.saturating_sub(start).min(held));
    let mut at = 0;
    for b in ins {
        let v = elements(b)?;
        let (lo, hi) = (at, at + v.len());
        at = hi;
        if hi <= start || lo >= end {
            continue;
        }
        out.extend_from_slice(&v[start.max(lo) - lo..end.min(hi) - lo]);
    }
    if out.len() != end.saturating_sub(start) {
        return Err(Error::DimensionMismatch(format!(
            "sorted parts hold {at} elements, block {start}..{end} asked for"
        )));
    }
    Ok(vector(out))
}
