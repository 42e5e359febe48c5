//! The per-process executor: one OS thread per thread processor, work-stealing deques for
//! tasks any thread may run, a private inbox per thread for pinned tasks, and parking that
//! costs nothing while threads are busy.
//!
//! Why this shape: a finished task's newly ready dependent runs next on the same thread
//! (depth-first, its input is hot in cache and released sooner); spawns from outside go
//! through one lock-free injector; a sleeping thread is woken only when one is known to
//! sleep, so a busy pool pays no wake-up per task.

use crate::task::{Job, Pin};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::sync::{Parker, Unparker};
use dagger_core::WorkerId;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A way to wake one parked thread.
#[derive(Clone)]
pub(crate) struct Parking(Unparker);

impl Parking {
    pub fn unpark(&self) {
        self.0.unpark();
    }
}

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
    pub fn start(threads: usize, worker: WorkerId, name: &str) -> (Arc<Pool>, Vec<JoinHandle<()>>) {
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
    pub fn threads(&self) -> usize {
        self.slots.len()
    }

    /// Asks every thread to exit once idle.
    pub fn shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for s in &self.slots {
            s.unparker.unpark();
        }
    }

    /// Queues a ready task.
    pub fn schedule(self: &Arc<Self>, job: Arc<dyn Job>) {
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
                Steal::Success(j) => return Some(j),
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

fn main_loop() {
    LOCAL.with(|l| {
        let guard = l.borrow();
        let Some(local) = guard.as_ref() else { return };
        let pool = local.pool.clone();
        let slot = &pool.slots[local.index];
        loop {
            if run_one(local) {
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
            while !done() {
                if register(&me) && !done() {
                    p.park();
                }
            }
        });
    }
}

/// Schedules every job in `ready`.
pub(crate) fn schedule_all(pool: &Arc<Pool>, ready: Vec<Arc<dyn Job>>) {
    for r in ready {
        pool.schedule(r);
    }
}
