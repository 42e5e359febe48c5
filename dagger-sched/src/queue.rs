//! Task queues: where a task spawned on this thread goes (Dagger.jl's `wait_all`,
//! `spawn_bulk`, `spawn_sequential` and `spawn_datadeps`).
//!
//! Each open queue is a frame on a per-thread stack; a spawn consults the stack:
//! - every [`Frame::Wait`] notes the task, and waits for it when it closes;
//! - the innermost holding frame ([`Frame::Bulk`] or [`Frame::Region`]) holds it unlaunched
//!   (the spawner's count on the task is kept) until it closes; a bulk nested in another
//!   holder hands its tasks down (but the innermost holder launches what it holds each
//!   [`EARLY_LAUNCH`] tasks);
//! - under a [`Frame::Sequential`], each batch (one spawn, or one bulk) waits for every task
//!   of the batch before it;
//! - in a [`Frame::Region`] (one per thread: a region inside a region joins it) the planner
//!   turns the task's declared accesses into dependencies on earlier tasks of the region.
//!
//! Queues are per thread and not inherited by the tasks spawned in them.

use crate::access::Declared;
use crate::executor::{self, Jobs, Pool};
use crate::plan::{Planner, Preds};
use crate::task::{Job, Wrote};
use dagger_core::{Error, TaskId};
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Tasks a queue holds, grouped by the pool that runs them (nearly always one: no pool
/// handle is cloned per task then).
#[derive(Default)]
pub(crate) struct Held {
    pools: Vec<(Arc<Pool>, Jobs)>,
    /// How many tasks, over all pools.
    len: usize,
}

impl Held {
    /// The list of `pool`'s tasks, made on first use.
    fn jobs_of(&mut self, pool: &Arc<Pool>) -> &mut Jobs {
        let i = match self.pools.iter().position(|(p, _)| Arc::ptr_eq(p, pool)) {
            Some(i) => i,
            None => {
                self.pools.push((pool.clone(), Jobs::default()));
                self.pools.len() - 1
            }
        };
        &mut self.pools[i].1
    }

    fn push(&mut self, pool: &Arc<Pool>, job: Arc<dyn Job>) {
        self.jobs_of(pool).push(job);
        self.len += 1;
    }

    fn extend(&mut self, other: Held) {
        self.len += other.len;
        for (pool, jobs) in other.pools {
            self.jobs_of(&pool).append(jobs);
        }
    }
}

/// The state of an open datadeps region.
pub(crate) struct Region {
    /// Tags the tasks it holds.
    serial: u64,
    planner: Planner,
    /// The planner's answer for the task being admitted (kept to reuse its buffers).
    preds: Preds,
    /// Where each planned task is in `all`, by planner index.
    planned: Vec<usize>,
    /// Every task of the region, in spawn order (for waiting and the first error).
    all: Vec<Arc<dyn Job>>,
    held: Held,
}

/// A region or a bulk queue launches the tasks it holds each time it holds this many, not
/// only when it closes: each task's dependencies are on earlier tasks only, so an early
/// launch gives the same result, and the tasks run while the body spawns the rest (held to
/// the end, a region of 10⁵ small tasks ran at a third of the plain spawns' rate, and a
/// bulk at 0.8–1.0×: spawning, then running). Each launch is still one queue operation for
/// the batch. A task launched so is no longer "unlaunched": a `fetch` of it inside the
/// queue waits.
const EARLY_LAUNCH: usize = 1024;

/// Most bytes of tables a closed region leaves to this thread's next one (those of a region
/// of about 200 000 objects: what it needed at its peak anyway).
const SPARE_BYTES: usize = 32 << 20;

thread_local! {
    /// The emptied tables of the last region closed on this thread: a program that runs
    /// region after region (an iterative solver) then plans into tables already sized and
    /// in memory, instead of growing, rehashing and faulting in new ones each time.
    static SPARE: RefCell<Option<Box<Region>>> = const { RefCell::new(None) };
}

impl Region {
    /// A new region, open on this thread.
    pub(crate) fn open() -> Box<Region> {
        let serial = crate::task::open_queue();
        match SPARE.with(|s| s.borrow_mut().take()) {
            Some(mut r) => {
                r.serial = serial;
                r
            }
            None => Box::new(Region {
                serial,
                planner: Planner::default(),
                preds: Preds::default(),
                planned: Vec::new(),
                all: Vec::new(),
                held: Held::default(),
            }),
        }
    }

    /// Empties a closed region and keeps its tables for the next one, unless they are
    /// large.
    fn recycle(mut self: Box<Region>) {
        self.planner.clear();
        self.planned.clear();
        self.all.clear();
        self.held = Held::default();
        let bytes = self.planner.footprint()
            + self.planned.capacity() * std::mem::size_of::<usize>()
            + self.all.capacity() * std::mem::size_of::<Arc<dyn Job>>();
        if bytes <= SPARE_BYTES {
            SPARE.with(|s| *s.borrow_mut() = Some(self));
        }
    }
}

/// One open queue.
pub(crate) enum Frame {
    /// `wait_all` / `sync`: note each task, wait for all at the end.
    Wait { jobs: Vec<Arc<dyn Job>> },
    /// `spawn_bulk`: hold each task; launch them in batches (each [`EARLY_LAUNCH`], and the
    /// rest at the end).
    Bulk {
        /// Tags the tasks it holds.
        serial: u64,
        held: Held,
        /// Its tasks, as the batch of the sequential queue it is directly inside (`None`
        /// outside one: nothing reads them then).
        batch: Option<Vec<Arc<dyn Job>>>,
    },
    /// `spawn_sequential`: each batch waits for the previous one.
    Sequential { previous: Vec<Arc<dyn Job>> },
    /// A datadeps region.
    Region(Box<Region>),
}

impl Frame {
    /// A new bulk queue, to open on this thread.
    pub(crate) fn bulk() -> Frame {
        let in_sequence = FRAMES.with(|f| {
            matches!(
                f.borrow()
                    .iter()
                    .rev()
                    .find(|f| !matches!(f, Frame::Wait { .. })),
                Some(Frame::Sequential { .. })
            )
        });
        Frame::Bulk {
            serial: crate::task::open_queue(),
            held: Held::default(),
            batch: in_sequence.then(Vec::new),
        }
    }

    /// The tag and the held tasks of a holding frame.
    fn holding(&mut self) -> Option<(u64, &mut Held)> {
        match self {
            Frame::Bulk { serial, held, .. } => Some((*serial, held)),
            Frame::Region(r) => Some((r.serial, &mut r.held)),
            Frame::Wait { .. } | Frame::Sequential { .. } => None,
        }
    }
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
    /// How many of this thread's open frames add dependencies to a new task (regions and
    /// sequences): while none is, [`admit`] has nothing to look at.
    static PLANNING: Cell<usize> = const { Cell::new(0) };
}

/// Whether `frame` adds dependencies to the tasks spawned in it.
fn plans(frame: &Frame) -> bool {
    matches!(frame, Frame::Region(_) | Frame::Sequential { .. })
}

/// Pushes `frame` on this thread's stack.
fn push(frame: Frame) {
    if plans(&frame) {
        PLANNING.with(|p| p.set(p.get() + 1));
    }
    FRAMES.with(|f| f.borrow_mut().push(frame));
}

/// Pops the innermost frame of this thread's stack.
fn pop() -> Option<Frame> {
    let frame = FRAMES.with(|f| f.borrow_mut().pop())?;
    if plans(&frame) {
        PLANNING.with(|p| p.set(p.get().saturating_sub(1)));
    }
    Some(frame)
}

/// Whether a queue is open on this thread (the spawn path's one check).
#[inline(always)]
pub(crate) fn active() -> bool {
    FRAMES.with(|f| !f.borrow().is_empty())
}

/// Whether a datadeps region is open on this thread.
pub(crate) fn in_region() -> bool {
    FRAMES.with(|f| f.borrow().iter().any(|f| matches!(f, Frame::Region(_))))
}

/// What a new task must wait for beyond its arguments, as [`admit`] leaves it.
pub(crate) struct Admission {
    /// The tasks that wrote what the task touches: their failure is its failure.
    pub wrote: Wrote,
    /// Whether a region planned it ([`place`] then records it as planned).
    pub planned: bool,
}

/// Plans a task about to be made (before [`place`] records it): the earlier tasks of its
/// region it must follow (by its declared accesses) and those of its sequential queue's
/// previous batch join `deps`, with their ids in `dep_ids`.
pub(crate) fn admit(
    accesses: &[Declared],
    deps: &mut SmallVec<[Arc<dyn Job>; 4]>,
    dep_ids: &mut SmallVec<[TaskId; 4]>,
) -> Admission {
    if PLANNING.with(Cell::get) == 0 {
        return Admission {
            wrote: Wrote::new(),
            planned: false,
        };
    }
    FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        let mut adm = Admission {
            wrote: Wrote::new(),
            planned: false,
        };
        let mut follow = |j: &Arc<dyn Job>| {
            dep_ids.push(j.header().id);
            deps.push(j.clone());
        };
        if let Some(r) = frames.iter_mut().find_map(|f| match f {
            Frame::Region(r) => Some(r),
            _ => None,
        }) {
            let r = &mut **r;
            r.planner
                .add_into(accesses.iter().map(|d| (&d.access, d.shape)), &mut r.preds);
            for &i in &r.preds.order {
                follow(&r.all[r.planned[i]]);
            }
            adm.wrote = r
                .preds
                .data
                .iter()
                .map(|&i| r.all[r.planned[i]].clone())
                .collect();
            adm.planned = true;
        }
        if let Some(prev) = sequential_previous(&frames) {
            prev.iter().for_each(follow);
        }
        adm
    })
}

/// The previous batch of the sequential queue a new spawn belongs to: the innermost frame
/// that is not a wait is sequential, or a bulk directly inside one.
fn sequential_previous(frames: &[Frame]) -> Option<&Vec<Arc<dyn Job>>> {
    let mut it = frames
        .iter()
        .rev()
        .filter(|f| !matches!(f, Frame::Wait { .. }));
    match it.next()? {
        Frame::Sequential { previous } => Some(previous),
        Frame::Bulk { .. } => match it.next()? {
            Frame::Sequential { previous } => Some(previous),
            _ => None,
        },
        Frame::Region(_) | Frame::Wait { .. } => None,
    }
}

/// Records a new task in the open queues (`planned`: a region planned it). The innermost
/// holding queue keeps it unlaunched (the spawner's count on the task is kept): `None`;
/// otherwise the task comes back, for the caller to launch.
pub(crate) fn place(pool: &Arc<Pool>, job: Arc<dyn Job>, planned: bool) -> Option<Arc<dyn Job>> {
    let (back, early) = FRAMES.with(|f| {
        let mut frames = f.borrow_mut();
        let mut holder = None;
        let mut sequenced = false;
        for (i, frame) in frames.iter_mut().enumerate().rev() {
            match frame {
                Frame::Wait { jobs } => jobs.push(job.clone()),
                Frame::Bulk { batch, .. } => {
                    holder.get_or_insert(i);
                    if let (false, Some(b)) = (sequenced, batch) {
                        b.push(job.clone());
                    }
                    sequenced = true;
                }
                Frame::Sequential { previous } => {
                    if !sequenced {
                        *previous = vec![job.clone()];
                    }
                    sequenced = true;
                }
                Frame::Region(r) => {
                    if planned {
                        r.planned.push(r.all.len());
                    }
                    r.all.push(job.clone());
                    holder.get_or_insert(i);
                    sequenced = true;
                }
            }
        }
        // The holder takes the caller's count on the task: no clone.
        let Some(at) = holder else {
            return (Some(job), None);
        };
        let Some((serial, held)) = frames[at].holding() else {
            return (Some(job), None);
        };
        job.header().queued.store(serial, Ordering::Release);
        held.push(pool, job);
        (None, launch_early(&mut frames[at]))
    });
    // Launched once this thread's queues are let go of (a launch touches no queue, but
    // keeps the borrow short).
    if let Some(held) = early {
        launch(held);
    }
    back
}

/// The tasks a region or a bulk queue holds, once they are [`EARLY_LAUNCH`] many (`None`
/// for other frames and below that). The queue moves to a fresh serial, so the tasks handed
/// out count as launched at once (the old serial is closed) without touching each of them.
fn launch_early(frame: &mut Frame) -> Option<Held> {
    let (serial, held) = match frame {
        Frame::Region(r) => (&mut r.serial, &mut r.held),
        Frame::Bulk { serial, held, .. } => (serial, held),
        Frame::Wait { .. } | Frame::Sequential { .. } => return None,
    };
    if held.len < EARLY_LAUNCH {
        return None;
    }
    crate::task::close_queue(*serial);
    *serial = crate::task::open_queue();
    Some(std::mem::take(held))
}

/// Launches held tasks: each is marked launched here (a `fetch` right after the queue
/// closes waits, it does not fail), then each pool gets its tasks as one batch.
fn launch(held: Held) {
    for (pool, jobs) in held.pools {
        pool.launch_batch(jobs);
    }
}

/// Hands held tasks to the next holding frame down the stack, or launches them.
fn hand_down(frames: &mut [Frame], held: Held) {
    match frames.iter_mut().rev().find_map(Frame::holding) {
        Some((serial, h)) => {
            for j in held.pools.iter().flat_map(|(_, jobs)| jobs.iter()) {
                j.header().queued.store(serial, Ordering::Release);
            }
            h.extend(held);
        }
        None => launch(held),
    }
}

/// Pops the frame `run` pushed, also when the body panics (its held tasks then launch, so
/// no waiter is left hanging).
struct Open {
    closed: bool,
}

impl Drop for Open {
    fn drop(&mut self) {
        if !self.closed {
            if let Some(frame) = pop() {
                let _ = close(frame);
            }
        }
    }
}

/// Runs `body` with `frame` open, then closes it: a wait or a region waits for its tasks
/// and gives the first error among them.
pub(crate) fn run<R>(frame: Frame, body: impl FnOnce() -> R) -> (R, Option<Error>) {
    push(frame);
    let mut open = Open { closed: false };
    let out = body();
    open.closed = true;
    let first = match pop() {
        Some(frame) => close(frame),
        None => None,
    };
    (out, first)
}

/// Closes a popped frame; the first error among the tasks it waited for.
fn close(frame: Frame) -> Option<Error> {
    match frame {
        Frame::Wait { jobs } => wait_first_error(&jobs),
        Frame::Bulk {
            serial,
            held,
            batch,
        } => {
            crate::task::close_queue(serial);
            FRAMES.with(|f| {
                let mut frames = f.borrow_mut();
                if let Some(Frame::Sequential { previous }) = frames
                    .iter_mut()
                    .rev()
                    .find(|f| !matches!(f, Frame::Wait { .. }))
                {
                    if let Some(batch) = batch.filter(|b| !b.is_empty()) {
                        *previous = batch;
                    }
                }
                hand_down(&mut frames, held);
            });
            None
        }
        Frame::Sequential { .. } => None,
        Frame::Region(mut r) => {
            crate::task::close_queue(r.serial);
            launch(std::mem::take(&mut r.held));
            let first = wait_first_error(&r.all);
            r.recycle();
            first
        }
    }
}

fn wait_first_error(jobs: &[Arc<dyn Job>]) -> Option<Error> {
    let mut first = None;
    for j in jobs {
        let h = j.header();
        if h.is_done() && h.queued.load(Ordering::Acquire) == 0 {
            // Most tasks have finished by the time the waiter reaches them: no wait (it
            // would tell the pool threads that a thread blocks).
            if first.is_none() {
                first = j.error();
            }
            continue;
        }
        if h.is_queued() {
            // Held by an enclosing bulk queue or region (a wait inside one): it cannot run
            // before that closes, so waiting here would never end.
            first.get_or_insert_with(|| h.unlaunched());
            continue;
        }
        executor::wait_until(&|| h.is_done(), &|p| h.add_waiter(p));
        if first.is_none() {
            first = j.error();
        }
    }
    first
}
