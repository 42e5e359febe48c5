//! Distributed sorting: a classic sample sort.
//!
//! 1. one task reads evenly spaced samples of every part, sorts them and picks `p - 1`
//!    splitters (`p` parts in, `p` parts out);
//! 2. each part is cut by its own task into `p` pieces, piece `j` holding the elements
//!    between splitters `j - 1` and `j` (an element equal to a splitter goes right, in every
//!    part alike; each piece keeps the input order);
//! 3. output part `j` concatenates piece `j` of every part, in part order, and sorts it —
//!    with a stable sort when asked (`stable`), so equal elements keep their input order.
//!
//! Every element is sorted once, as in a shared-memory parallel sort; the extra work is one
//! classification pass and the copies between tasks. [`DVec`] sorts any `Clone + Send + Sync`
//! element type with a comparator (and `Ord` types directly); [`DArray::sort`] sorts a 1-D
//! numeric array (NaN last, as Julia), reading its blocks in place, and re-blocks the result
//! to the input's blocking.

use crate::block::{Block, Kind};
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::{kernel_node, lower, ArrayOptions, Node};
use crate::kernel::named::Kernel;
use crate::mem::Held;
use crate::mem::{held, BlockValue};
use crate::names::named;
use crate::sort_kernel::{sort_part, OVERSAMPLE};
use dagger_core::{Error, Options, Result};
use dagger_sched::Context;
use ndarray::ArrayD;
use std::cmp::Ordering;
use std::sync::Arc;

/// How to sort.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SortOptions {
    /// Descending order (`rev=true`).
    pub rev: bool,
    /// Equal elements keep their input order.
    pub stable: bool,
}

type Part<T> = Result<Arc<Vec<T>>>;
/// One part cut into the pieces bound for each output part.
type Pieces<T> = Result<Arc<Vec<Vec<T>>>>;

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
    pub(crate) parts: Vec<Node<Part<T>>>,
}

impl<T> std::fmt::Debug for DVec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DVec({} parts)", self.parts.len())
    }
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
                Node::task0(named("distribute"), move || {
                    Ok(Arc::new(v[lo..hi].to_vec()))
                })
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
        let view = vec_slice::<T>;
        // Two monomorphic pipelines, so the comparator inlines into the sorts.
        let parts = if opts.rev {
            sample_sort(
                &self.parts,
                view,
                move |a: &T, b: &T| cmp(b, a),
                opts.stable,
            )
        } else {
            sample_sort(&self.parts, view, cmp, opts.stable)
        };
        Self { parts }
    }
}

impl<T: Ord + Clone + Send + Sync + 'static> DVec<T> {
    /// Sorted by `Ord`.
    pub fn sort(&self, opts: SortOptions) -> DVec<T> {
        self.sort_by(T::cmp, opts)
    }
}

/// The sample sort of parts of type `A`, each seen as a slice by `view`.
fn sample_sort<T, A, C>(
    parts: &[Node<Result<A>>],
    view: fn(&A) -> Result<&[T]>,
    cmp: C,
    stable: bool,
) -> Vec<Node<Part<T>>>
where
    T: Clone + Send + Sync + 'static,
    A: Clone + Send + Sync + 'static,
    C: Fn(&T, &T) -> Ordering + Send + Sync + 'static,
{
    let cmp = Arc::new(cmp);
    let p = parts.len();
    if p == 0 {
        return Vec::new();
    }
    let all = Node::task_all(named("gather"), parts, |vs: Vec<Result<A>>| {
        vs.into_iter().collect::<Result<Vec<A>>>()
    });
    let c = cmp.clone();
    let splitters: Node<Part<T>> =
        Node::task1("sort splitters", &all, move |vs: Result<Vec<A>>| {
            let vs = vs?;
            let k = OVERSAMPLE * p;
            let mut samples: Vec<T> = Vec::new();
            for a in &vs {
                let v = view(a)?;
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
    let pieces: Vec<Node<Pieces<T>>> = parts
        .iter()
        .map(|part| {
            let cmp = cmp.clone();
            Node::task2(
                "sort partition",
                part,
                &splitters,
                move |a: Result<A>, sp: Part<T>| {
                    let (a, sp) = (a?, sp?);
                    let v = view(&a)?;
                    let mut out: Vec<Vec<T>> =
                        (0..p).map(|_| Vec::with_capacity(v.len() / p)).collect();
                    for x in v {
                        // The number of splitters not greater than x: its output part.
                        let j = if sp.len() <= 16 {
                            // Few splitters: counting them avoids the binary search's
                            // unpredictable branches.
                            sp.iter().filter(|s| cmp(s, x) != Ordering::Greater).count()
                        } else {
                            sp.partition_point(|s| cmp(s, x) != Ordering::Greater)
                        };
                        out[j].push(x.clone());
                    }
                    Ok(Arc::new(out))
                },
            )
        })
        .collect();
    (0..p)
        .map(|j| {
            let cmp = cmp.clone();
            Node::task_all(named("sort merge"), &pieces, move |ps: Vec<Pieces<T>>| {
                let ps = ps.into_iter().collect::<Result<Vec<_>>>()?;
                let mut out = Vec::with_capacity(ps.iter().map(|q| q[j].len()).sum());
                for q in &ps {
                    out.extend_from_slice(&q[j]);
                }
                sort_part(&mut out, &*cmp, stable);
                Ok(Arc::new(out))
            })
        })
        .collect()
}

/// A part's elements.
fn vec_slice<T>(v: &Arc<Vec<T>>) -> Result<&[T]> {
    Ok(&v[..])
}

/// A dense block's elements in memory order.
fn block_slice<T: Element>(h: &Arc<Held<T>>) -> Result<&[T]> {
    h.as_dense("sort")?
        .as_slice()
        .ok_or_else(|| Error::Argument("sort: block is not contiguous".into()))
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
    ///
    /// Every stage is a registered kernel ([`Kernel::SortSplitters`], `SortPartition`,
    /// `SortMerge`, `SortSlice`), so the sort runs on worker processes too.
    pub fn sort(&self, opts: SortOptions) -> Result<DArray<T>> {
        if self.grid().ndim() != 1 {
            return Err(Error::Argument(format!(
                "sort of a {}-d array: only vectors are sorted",
                self.grid().ndim()
            )));
        }
        let p = self.blocks.len();
        if p == 0 {
            return Ok(self.clone());
        }
        let rev = opts.rev;
        let o = Options::new;
        // On a cluster, samples are taken where each part lives; only they meet in one task.
        let samples: Vec<_> = self
            .blocks
            .iter()
            .map(|b| {
                kernel_node(
                    o(),
                    Kernel::SortSample { parts: p },
                    std::slice::from_ref(b),
                )
            })
            .collect();
        let split = Kernel::SortSplitters { parts: p, rev };
        // In one process the splitters task reads the parts in place.
        let splitters = Node::placed(
            kernel_node(o(), split.clone(), &samples),
            kernel_node(o(), split, &self.blocks),
        );
        let partitioned: Vec<_> = self
            .blocks
            .iter()
            .map(|b| {
                kernel_node(
                    o(),
                    Kernel::SortPartition { rev },
                    &[b.clone(), splitters.clone()],
                )
            })
            .collect();
        let mut merge_in = vec![splitters.clone()];
        merge_in.extend(partitioned.iter().cloned());
        let sorted: Vec<_> = (0..p)
            .map(|part| {
                // In one process, one task cuts its groups out of every partitioned part
                // and sorts them (no copies between tasks).
                let local = kernel_node(
                    o(),
                    Kernel::SortMergeParts {
                        part,
                        parts: p,
                        rev,
                        stable: opts.stable,
                    },
                    &merge_in,
                );
                // On a cluster, each group is cut where its partitioned part lives, so only
                // the groups move; they are concatenated (at most five per task) and sorted.
                let mut level: Vec<_> = partitioned
                    .iter()
                    .map(|q| {
                        kernel_node(
                            o(),
                            Kernel::SortGroup { part, rev },
                            &[q.clone(), splitters.clone()],
                        )
                    })
                    .collect();
                while level.len() > 5 {
                    level = level
                        .chunks(5)
                        .map(|c| kernel_node(o(), Kernel::Concat, c))
                        .collect();
                }
                let merge = Kernel::SortMerge {
                    rev,
                    stable: opts.stable,
                };
                Node::placed(kernel_node(o(), merge, &level), local)
            })
            .collect();
        // Back to the input's blocking: output block k copies its range out of the parts.
        let blocks = self.grid().ranges()[0]
            .iter()
            .map(|r| {
                let k = Kernel::SortSlice {
                    start: r.start,
                    end: r.end,
                };
                kernel_node(o(), k, &sorted)
            })
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
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
        // The blocks are read in place; a sparse vector is first made dense.
        let blocks: Vec<Node<BlockValue<T>>> = self
            .blocks
            .iter()
            .map(|b| match self.meta.kind {
                Kind::Dense => b.clone(),
                Kind::Sparse => Node::task1("dense", b, |v: BlockValue<T>| {
                    Ok(held(Block::Dense(v?.to_dense())))
                }),
            })
            .collect();
        let parts = if opts.rev {
            sample_sort(
                &blocks,
                block_slice::<T>,
                move |a: &T, b: &T| cmp(b, a),
                opts.stable,
            )
        } else {
            sample_sort(&blocks, block_slice::<T>, cmp, opts.stable)
        };
        let sorted = DVec { parts };
        // Back to the input's blocking: output block k copies its range out of the buckets.
        let ranges = self.grid().ranges()[0].clone();
        let blocks = ranges
            .into_iter()
            .map(|r| {
                Node::task_all(
                    named("sort slice"),
                    &sorted.parts,
                    move |bs: Vec<Part<T>>| {
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
                    },
                )
            })
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
    }
}
