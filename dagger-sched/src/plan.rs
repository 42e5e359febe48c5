//! The datadeps planner: declared accesses in, dependencies out. Pure: it runs nothing, so
//! it is tested against sequential execution without a scheduler.
//!
//! Task `j` must follow an earlier task `i` exactly when the two name overlapping parts of
//! one object and at least one of them writes (read after write, write after read, write
//! after write). The planner keeps, per object, the accesses a later one may still have to
//! wait for; a write drops those it covers, because whoever follows them now follows the
//! write, which follows them. Reads are kept apart from writes, so a long run of readers
//! costs each new reader nothing but a look at the writers.
//!
//! ```
//! use dagger_core::{Access, Extent, Mode, ObjectId};
//! use dagger_sched::datadeps::Planner;
//! let a = ObjectId(1);
//! let acc = |extent, mode| (Access { object: a, extent, mode }, Some([4, 4]));
//! let mut p = Planner::default();
//! let w = p.add(&[acc(Extent::Whole, Mode::Out)]);          // task 0 writes all of a
//! let r1 = p.add(&[acc(Extent::rows(0..2), Mode::In)]);     // task 1 reads rows 0..2
//! let r2 = p.add(&[acc(Extent::rows(2..4), Mode::In)]);     // task 2 reads rows 2..4
//! let w2 = p.add(&[acc(Extent::rows(0..1), Mode::InOut)]);  // task 3 updates row 0
//! assert!(w.order.is_empty());
//! assert_eq!((r1.order, r2.order), (vec![0], vec![0]));     // both wait for the writer only
//! assert_eq!(w2.order, vec![0, 1]);                         // the write waits for the reader of row 0
//! ```

use crate::id_hash::IdHasher;
use dagger_core::access::Span;
use dagger_core::{Access, ObjectId};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// What one task must wait for, as indexes of earlier tasks (in the order they were added).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preds {
    /// Every earlier task it must follow.
    pub order: Vec<usize>,
    /// Those of `order` that wrote memory this task touches: if one of them failed, this task
    /// fails too (a reader it merely follows does not change its data).
    pub data: Vec<usize>,
}

impl Preds {
    fn push(&mut self, task: usize, wrote: bool) {
        if !self.order.contains(&task) {
            self.order.push(task);
        }
        if wrote && !self.data.contains(&task) {
            self.data.push(task);
        }
    }
}

/// One earlier access a later one may have to wait for: the task, and what it named.
#[derive(Clone, Copy, Debug)]
struct Entry {
    task: u32,
    /// An index into [`Planner::spans`], or [`WHOLE`].
    span: u32,
}

/// The span of an access to all of its object (most accesses): kept as this mark, with no
/// span stored.
const WHOLE: u32 = u32::MAX;

/// What a later access to one object may have to wait for. Most objects have one live
/// writer (an update covers the one before), kept inline: a new object costs no allocation
/// of its own, and its history fits in a cache line.
#[derive(Debug, Default)]
struct History {
    shape: Option<[usize; 2]>,
    writers: SmallVec<[Entry; 2]>,
    readers: Vec<Entry>,
}

/// The planner of one region: add each task's accesses in program order.
#[derive(Debug, Default)]
pub struct Planner {
    /// Where each object's history is in `histories` (a small entry: the map grows and
    /// rehashes cheaply; the histories never move but to grow).
    index: HashMap<ObjectId, u32, BuildHasherDefault<IdHasher>>,
    histories: Vec<History>,
    /// The spans of the accesses that name part of their object.
    spans: Vec<Span>,
    tasks: usize,
}

/// The span an entry names (`whole`: all of its object).
fn span_of<'s>(spans: &'s [Span], e: &Entry, whole: &'s Span) -> &'s Span {
    match e.span {
        WHOLE => whole,
        i => &spans[i as usize],
    }
}

impl Planner {
    /// How many tasks were added.
    pub fn len(&self) -> usize {
        self.tasks
    }

    /// Whether no task was added.
    pub fn is_empty(&self) -> bool {
        self.tasks == 0
    }

    /// Forgets every task, keeping the tables' memory (a region reuses them).
    pub(crate) fn clear(&mut self) {
        self.index.clear();
        self.histories.clear();
        self.spans.clear();
        self.tasks = 0;
    }

    /// Bytes its tables take.
    pub(crate) fn footprint(&self) -> usize {
        self.index.capacity() * (std::mem::size_of::<(ObjectId, u32)>() + 1)
            + self.histories.capacity() * std::mem::size_of::<History>()
            + self.spans.capacity() * std::mem::size_of::<Span>()
    }

    /// Adds the next task (index [`Planner::len`] before the call) with its accesses, each
    /// with the shape of its object, and returns what it must wait for.
    pub fn add(&mut self, accesses: &[(Access, Option<[usize; 2]>)]) -> Preds {
        self.add_each(accesses.iter().map(|(a, s)| (a, *s)))
    }

    /// [`Planner::add`] over borrowed accesses.
    pub fn add_each<'a>(
        &mut self,
        accesses: impl IntoIterator<Item = (&'a Access, Option<[usize; 2]>)>,
    ) -> Preds {
        let mut preds = Preds::default();
        self.add_into(accesses, &mut preds);
        preds
    }

    /// [`Planner::add_each`] into `preds` (cleared first), reusing its buffers.
    pub(crate) fn add_into<'a>(
        &mut self,
        accesses: impl IntoIterator<Item = (&'a Access, Option<[usize; 2]>)>,
        preds: &mut Preds,
    ) {
        let me = self.tasks;
        self.tasks += 1;
        // Entries keep task indexes in 32 bits: a region never holds 2^32 tasks (each one
        // is a live allocation of a few hundred bytes until the region ends).
        let me32 = me as u32;
        preds.order.clear();
        preds.data.clear();
        for (a, shape) in accesses {
            let next = self.histories.len() as u32;
            let at = *self.index.entry(a.object).or_insert(next);
            if at == next {
                self.histories.push(History::default());
            }
            let h = &mut self.histories[at as usize];
            if h.shape.is_none() {
                h.shape = shape;
            }
            let whole = dagger_core::Extent::Whole.span(h.shape);
            let span = a.extent.span(h.shape);
            if span.is_empty() {
                continue;
            }
            let spans = &self.spans;
            for w in &h.writers {
                if w.task != me32 && !span_of(spans, w, &whole).intersect(&span).is_empty() {
                    preds.push(w.task as usize, true);
                }
            }
            if a.mode.writes() {
                for r in &h.readers {
                    if r.task != me32 && !span_of(spans, r, &whole).intersect(&span).is_empty() {
                        preds.push(r.task as usize, false);
                    }
                }
                h.writers
                    .retain(|w| !span.covers(span_of(spans, w, &whole)));
                h.readers
                    .retain(|r| !span.covers(span_of(spans, r, &whole)));
            }
            let entry = Entry {
                task: me32,
                span: if span == whole {
                    WHOLE
                } else {
                    self.spans.push(span);
                    (self.spans.len() - 1) as u32
                },
            };
            if a.mode.writes() {
                h.writers.push(entry);
            } else {
                h.readers.push(entry);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dagger_core::{Extent, Mode};
    use proptest::prelude::*;

    /// A random access to one of `objects` 4×3 objects (object 0 has no shape).
    fn access(objects: u64) -> impl Strategy<Value = (Access, Option<[usize; 2]>)> {
        let r = (0usize..=4, 0usize..=4).prop_map(|(a, b)| a.min(b)..a.max(b));
        let c = (0usize..=3, 0usize..=3).prop_map(|(a, b)| a.min(b)..a.max(b));
        let extent = prop_oneof![
            Just(Extent::Whole),
            (r.clone(), c.clone()).prop_map(|(r, c)| Extent::rect(r, c)),
            r.prop_map(Extent::rows),
            c.prop_map(Extent::cols),
            any::<bool>().prop_map(Extent::upper),
            any::<bool>().prop_map(Extent::lower),
            Just(Extent::Diagonal),
        ];
        let mode = prop_oneof![Just(Mode::In), Just(Mode::Out), Just(Mode::InOut)];
        (0..objects, extent, mode).prop_map(|(o, extent, mode)| {
            let shape = (o != 0).then_some([4, 3]);
            let extent = if o == 0 { Extent::Whole } else { extent };
            let access = Access {
                object: ObjectId(o),
                extent,
                mode,
            };
            (access, shape)
        })
    }

    fn conflict(a: &(Access, Option<[usize; 2]>), b: &(Access, Option<[usize; 2]>)) -> bool {
        a.0.object == b.0.object
            && (a.0.mode.writes() || b.0.mode.writes())
            && a.0.extent.overlaps(&b.0.extent, a.1)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Sequential consistency: a task follows (through some path) every earlier task it
        /// conflicts with, and every direct edge stands for a real conflict.
        #[test]
        fn plans_order_exactly_the_conflicting_pairs(
            program in (1u64..=8).prop_flat_map(|n| {
                proptest::collection::vec(proptest::collection::vec(access(n), 1..4), 1..60)
            })
        ) {
            let mut p = Planner::default();
            let plans: Vec<Preds> = program.iter().map(|t| p.add(t)).collect();
            let n = program.len();
            // reach[j][i]: task j follows task i.
            let mut reach = vec![vec![false; n]; n];
            for j in 0..n {
                for &i in &plans[j].order {
                    prop_assert!(i < j);
                    prop_assert!(
                        program[j].iter().any(|a| program[i].iter().any(|b| conflict(a, b))),
                        "edge {} -> {} without a conflict", i, j
                    );
                    reach[j][i] = true;
                    let via = reach[i].clone();
                    for (k, r) in via.iter().enumerate().take(i) {
                        reach[j][k] |= *r;
                    }
                }
                for &i in &plans[j].data {
                    prop_assert!(plans[j].order.contains(&i));
                }
            }
            for j in 0..n {
                for i in 0..j {
                    let c = program[j].iter().any(|a| program[i].iter().any(|b| conflict(a, b)));
                    if c {
                        prop_assert!(reach[j][i], "task {} does not follow {}: {:?} / {:?}",
                            j, i, program[i], program[j]);
                    }
                }
            }
        }
    }

    #[test]
    fn readers_of_one_version_share_it_and_a_writer_waits_for_all_of_them() {
        let a = |mode| {
            (
                Access {
                    object: ObjectId(7),
                    extent: Extent::Whole,
                    mode,
                },
                None,
            )
        };
        let mut p = Planner::default();
        p.add(&[a(Mode::Out)]);
        let r: Vec<_> = (0..3).map(|_| p.add(&[a(Mode::In)])).collect();
        assert!(r.iter().all(|x| x.order == vec![0] && x.data == vec![0]));
        let w = p.add(&[a(Mode::InOut)]);
        assert_eq!(w.order, vec![0, 1, 2, 3]);
        assert_eq!(w.data, vec![0]);
        // The write covered everything: the next reader waits for it alone.
        assert_eq!(p.add(&[a(Mode::In)]).order, vec![4]);
    }
}
