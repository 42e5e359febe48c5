//! Distributed sorting: a classic sample sort.
//!
//! 1. each part is sorted by its own task, which also takes evenly spaced samples;
//! 2. one task sorts all samples and picks `p - 1` splitters;
//! 3. output part `j` takes, from every sorted part, the run between splitters `j - 1` and
//!    `j` (found by binary search; an element equal to a splitter goes right, in every part
//!    alike) and merges the runs — concatenated in part order and merged with the stable,
//!    run-adaptive `sort_by`, so equal elements keep their input order when asked (`stable`).
//!
//! [`DVec`] sorts any `Clone + Send + Sync` element type with a comparator (and `Ord` types
//! directly); [`DArray::sort`] sorts a 1-D numeric array (NaN last, as Julia) and re-blocks
//! the result to the input's blocking.

use crate::block::{Block, Kind};
use crate::darray::{gather, held, BlockValue, DArray};
use crate::element::Element;
use crate::graph::{lower, ArrayOptions, Node};
use dagger_core::{Error, Options, Result};
use dagger_sched::Context;
use ndarray::ArrayD;
use std::cmp::Ordering;
use std::sync::Arc;

/// Samples each part contributes per output part.
const OVERSAMPLE: usize = 32;

/// How to sort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SortOptions {
    /// Descending order (`rev=true`).
    pub rev: bool,
    /// Equal elements keep their input order.
    pub stable: bool,
}

type Part<T> = Result<Arc<Vec<T>>>;
type Cmp<T> = Arc<dyn Fn(&T, &T) -> Ordering + Send + Sync>;

/// A lazy distributed 1-D collection of any element type, in parts.
///
/// ```
/// use dagger_array::sort::{DVec, SortOptions};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let words = DVec::from_vec(vec!["pear", "fig", "apple", "kiwi", "date"], 2);
/// assert_eq!(words.sort(SortOptions::default()).collect(&ctx).unwrap(),
///            vec!["apple", "date", "fig", "kiwi", "pear"]);
/// let pairs = DVec::from_vec(vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd')], 3);
/// let by_key = pairs.sort_by(|x, y| x.0.cmp(&y.0), SortOptions { rev: true, stable: true });
/// assert_eq!(by_key.collect(&ctx).unwrap(), vec![(2, 'a'), (2, 'c'), (1, 'b'), (1, 'd')]);
/// ```
pub struct DVec<T> {
    parts: Vec<Node<Part<T>>>,
}

impl<T> Clone for DVec<T> {
    fn clone(&self) -> Self {
        Self {
            parts: self.parts.clone(),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> DVec<T> {
    /// Cuts `v` into `nparts` nearly equal parts (at least one).
    pub fn from_vec(v: Vec<T>, nparts: usize) -> Self {
        let n = nparts.max(1);
        let len = v.len();
        let v = Arc::new(v);
        let parts = (0..n)
            .map(|i| {
                let (v, lo, hi) = (v.clone(), i * len / n, (i + 1) * len / n);
                Node::task0(Options::new(), move || Ok(Arc::new(v[lo..hi].to_vec())))
            })
            .collect();
        Self { parts }
    }

    /// The parts' nodes.
    pub fn parts(&self) -> &[Node<Result<Arc<Vec<T>>>>] {
        &self.parts
    }

    /// Computes every part and returns them.
    pub fn collect_parts(&self, ctx: &Context) -> Result<Vec<Arc<Vec<T>>>> {
        lower(ctx, &ArrayOptions::default(), &self.parts)
            .into_iter()
            .map(|t| t.fetch()?)
            .collect()
    }

    /// Computes everything and concatenates the parts.
    pub fn collect(&self, ctx: &Context) -> Result<Vec<T>> {
        Ok(self
            .collect_parts(ctx)?
            .iter()
            .flat_map(|p| p.iter().cloned())
            .collect())
    }

    /// Sorted by `cmp` (see the module notes); as many parts as the input.
    pub fn sort_by(
        &self,
        cmp: impl Fn(&T, &T) -> Ordering + Send + Sync + 'static,
        opts: SortOptions,
    ) -> DVec<T> {
        let cmp: Cmp<T> = if opts.rev {
            Arc::new(move |a: &T, b: &T| cmp(b, a))
        } else {
            Arc::new(cmp)
        };
        let sorted: Vec<Node<Part<T>>> = self
            .parts
            .iter()
            .map(|n| {
                let cmp = cmp.clone();
                Node::task1(n, move |v: Part<T>| {
                    let mut v = Arc::unwrap_or_clone(v?);
                    sort_part(&mut v, &cmp, opts.stable);
                    Ok(Arc::new(v))
                })
            })
            .collect();
        Self {
            parts: sample_sort(&sorted, cmp),
        }
    }
}

impl<T: Ord + Clone + Send + Sync + 'static> DVec<T> {
    /// Sorted by `Ord`.
    pub fn sort(&self, opts: SortOptions) -> DVec<T> {
        self.sort_by(T::cmp, opts)
    }
}

/// Sorts one part in place.
fn sort_part<T>(v: &mut [T], cmp: &Cmp<T>, stable: bool) {
    if stable {
        v.sort_by(|a, b| cmp(a, b));
    } else {
        v.sort_unstable_by(|a, b| cmp(a, b));
    }
}

/// Steps 2 and 3 of the sample sort over parts that are already sorted by `cmp`.
fn sample_sort<T: Clone + Send + Sync + 'static>(
    sorted: &[Node<Part<T>>],
    cmp: Cmp<T>,
) -> Vec<Node<Part<T>>> {
    let p = sorted.len();
    if p == 0 {
        return Vec::new();
    }
    let all = gather(sorted);
    let c = cmp.clone();
    let splitters: Node<Part<T>> = Node::task1(&all, move |vs: Result<Vec<Arc<Vec<T>>>>| {
        let vs = vs?;
        let k = OVERSAMPLE * p;
        let mut samples: Vec<T> = Vec::new();
        for v in &vs {
            if v.is_empty() {
                continue;
            }
            let take = k.min(v.len());
            samples.extend((0..take).map(|i| v[i * v.len() / take].clone()));
        }
        samples.sort_by(|a, b| c(a, b));
        let n = samples.len();
        Ok(Arc::new(if n == 0 {
            Vec::new()
        } else {
            (1..p).map(|j| samples[j * n / p].clone()).collect()
        }))
    });
    (0..p)
        .map(|j| {
            let cmp = cmp.clone();
            Node::task2(
                &all,
                &splitters,
                move |vs: Result<Vec<Arc<Vec<T>>>>, sp: Part<T>| {
                    let (vs, sp) = (vs?, sp?);
                    let bound = |v: &[T], k: Option<usize>| match k.and_then(|k| sp.get(k)) {
                        Some(s) => v.partition_point(|x| cmp(x, s) == Ordering::Less),
                        None => v.len(),
                    };
                    let mut out = Vec::new();
                    for v in &vs {
                        let lo = if j == 0 { 0 } else { bound(v, Some(j - 1)) };
                        let hi = bound(v, Some(j));
                        out.extend_from_slice(&v[lo..hi.max(lo)]);
                    }
                    // Runs concatenated in part order: the stable sort merges them.
                    out.sort_by(|a, b| cmp(a, b));
                    Ok(Arc::new(out))
                },
            )
        })
        .collect()
}

/// Julia's `isless` order for numbers: NaN after everything.
fn num_cmp<T: Element>(a: &T, b: &T) -> Ordering {
    a.partial_cmp(b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

impl<T: Element> DArray<T> {
    /// The sorted 1-D array (`sort(A; rev)`), with the input's blocking.
    ///
    /// ```
    /// use dagger_array::{sort::SortOptions, Blocks, DArray};
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let v = ndarray::arr1(&[5, 3, 9, 1, 7, 3]).into_dyn();
    /// let x = DArray::from_array(v, &Blocks::from([4])).unwrap();
    /// let s = x.sort(SortOptions::default()).unwrap().collect_dense(&ctx).unwrap();
    /// assert_eq!(s.into_raw_vec_and_offset().0, vec![1, 3, 3, 5, 7, 9]);
    /// ```
    pub fn sort(&self, opts: SortOptions) -> Result<DArray<T>> {
        self.sort_by(num_cmp::<T>, opts)
    }

    /// The 1-D array sorted by `cmp`, with the input's blocking.
    pub fn sort_by(
        &self,
        cmp: impl Fn(&T, &T) -> Ordering + Send + Sync + 'static,
        opts: SortOptions,
    ) -> Result<DArray<T>> {
        if self.grid().ndim() != 1 {
            return Err(Error::Argument(format!(
                "sort of a {}-d array: only vectors are sorted",
                self.grid().ndim()
            )));
        }
        let cmp: Cmp<T> = if opts.rev {
            Arc::new(move |a: &T, b: &T| cmp(b, a))
        } else {
            Arc::new(cmp)
        };
        // Each block is copied out of its (shared) block and sorted by the same task.
        let parts: Vec<Node<Part<T>>> = self
            .blocks
            .iter()
            .map(|b| {
                let cmp = cmp.clone();
                Node::task1(b, move |v: BlockValue<T>| {
                    let v = v?;
                    let mut out: Vec<T> = match &**v {
                        Block::Dense(a) => a.iter().copied().collect(),
                        other => other.to_dense().iter().copied().collect(),
                    };
                    sort_part(&mut out, &cmp, opts.stable);
                    Ok(Arc::new(out))
                })
            })
            .collect();
        let sorted = DVec {
            parts: sample_sort(&parts, cmp),
        };
        // Back to the input's blocking: output block k copies its range out of the buckets.
        let ranges = self.grid().ranges()[0].clone();
        let blocks = ranges
            .into_iter()
            .map(|r| {
                Node::task_all(Options::new(), &sorted.parts, move |bs: Vec<Part<T>>| {
                    let bs = bs.into_iter().collect::<Result<Vec<_>>>()?;
                    let mut out = Vec::with_capacity(r.len());
                    let mut at = 0;
                    for b in &bs {
                        let (lo, hi) = (at, at + b.len());
                        at = hi;
                        if hi <= r.start || lo >= r.end {
                            continue;
                        }
                        let s = r.start.max(lo) - lo;
                        let e = r.end.min(hi) - lo;
                        out.extend_from_slice(&b[s..e]);
                    }
                    let a = ArrayD::from_shape_vec(vec![out.len()], out)
                        .map_err(|e| Error::DimensionMismatch(format!("sorted block: {e}")))?;
                    Ok(held(Block::Dense(a)))
                })
            })
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
    }
}
