//! The per-process executor: one OS thread per thread processor, work-stealing deques for
//! tasks any thread may run, a private inbox per thread for pinned tasks, and parking that
//! costs nothing while threads are busy.
//!
//! Why this shape: a finished task's newly ready dependent runs next on the same thread
//! (depth-first, its input is hot in cache and released sooner); spawns from outside go
//! through one lock-free injector; a sleeping thread is woken only when one is known to
//! sleep, so a busy pool pays no wake-up per task; while a thread outside the pool streams
//! tasks in, a pool thread that emptied the injector lets it fill before looking again, so
//! the spawner does not pay a cache miss per push (see [`let_queue_fill`]).

use crate::observe::Observers;
use crate::task::{Header, Job, Parking, Pin, Ready};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::sync::{Parker, Unparker};
use crossbeam_utils::CachePadded;
use dagger_core::WorkerId;
use dagger_core::{Error, TaskId};
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

struct ThreadSlot {
    stealer: Stealer<Arc<dyn Job>>,
    inbox: Mutex<VecDeque<Arc<dyn Job>>>,
    inbox_len: AtomicUsize,
    unparker: Unparker,
    idle: AtomicBool,
}

/// Shared state of one pool.
pub(crate) struct Pool {
    injector: Injector<Arc<dyn Job>>,
    slots: Vec<ThreadSlot>,
    idle_count: AtomicUsize,
    shutdown: AtomicBool,
    /// The worker this pool's threads belong to (names timelines in profiles).
    pub(crate) worker: WorkerId,
}

/// What a pool thread keeps for itself.
struct Local {
    pool: Arc<Pool>,
    index: usize,
    deque: Worker<Arc<dyn Job>>,
    parker: Parker,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
    static PARKER: Parker = Parker::new();
}

impl Pool {
    /// Starts `threads` threads. The handles are returned so the owner can join them.
    pub(crate) fn start(
        threads: usize,
        worker: WorkerId,
        name: &str,
    ) -> (Arc<Pool>, Vec<JoinHandle<()>>) {
        let threads = threads.max(1);
        let mut deques = Vec::new();
        let mut parkers = Vec::new();
        let mut slots = Vec::new();
        for _ in 0..threads {
            let w = Worker::new_lifo();
            let p = Parker::new();
            slots.push(ThreadSlot {
                stealer: w.stealer(),
                inbox: Mutex::new(VecDeque::new()),
                inbox_len: AtomicUsize::new(0),
                unparker: p.unparker().clone(),
                idle: AtomicBool::new(false),
            });
            deques.push(w);
            parkers.push(p);
        }
        let pool = Arc::new(Pool {
            injector: Injector::new(),
            slots,
            idle_count: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            worker,
        });
        let handles = deques
            .into_iter()
            .zip(parkers)
            .enumerate()
            .map(|(index, (deque, parker))| {
                let pool = pool.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-{}", index + 1))
                    .spawn(move || {
                        LOCAL.with(|l| {
                            *l.borrow_mut() = Some(Local {
                                pool,
                                index,
                                deque,
                                parker,
                            })
                        });
                        main_loop();
                        LOCAL.with(|l| l.borrow_mut().take());
                    })
                    .expect("spawning an executor thread") // ok: start-up, not outside input
            })
            .collect();
        (pool, handles)
    }

    /// Number of threads.
    pub(crate) fn threads(&self) -> usize {
        self.slots.len()
    }

    /// Asks every thread to exit once idle.
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for s in &self.slots {
            s.unparker.unpark();
        }
    }

    /// Queues a ready task.
    pub(crate) fn schedule(self: &Arc<Self>, job: Arc<dyn Job>) {
        match &job.header().pin {
            Pin::Any => {
                let pushed_locally = LOCAL.with(|l| match &*l.borrow() {
                    Some(local) if Arc::ptr_eq(&local.pool, self) => {
                        local.deque.push(job.clone());
                        true
                    }
                    _ => false,
                });
                if !pushed_locally {
                    self.injector.push(job);
                    note_spawn_from_outside();
                }
                self.wake_one();
            }
            Pin::Dispatch => {
                // Dispatching may block (fetching a value to send along, recomputing a lost
                // input): never on an I/O runtime thread, which must keep serving.
                if tokio::runtime::Handle::try_current().is_ok() {
                    self.injector.push(job);
                    self.wake_one();
                } else {
                    let ready = job.run(self.worker, 0);
                    for r in ready {
                        self.schedule(r);
                    }
                }
            }
            Pin::Threads(ts) => {
                // The least loaded allowed thread: queue pressure decides among equals.
                let t = *ts
                    .iter()
                    .min_by_key(|&&t| self.slots[t].inbox_len.load(Ordering::Relaxed))
                    .unwrap_or(&0); // ok: pins are never empty (checked at spawn)
                let slot = &self.slots[t];
                slot.inbox.lock().push_back(job);
                slot.inbox_len.fetch_add(1, Ordering::Relaxed);
                slot.unparker.unpark();
            }
        }
    }

    /// Launches a batch a task queue held (`spawn_bulk`, a region) as one job: the pool
    /// threads split it between them and run its ready tasks in place, so the batch costs no
    /// queue operation per task (only its spawns ran on the spawner's thread).
    pub(crate) fn launch_batch(self: &Arc<Self>, jobs: Jobs) {
        if jobs.runs.is_empty() {
            return;
        }
        self.schedule(Arc::new(Batch {
            header: batch_header(),
            runs: Mutex::new(jobs.runs),
            pool: self.clone(),
        }));
    }

    fn wake_one(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.idle_count.load(Ordering::SeqCst) == 0 {
            return;
        }
        for s in &self.slots {
            if s.idle.swap(false, Ordering::SeqCst) {
                self.idle_count.fetch_sub(1, Ordering::SeqCst);
                s.unparker.unpark();
                return;
            }
        }
    }

    /// Finds a task for thread `index`: its inbox, its deque, the injector, then steals.
    fn find_work(&self, index: usize, deque: &Worker<Arc<dyn Job>>) -> Option<Arc<dyn Job>> {
        let slot = &self.slots[index];
        if slot.inbox_len.load(Ordering::Relaxed) > 0 {
            if let Some(j) = slot.inbox.lock().pop_front() {
                slot.inbox_len.fetch_sub(1, Ordering::Relaxed);
                return Some(j);
            }
        }
        if let Some(j) = deque.pop() {
            return Some(j);
        }
        loop {
            match self.injector.steal_batch_and_pop(deque) {
                Steal::Success(j) => {
                    let taken = deque.len() + 1;
                    REFILL.with(|r| r.set(next_refill_wait(r.get(), taken)));
                    return Some(j);
                }
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        let n = self.slots.len();
        for k in 1..n {
            let other = &self.slots[(index + k) % n];
            loop {
                match other.stealer.steal() {
                    Steal::Success(j) => return Some(j),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        None
    }
}

/// Runs `job` and then, depth-first, the dependents it made ready.
fn run_chain(pool: &Arc<Pool>, index: usize, job: Arc<dyn Job>) {
    let mut next = Some(job);
    while let Some(j) = next.take() {
        let mut ready = j.run(pool.worker, index as u32 + 1).into_iter();
        // The first newly ready dependent that may run here runs next, on this thread.
        for r in ready.by_ref() {
            let here = match &r.header().pin {
                Pin::Any => true,
                Pin::Threads(ts) => ts.contains(&index),
                Pin::Dispatch => false,
            };
            if here && next.is_none() {
                next = Some(r);
            } else {
                pool.schedule(r);
            }
        }
    }
}

/// Tasks of a batch a pool thread runs itself; above this it hands half to another thread.
const BATCH_LEAF: usize = 256;

/// Tasks a queue holds for one launch, in spawn order, in runs of at most [`BATCH_LEAF`]:
/// a launch splits them between threads by moving runs, never copying or cloning a task.
#[derive(Default)]
pub(crate) struct Jobs {
    runs: Vec<Vec<Arc<dyn Job>>>,
}

impl Jobs {
    /// Appends a task.
    pub(crate) fn push(&mut self, job: Arc<dyn Job>) {
        match self.runs.last_mut() {
            Some(run) if run.len() < BATCH_LEAF => run.push(job),
            _ => {
                // The first run grows (a small queue stays small); later ones are full size
                // from the start (no copy as they fill).
                let cap = if self.runs.is_empty() { 8 } else { BATCH_LEAF };
                let mut run = Vec::with_capacity(cap);
                run.push(job);
                self.runs.push(run);
            }
        }
    }

    /// Appends every task of `other`.
    pub(crate) fn append(&mut self, other: Jobs) {
        self.runs.extend(other.runs);
    }

    /// The tasks, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Job>> {
        self.runs.iter().flatten()
    }
}

fn batch_header() -> Header {
    Header::new(TaskId(0), None, Pin::Any, false, Observers(None))
}

/// Part of a launched batch: counts each task's launch, runs the ready ones here.
struct Batch {
    header: Header,
    /// Taken by the one thread that runs it.
    runs: Mutex<Vec<Vec<Arc<dyn Job>>>>,
    pool: Arc<Pool>,
}

impl Job for Batch {
    fn header(&self) -> &Header {
        &self.header
    }

    fn run(self: Arc<Self>, _worker: WorkerId, _thread: u32) -> Ready {
        let mut runs = std::mem::take(&mut *self.runs.lock());
        while runs.len() > 1 {
            let rest = runs.split_off(runs.len() / 2);
            self.pool.schedule(Arc::new(Batch {
                header: batch_header(),
                runs: Mutex::new(rest),
                pool: self.pool.clone(),
            }));
        }
        // The ready tasks go to this thread's deque, where idle threads steal them (running
        // them here one by one would serialize tasks that must overlap).
        let mut shared = 0usize;
        LOCAL.with(|l| {
            let local = l.borrow();
            let deque = match &*local {
                Some(local) if Arc::ptr_eq(&local.pool, &self.pool) => Some(&local.deque),
                _ => None,
            };
            for j in runs.into_iter().flatten() {
                let h = j.header();
                h.queued.store(0, Ordering::Release);
                if !h.dep_done() {
                    continue;
                }
                match (&h.pin, deque) {
                    (Pin::Any, Some(d)) => d.push(j),
                    (Pin::Any, None) => self.pool.injector.push(j),
                    _ => {
                        self.pool.schedule(j);
                        continue;
                    }
                }
                shared += 1;
            }
        });
        for _ in 0..shared.min(self.pool.slots.len()) {
            self.pool.wake_one();
        }
        Ready::new()
    }

    fn fail(self: Arc<Self>, _: Error) -> Ready {
        Ready::new()
    }

    fn error(&self) -> Option<Error> {
        None
    }
}

/// Runs one unit of work if there is any on this pool thread; `false` if idle.
fn run_one(local: &Local) -> bool {
    match local.pool.find_work(local.index, &local.deque) {
        Some(job) => {
            run_chain(&local.pool, local.index, job);
            true
        }
        None => false,
    }
}

/// Shortest and longest a pool thread waits for the shared queue to fill after taking its
/// last task (see [`let_queue_fill`]).
const REFILL_MIN: Duration = Duration::from_micros(1);
const REFILL_MAX: Duration = Duration::from_micros(50);
/// Pause iterations between two looks at what may end the wait early.
const PAUSES_PER_LOOK: u32 = 64;

/// Bumped by a thread outside any pool just before it blocks on a task: a pool thread letting
/// the queue fill stops waiting then, so a spawn-then-fetch pays no extra latency. Written
/// once per blocking wait, so looking at it costs the looker no miss in between.
static KICK: CachePadded<AtomicU64> = CachePadded::new(AtomicU64::new(0));

/// Whether a thread outside the pools is streaming tasks in (it spawned at least
/// [`STREAM_AFTER`] since it last blocked on one): only then do pool threads wait for the
/// shared queue to fill. A few spawns then a fetch never turn it on, so they pay no wait.
static STREAMING: CachePadded<AtomicBool> = CachePadded::new(AtomicBool::new(false));
/// Spawns without blocking after which a thread counts as streaming.
const STREAM_AFTER: u32 = 64;

thread_local! {
    /// Tasks this (non-pool) thread pushed since it last blocked on one.
    static BURST: Cell<u32> = const { Cell::new(0) };
}

/// Counts a spawn from outside the pool; every [`STREAM_AFTER`] of them without a block in
/// between (re)asserts [`STREAMING`] (a write that rare costs the waiting threads nothing).
fn note_spawn_from_outside() {
    BURST.with(|b| {
        let n = b.get().wrapping_add(1);
        b.set(n);
        if n % STREAM_AFTER == 0 {
            STREAMING.store(true, Ordering::Relaxed);
        }
    });
}

thread_local! {
    /// How long this pool thread waits for the shared queue to fill before it looks there
    /// again (zero: it looks at once).
    static REFILL: Cell<Duration> = const { Cell::new(Duration::ZERO) };
    /// Whether the last wait ended with the queue filled (nothing ended it early).
    static WAITED: Cell<bool> = const { Cell::new(false) };
}

/// The next wait, given the current one and how many tasks a steal from the shared queue
/// just took. A steal that emptied the queue starts waiting ([`REFILL_MIN`]); while the waits
/// are rewarded with batches (another thread is streaming tasks in) they double, up to
/// [`REFILL_MAX`]; a wait that found a single task stops them (tasks come one by one, and
/// waiting would only add latency).
fn next_refill_wait(current: Duration, taken: usize) -> Duration {
    let waited = WAITED.with(|w| w.replace(false));
    match (waited, taken) {
        (true, 1) => Duration::ZERO,
        (true, _) => (current * 2).min(REFILL_MAX),
        (false, 1) if current.is_zero() => REFILL_MIN,
        (false, _) => current,
    }
}

/// After a steal that took the shared queue's last task, waits (see [`next_refill_wait`])
/// for the spawning thread to put more there before looking again.
///
/// Why: a pool keeps up with a thread spawning tiny tasks, so without this each push meets a
/// pool thread that has just read the queue's tail, and every push pays a cache miss on the
/// spawning thread, the bottleneck: 100 000 tiny tasks took 30 or 50 ms from one run to the
/// next, and any nanosecond added per spawn (an observer, the caller's own work) tipped it to
/// 50. Waiting lets tasks pile up and be taken in batches. The wait looks only at what rarely
/// changes: this thread's inbox, the other threads' deques (tasks made ready by running
/// ones), a blocked waiter's [`KICK`] and shutdown.
fn let_queue_fill(pool: &Pool, index: usize) {
    let wait = REFILL.with(Cell::get);
    if wait.is_zero() || !STREAMING.load(Ordering::Relaxed) {
        return;
    }
    let kick = KICK.load(Ordering::Relaxed);
    let slot = &pool.slots[index];
    let n = pool.slots.len();
    let t0 = Instant::now();
    loop {
        for _ in 0..PAUSES_PER_LOOK {
            std::hint::spin_loop();
        }
        // Let a thread that wants this CPU have it (e.g. the spawner, woken after a fetch,
        // on a machine with fewer cores than busy threads).
        std::thread::yield_now();
        let others_have_work = (1..n).any(|k| !pool.slots[(index + k) % n].stealer.is_empty());
        if others_have_work
            || slot.inbox_len.load(Ordering::Relaxed) > 0
            || KICK.load(Ordering::Relaxed) != kick
            || !STREAMING.load(Ordering::Relaxed)
            || pool.shutdown.load(Ordering::Relaxed)
        {
            return;
        }
        if t0.elapsed() >= wait {
            WAITED.with(|w| w.set(true));
            return;
        }
    }
}

fn main_loop() {
    LOCAL.with(|l| {
        let guard = l.borrow();
        let Some(local) = guard.as_ref() else { return };
        let pool = local.pool.clone();
        let slot = &pool.slots[local.index];
        loop {
            if run_one(local) {
                if local.deque.is_empty() {
                    let_queue_fill(&pool, local.index);
                }
                continue;
            }
            if pool.shutdown.load(Ordering::SeqCst) {
                return;
            }
            // Spin, then yield, before parking: while a producer is spawning, the next task
            // arrives within microseconds, and a park/unpark pair costs tens of them.
            let mut found = false;
            for i in 0..256 {
                if i < 128 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                if !pool.injector.is_empty() || slot.inbox_len.load(Ordering::Relaxed) > 0 {
                    found = true;
                    break;
                }
            }
            if found {
                continue;
            }
            slot.idle.store(true, Ordering::SeqCst);
            pool.idle_count.fetch_add(1, Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            if let Some(job) = pool.find_work(local.index, &local.deque) {
                if slot.idle.swap(false, Ordering::SeqCst) {
                    pool.idle_count.fetch_sub(1, Ordering::SeqCst);
                }
                run_chain(&pool, local.index, job);
                continue;
            }
            if !pool.shutdown.load(Ordering::SeqCst) {
                local.parker.park();
            }
            if slot.idle.swap(false, Ordering::SeqCst) {
                pool.idle_count.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
}

/// The thread processor the caller runs on, if it is one of a scheduler's threads.
///
/// ```
/// let ctx = dagger_sched::Context::builder().threads(1).build();
/// assert_eq!(dagger_sched::current_processor(), None);
/// let p = ctx.spawn(|()| dagger_sched::current_processor(), ()).fetch().unwrap();
/// assert_eq!(p, Some(dagger_core::ProcessorId::thread(ctx.worker_id(), 1)));
/// ```
pub fn current_processor() -> Option<dagger_core::ProcessorId> {
    LOCAL.with(|l| {
        let g = l.try_borrow().ok()?;
        let local = g.as_ref()?;
        Some(dagger_core::ProcessorId::thread(
            local.pool.worker,
            local.index as u32 + 1,
        ))
    })
}

/// Whether the calling thread is a thread of `pool`, and which.
pub(crate) fn current_thread_of(pool: &Arc<Pool>) -> Option<usize> {
    LOCAL.with(|l| match &*l.borrow() {
        Some(local) if Arc::ptr_eq(&local.pool, pool) => Some(local.index),
        _ => None,
    })
}

/// Blocks until `done()` holds. On a pool thread the wait runs other work meanwhile (a
/// blocked fetch frees its slot, so a task that fetches another on the only thread cannot
/// deadlock); elsewhere the thread parks until `register` hands its parking to the awaited
/// task.
pub(crate) fn wait_until(done: &dyn Fn() -> bool, register: &dyn Fn(&Parking) -> bool) {
    let on_pool = LOCAL.with(|l| l.try_borrow().map(|g| g.is_some()).unwrap_or(false));
    if on_pool {
        LOCAL.with(|l| {
            // A nested wait borrows again; shared borrows nest fine.
            let guard = l.borrow();
            let Some(local) = guard.as_ref() else { return };
            let slot = &local.pool.slots[local.index];
            let me = Parking(slot.unparker.clone());
            while !done() {
                if run_one(local) {
                    continue;
                }
                slot.idle.store(true, Ordering::SeqCst);
                local.pool.idle_count.fetch_add(1, Ordering::SeqCst);
                std::sync::atomic::fence(Ordering::SeqCst);
                let registered = register(&me);
                let has_work = local.pool.find_work(local.index, &local.deque);
                if let Some(job) = has_work {
                    if slot.idle.swap(false, Ordering::SeqCst) {
                        local.pool.idle_count.fetch_sub(1, Ordering::SeqCst);
                    }
                    run_chain(&local.pool, local.index, job);
                    continue;
                }
                if registered && !done() {
                    local.parker.park();
                }
                if slot.idle.swap(false, Ordering::SeqCst) {
                    local.pool.idle_count.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
    } else {
        PARKER.with(|p| {
            let me = Parking(p.unparker().clone());
            KICK.fetch_add(1, Ordering::Relaxed);
            BURST.with(|b| b.set(0));
            if STREAMING.load(Ordering::Relaxed) {
                STREAMING.store(false, Ordering::Relaxed);
            }
            while !done() {
                if register(&me) && !done() {
                    p.park();
                }
            }
        });
    }
}

/// Schedules every job in `ready`.
pub(crate) fn schedule_all(pool: &Arc<Pool>, ready: impl IntoIterator<Item = Arc<dyn Job>>) {
    for r in ready {
        pool.schedule(r);
    }
}
