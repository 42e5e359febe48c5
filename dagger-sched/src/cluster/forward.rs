//! Dependents follow their data: a task whose inputs are still being computed on one worker
//! is sent there ahead of them, and that worker runs it as soon as they are done, with no
//! round trip to the driver per hop (as Ray's owners and Dask's work stealing avoid a
//! central round trip). The protocol, step by step:
//!
//! 1. **Forward.** When a registered-function task is spawned outside any task queue, and
//!    again whenever one of its inputs is placed on a worker (sent there to run), the driver
//!    looks at its inputs. If each is a small value sent along, or a result already held by
//!    worker W, or a task *placed on W and not yet finished*, at least one is of the last
//!    kind, no other task was sent ahead on that input (fan-out beyond one is left to
//!    placement, which spreads it), and the task's scope allows W, the driver sends it to
//!    W at once (counted in W's queue, as any task sent there): a `RunTask`
//!    whose `after` lists the chunks W is still computing. An input not yet placed anywhere
//!    records the task as a follower, told when it is placed (so a chain is forwarded link
//!    by link as it is spawned, O(1) driver work per task). Anything else (inputs on several
//!    workers, on the driver, failed, a datadeps region) takes the usual path: dispatch
//!    once every input has finished.
//! 2. **Order.** The input's routing lock is held while the forwarded task is queued for W,
//!    and a `Cancel` of the input is queued under the same lock, into the same ordered stream
//!    as the runs: W always sees a forwarded task before any message that gives up on its
//!    input.
//! 3. **Wait on W.** W keeps a forwarded task in a table keyed by the chunks it waits for
//!    (`waiting`), unless they are all stored already. W stores a result before telling the
//!    table, and checks under the table's lock, so no task is left waiting for a result
//!    that is already there.
//! 4. **Run on W.** When a task finishes on W, the tasks waiting for its result whose last
//!    missing input it was run at once, the first on the same thread (a chain runs link
//!    after link there), the others queued on W's executor. When it fails, they fail too,
//!    as `Upstream` (and so do those waiting for them): the driver decides what that means.
//! 5. **Report after the fact.** W tells the driver of every completion in its usual
//!    `Done` batches (one write per batch, however many tasks it holds). A forwarded task
//!    that ran counts in W's [`TransferStats::forwarded_tasks`](super::TransferStats).
//! 6. **The driver stays the authority.** It finishes the task when its `Done` arrives,
//!    keeps its lineage, and releases results as before. When its inputs have all finished
//!    (the point where it would otherwise have been dispatched), a failed input is its
//!    failure (the root cause is the input's) and it is cancelled on W.
//! 7. **Loss and retry.** If W is lost, every task forwarded to it that has not reported
//!    fails over as a running task does: retried from its lineage if its inputs have all
//!    finished, else made undispatched again (forwarded anew when its inputs are placed
//!    elsewhere, or dispatched when they finish). An `Upstream` failure whose input has not
//!    failed (it is being made again elsewhere) does the same, without counting as a loss.
//! 8. **Cancellation.** A cancelled forwarded task (or one whose input failed) is
//!    cancelled on W: dropped if it still waits, and its own waiters fail upstream; if it
//!    already ran, its result is released when its `Done` arrives, as for any task
//!    cancelled while it ran.
//!
//! This module holds the driver's routing state of a task ([`Route`]) and step 1's choice;
//! the task's side is in `remote`, the worker's in `waiting` and the worker's `run`.

use super::lineage::LineageArg;
use crate::site::{ArgRef, ItemRef, Recompute};
use dagger_core::{ChunkId, WorkerId};
use parking_lot::{Mutex, MutexGuard};
use smallvec::SmallVec;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Weak};

/// A task that may be sent ahead to where its inputs are being computed.
pub(crate) trait Forward: Send + Sync {
    /// Sends it ahead if it can be now (step 1), else leaves it to follow an input.
    fn forward(self: Arc<Self>);
}

/// Where a task is, as far as forwarding is concerned.
#[derive(Default)]
pub(crate) struct Route {
    /// The worker it was sent to and has not reported from yet.
    pub(crate) placed: Option<WorkerId>,
    /// Its current (or last) placement was ahead of an input: it waits on `placed`.
    pub(crate) forwarded: bool,
    /// Every dependency of a forwarded task has finished (where it would have been
    /// dispatched): from now on a retry runs it from its lineage.
    pub(crate) ready: bool,
    /// A forwarded task waits for this one's result where it is placed.
    pub(crate) ridden: bool,
    /// Tasks to tell when it is placed.
    followers: Vec<Weak<dyn Forward>>,
}

/// A task's routing state behind its lock (the `Recompute::route` of a remote task).
pub(crate) type RouteCell = Mutex<Route>;

/// What a placement was, as it ended.
#[derive(Clone, Copy)]
pub(crate) struct Ended {
    pub(crate) worker: Option<WorkerId>,
    pub(crate) ridden: bool,
}

impl Route {
    /// Sent to `worker` (ahead of an input when `forwarded`); returns the followers to wake.
    pub(crate) fn place(&mut self, worker: WorkerId, forwarded: bool) -> Vec<Weak<dyn Forward>> {
        self.placed = Some(worker);
        self.forwarded = forwarded;
        if !forwarded {
            self.ready = false;
        }
        self.ridden = false;
        std::mem::take(&mut self.followers)
    }

    /// The placement ended (its worker reported, was lost, or the task failed here).
    /// `forwarded` and `ready` stay: whether a retry may run it is decided under this lock.
    pub(crate) fn unplace(&mut self) -> Ended {
        let e = Ended {
            worker: self.placed.take(),
            ridden: self.ridden,
        };
        self.ridden = false;
        e
    }
}

thread_local! {
    /// Tasks to try forwarding, and whether this thread is already working through them
    /// (forwarding one places it, which wakes its followers: a loop, not a recursion as
    /// deep as the chain, nor a routing lock taken twice).
    static WAKING: RefCell<(bool, VecDeque<Arc<dyn Forward>>)> =
        const { RefCell::new((false, VecDeque::new())) };
}

/// Whether forwarding is on: `DAGGER_FORWARD=0` in the driver's environment turns it off
/// (every task then waits for its inputs on the driver), for A/B benchmarks in one build.
pub(crate) fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("DAGGER_FORWARD").map_or(true, |v| v != "0"))
}

/// Tries to forward `tasks` (now, on this thread, unless it is already forwarding).
pub(crate) fn wake(tasks: impl IntoIterator<Item = Arc<dyn Forward>>) {
    let first = WAKING.with(|w| {
        let mut w = w.borrow_mut();
        w.1.extend(tasks);
        !std::mem::replace(&mut w.0, true)
    });
    if !first {
        return;
    }
    /// Ends this thread's turn even if a forward panics (else it would queue for ever).
    struct Turn;
    impl Drop for Turn {
        fn drop(&mut self) {
            WAKING.with(|w| {
                let mut w = w.borrow_mut();
                w.0 = false;
                w.1.clear();
            });
        }
    }
    let _turn = Turn;
    while let Some(t) = WAKING.with(|w| w.borrow_mut().1.pop_front()) {
        t.forward();
    }
}

/// [`wake`] for followers (those still alive).
pub(crate) fn wake_followers(followers: Vec<Weak<dyn Forward>>) {
    if !followers.is_empty() {
        wake(followers.into_iter().filter_map(|f| f.upgrade()));
    }
}

/// Step 1's answer for one task.
pub(crate) enum Plan<'a> {
    /// Not now: it follows an input not yet placed, or takes the usual path.
    No,
    /// Send it to `worker` with these arguments, waiting there for `after`; the inputs'
    /// routes stay locked until it is queued.
    Go {
        worker: WorkerId,
        refs: Vec<ArgRef>,
        after: Vec<ChunkId>,
        inputs: SmallVec<[MutexGuard<'a, Route>; 2]>,
    },
}

/// The tasks among a lineage's arguments; `false` for a list inside a list.
fn tasks<'a>(a: &'a LineageArg, out: &mut Inputs<'a>, depth: u8) -> bool {
    match a {
        LineageArg::Inline(_) => true,
        LineageArg::Task(t) => {
            out.push(t);
            true
        }
        LineageArg::List(items) => depth == 0 && items.iter().all(|i| tasks(i, out, 1)),
    }
}

/// A task's inputs: one or two, usually (kept inline: step 1 runs once a task spawned).
type Inputs<'a> = SmallVec<[&'a Arc<dyn Recompute>; 2]>;

/// Where an input is.
enum At {
    Held(WorkerId),
    Computing(WorkerId),
}

/// Step 1 for a task with `lineage`: where it can go ahead, if anywhere. `me` follows an
/// input that is not placed yet.
pub(crate) fn plan<'a>(
    lineage: &'a [LineageArg],
    me: &Weak<dyn Forward>,
    driver: WorkerId,
    alive: impl Fn(WorkerId) -> bool,
) -> Plan<'a> {
    let mut inputs: Inputs<'a> = SmallVec::new();
    if !lineage.iter().all(|a| tasks(a, &mut inputs, 0)) || inputs.is_empty() {
        return Plan::No;
    }
    // Locked from the highest id down: a task's id is above its inputs', and a task locks
    // its own route before its inputs', so every thread locks in one order.
    inputs.sort_by_key(|t| std::cmp::Reverse(t.chunk_id()));
    inputs.dedup_by_key(|t| t.chunk_id());
    let mut guards = SmallVec::with_capacity(inputs.len());
    let mut at: SmallVec<[(ChunkId, At); 2]> = SmallVec::with_capacity(inputs.len());
    for t in &inputs {
        let Some(cell) = t.route().and_then(|r| r.downcast_ref::<RouteCell>()) else {
            return Plan::No;
        };
        let g = cell.lock();
        let here = match (t.site(), g.placed) {
            (Some(s), _) if s.owner == driver => return Plan::No,
            (Some(s), _) => At::Held(s.owner),
            // One task rides each input: it runs right after the input, on its thread; a
            // second would only queue there, so it is placed as usual once the input is
            // done (where the least loaded worker is, which may be elsewhere).
            (None, Some(_)) if g.ridden => return Plan::No,
            (None, Some(w)) if alive(w) => At::Computing(w),
            // Not placed yet, or placed on a worker just lost (it is about to be placed
            // again): follow it.
            (None, _) => {
                // Not placed yet: told when it is (under this lock, so never missed).
                let mut g = g;
                g.followers.push(me.clone());
                return Plan::No;
            }
        };
        at.push((t.chunk_id(), here));
        guards.push(g);
    }
    let mut worker = None;
    for (_, a) in &at {
        if let At::Computing(w) = a {
            if worker.is_some_and(|x| x != *w) {
                return Plan::No;
            }
            worker = Some(*w);
        }
    }
    let Some(worker) = worker else {
        return Plan::No; // every input has finished: dispatched as usual
    };
    if at
        .iter()
        .any(|(_, a)| matches!(a, At::Held(w) if *w != worker))
    {
        return Plan::No;
    }
    let after = at
        .iter()
        .filter(|(_, a)| matches!(a, At::Computing(_)))
        .map(|(c, _)| *c)
        .collect();
    let one = |a: &LineageArg| -> Option<ItemRef> {
        match a {
            LineageArg::Inline(b) => Some(ItemRef::Inline(b.clone())),
            LineageArg::Task(t) => Some(ItemRef::Chunk {
                id: t.chunk_id(),
                owner: worker,
            }),
            LineageArg::List(_) => None,
        }
    };
    let refs = lineage
        .iter()
        .map(|a| match a {
            LineageArg::List(items) => items
                .iter()
                .map(one)
                .collect::<Option<Vec<_>>>()
                .map(ArgRef::List),
            a => one(a).map(ArgRef::from),
        })
        .collect::<Option<Vec<_>>>();
    match refs {
        Some(refs) => Plan::Go {
            worker,
            refs,
            after,
            inputs: guards,
        },
        None => Plan::No,
    }
}
