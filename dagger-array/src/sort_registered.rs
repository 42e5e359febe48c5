//! The sample sort of [`crate::sort`] with every stage a registered function, for any
//! `Ord + serde` element type that [`sortable!`](crate::sortable) registers: on a cluster
//! each part is sampled, cut by the splitters and its pieces picked where it lives, and each
//! output part is merged on a worker from its pieces (fetched by reference, never through the
//! driver). Only the splitters — a few samples per part — are chosen in the driver.
//!
//! ```
//! use dagger_array::sort::{DVec, SortOptions};
//! let ctx = dagger_sched::Context::builder().threads(2).build();
//! let words: Vec<String> = ["pear", "fig", "apple", "fig"].iter().map(|s| s.to_string()).collect();
//! let sorted = DVec::from_vec(words, 2).sort_registered(SortOptions::default());
//! assert_eq!(sorted.collect(&ctx).unwrap(), vec!["apple", "fig", "fig", "pear"]);
//! ```

use crate::graph::{registered1, registered2, registered_all, Node};
use crate::limits::check_parts;
use crate::names::named;
use crate::sort::{DVec, SortOptions};
use dagger_core::{Error, Result};
use dagger_sched::Registered;
use serde::{de::DeserializeOwned, Serialize};
use std::cmp::Ordering;
use std::sync::Arc;

/// A part of a distributed vector, or the error that stopped it.
pub type Part<T> = Result<Arc<Vec<T>>>;
/// One part cut into the pieces bound for each output part.
pub type Pieces<T> = Result<Arc<Vec<Vec<T>>>>;

/// How an output part is sorted: `(rev, stable)`.
pub type MergeHow = (bool, bool);

/// Samples each part contributes per output part.
const OVERSAMPLE: u64 = 32;

/// The registered stages of the sample sort of `T` (made by [`sortable!`](crate::sortable)).
#[derive(Debug)]
pub struct SortStages<T> {
    /// `k` evenly spaced elements of a part.
    pub sample: Registered<(Part<T>, u64), Part<T>>,
    /// A part cut by the splitters (descending when the flag is set).
    pub partition: Registered<(Part<T>, Part<T>, bool), Pieces<T>>,
    /// Piece `j` of a part's pieces.
    pub pick: Registered<(Pieces<T>, u64), Part<T>>,
    /// One output part: the pieces concatenated and sorted (`(rev, stable)`).
    pub merge: Registered<(Vec<Part<T>>, MergeHow), Part<T>>,
}

/// An element type whose sort stages are registered functions.
pub trait Sortable: Ord + Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Its stages.
    fn stages() -> SortStages<Self>;
}

fn order<T: Ord>(rev: bool) -> impl Fn(&T, &T) -> Ordering {
    move |a, b| if rev { b.cmp(a) } else { a.cmp(b) }
}

/// Stage 1: `k` evenly spaced elements of `part`.
pub fn sample_stage<T: Clone>(part: Part<T>, k: u64) -> Part<T> {
    let v = part?;
    let take = (k as usize).min(v.len());
    Ok(Arc::new(
        (0..take).map(|i| v[i * v.len() / take].clone()).collect(),
    ))
}

/// Stage 3: `part` cut into `splitters.len() + 1` pieces; an element equal to a splitter
/// goes right, and each piece keeps the input order.
pub fn partition_stage<T: Ord + Clone>(part: Part<T>, splitters: Part<T>, rev: bool) -> Pieces<T> {
    let (v, sp) = (part?, splitters?);
    check_parts("sort partition", sp.len() + 1)?;
    let cmp = order::<T>(rev);
    let mut out: Vec<Vec<T>> = (0..=sp.len()).map(|_| Vec::new()).collect();
    for x in v.iter() {
        let j = sp.partition_point(|s| cmp(s, x) != Ordering::Greater);
        out[j].push(x.clone());
    }
    Ok(Arc::new(out))
}

/// Stage 4: piece `j`. With no element in any part there are no splitters and a part is cut
/// into one (empty) piece, so every later piece is empty too.
pub fn pick_stage<T: Clone>(pieces: Pieces<T>, j: u64) -> Part<T> {
    let ps = pieces?;
    match ps.get(j as usize) {
        Some(p) => Ok(Arc::new(p.clone())),
        None if ps.iter().all(Vec::is_empty) => Ok(Arc::new(Vec::new())),
        None => Err(Error::Argument(format!("sort piece {j} of {}", ps.len()))),
    }
}

/// Stage 5: the pieces bound for one output part, concatenated in part order and sorted.
pub fn merge_stage<T: Ord + Clone>(pieces: Vec<Part<T>>, (rev, stable): MergeHow) -> Part<T> {
    let ps = pieces.into_iter().collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(ps.iter().map(|p| p.len()).sum());
    for p in &ps {
        out.extend_from_slice(p);
    }
    let cmp = order::<T>(rev);
    if stable {
        out.sort_by(&cmp);
    } else {
        out.sort_unstable_by(&cmp);
    }
    Ok(Arc::new(out))
}

impl<T: Sortable> DVec<T> {
    /// Sorted by `Ord`, every stage a registered function (see the module notes): the same
    /// result as [`DVec::sort`], and on a cluster the data stays on the workers.
    pub fn sort_registered(&self, opts: SortOptions) -> DVec<T> {
        let s = T::stages();
        let p = self.parts.len();
        if p == 0 {
            return DVec { parts: Vec::new() };
        }
        let samples: Vec<Node<Part<T>>> = self
            .parts
            .iter()
            .map(|part| registered1("sort sample", s.sample, part, OVERSAMPLE * p as u64))
            .collect();
        let rev = opts.rev;
        let splitters = Node::task_all(named("sort splitters"), &samples, move |vs| {
            let mut all: Vec<T> = Vec::new();
            for v in vs {
                all.extend(v?.iter().cloned());
            }
            all.sort_by(order::<T>(rev));
            let n = all.len();
            Ok(Arc::new(if n == 0 {
                Vec::new()
            } else {
                (1..p).map(|j| all[j * n / p].clone()).collect()
            }))
        });
        let pieces: Vec<Node<Pieces<T>>> = self
            .parts
            .iter()
            .map(|part| registered2("sort partition", s.partition, part, &splitters, rev))
            .collect();
        let parts = (0..p as u64)
            .map(|j| {
                let picked: Vec<Node<Part<T>>> = pieces
                    .iter()
                    .map(|ps| registered1("sort pick", s.pick, ps, j))
                    .collect();
                registered_all("sort merge", s.merge, &picked, (rev, opts.stable))
            })
            .collect();
        DVec { parts }
    }
}

/// Registers the sample-sort stages of element types, so [`DVec::sort_registered`] runs
/// them on any process: `sortable!(name: Type, ..)` (the name makes the functions' names
/// unique; call it once per type, in the crate that defines the type).
///
/// ```
/// #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
/// struct Key(u32, String);
/// dagger_array::sortable!(key: Key);
/// # fn main() {
/// use dagger_array::sort::{DVec, SortOptions};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let v = DVec::from_vec(vec![Key(2, "b".into()), Key(1, "z".into()), Key(2, "a".into())], 2);
/// let got = v.sort_registered(SortOptions { rev: true, stable: true }).collect(&ctx).unwrap();
/// assert_eq!(got.iter().map(|k| k.0).collect::<Vec<_>>(), vec![2, 2, 1]);
/// # }
/// ```
#[macro_export]
macro_rules! sortable {
    ($($name:ident : $t:ty),* $(,)?) => {$( $crate::__private::paste! {
        $crate::__private::dagger_sched::register! {
            #[doc = concat!("Sort stage: samples of a part of `", stringify!($t), "`.")]
            pub fn [<sort_sample_ $name>](
                part: $crate::sort_registered::Part<$t>, k: u64
            ) -> $crate::sort_registered::Part<$t> {
                $crate::sort_registered::sample_stage(part, k)
            }
            #[doc = concat!("Sort stage: a part of `", stringify!($t), "` cut by splitters.")]
            pub fn [<sort_partition_ $name>](
                part: $crate::sort_registered::Part<$t>,
                splitters: $crate::sort_registered::Part<$t>,
                rev: bool
            ) -> $crate::sort_registered::Pieces<$t> {
                $crate::sort_registered::partition_stage(part, splitters, rev)
            }
            #[doc = concat!("Sort stage: one piece of a part of `", stringify!($t), "`.")]
            pub fn [<sort_pick_ $name>](
                pieces: $crate::sort_registered::Pieces<$t>, j: u64
            ) -> $crate::sort_registered::Part<$t> {
                $crate::sort_registered::pick_stage(pieces, j)
            }
            #[doc = concat!("Sort stage: an output part of `", stringify!($t), "`.")]
            pub fn [<sort_merge_ $name>](
                pieces: Vec<$crate::sort_registered::Part<$t>>, how: (bool, bool)
            ) -> $crate::sort_registered::Part<$t> {
                $crate::sort_registered::merge_stage(pieces, how)
            }
        }
        impl $crate::sort_registered::Sortable for $t {
            fn stages() -> $crate::sort_registered::SortStages<$t> {
                $crate::sort_registered::SortStages {
                    sample: [<SORT_SAMPLE_ $name:upper>],
                    partition: [<SORT_PARTITION_ $name:upper>],
                    pick: [<SORT_PICK_ $name:upper>],
                    merge: [<SORT_MERGE_ $name:upper>],
                }
            }
        }
    })*};
}

sortable!(string: String);
