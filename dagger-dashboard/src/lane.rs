//! A *lane*: what one thread reports to one [`Collector`](crate::collect::Collector).
//!
//! Only the lane's thread writes it, so counting is a plain load and store on a cache line
//! no other core touches. The sampler reads the shared (atomic) part a few times a second.
//! A lane also decides which tasks it times for the task stream (one in `stride`, adapted
//! so that it records at most a few thousand spans per second).

use crate::names::MAX_NAMES;
use dagger_core::ProcessorId;
use parking_lot::Mutex;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Names a thread remembers (past this, unseen names go straight to `OTHER_NAMES`).
const LOCAL_NAMES: usize = 4096;

/// Timed tasks a thread can have running at once (a task that waits runs others); past
/// this the oldest is forgotten (its span is not drawn).
const TIMED_SLOTS: usize = 4;
/// Spans kept per lane.
pub(crate) const RING: usize = 512;
/// The sampling window, and the spans a lane aims to record in it.
const WINDOW: Duration = Duration::from_millis(50);
const TARGET_PER_WINDOW: u64 = 32;
/// A lane records at most this many spans in a window before it raises its stride.
const BUDGET_PER_WINDOW: u64 = 2 * TARGET_PER_WINDOW;
const MAX_STRIDE: u64 = 1 << 24;

/// Task counters of one name on one lane. Written only by the lane's thread.
#[derive(Default)]
#[repr(C)]
pub(crate) struct Counts {
    pub(crate) spawned: AtomicU64,
    pub(crate) started: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) failed: AtomicU64,
    /// Finished without having started (cancelled while queued, or not placeable).
    pub(crate) unstarted: AtomicU64,
}

/// A counter set as `[spawned, started, ok, failed, unstarted]`.
pub(crate) fn counts_of(c: &Counts) -> [u64; 5] {
    [
        c.spawned.load(Acquire),
        c.started.load(Acquire),
        c.ok.load(Acquire),
        c.failed.load(Acquire),
        c.unstarted.load(Acquire),
    ]
}

/// `c += 1` for a counter with a single writer: no locked instruction needed.
#[inline]
pub(crate) fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

/// One span kept for the task stream.
pub(crate) struct SpanRec {
    pub(crate) seq: u64,
    pub(crate) task: u64,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) ok: bool,
}

/// What one thread reported. The atomics are the shared part (the thread writes, the
/// sampler reads); `own` is the thread's private part. Aligned to two cache lines so that
/// two threads' lanes never share one, and laid out in field order so that what every
/// event touches sits in the first line: the scheduler's own work between two events evicts
/// whatever else a lane spreads over.
#[repr(C, align(128))]
pub(crate) struct Lane {
    pub(crate) countdown: AtomicU64,
    pub(crate) unnamed: Counts,
    /// Whether `processor` is set (a flag in the hot line, so `Started` does not read it).
    pub(crate) processor_known: AtomicBool,
    pub(crate) processor: OnceLock<ProcessorId>,
    pub(crate) named: Mutex<Vec<(Arc<str>, Arc<Counts>)>>,
    /// Tasks whose names did not fit under `MAX_NAMES`.
    pub(crate) other: Arc<Counts>,
    pub(crate) spans: Mutex<VecDeque<SpanRec>>,
    /// Time one task in `stride`; the sampler may lower it after a lull.
    pub(crate) stride: AtomicU64,
    /// When this lane last recorded a span (nanoseconds since the collector started).
    pub(crate) last_span_ns: AtomicU64,
    /// Only the lane's thread touches this (see [`Collector::with_lane`]).
    pub(crate) own: UnsafeCell<Own>,
}

// SAFETY: `own` is the only field that is not `Sync`. It is reached only through
// `Collector::with_lane`, which hands it to the one thread that made the lane (the lane's
// pointer lives in that thread's thread-locals only), and never re-entrantly.
unsafe impl Sync for Lane {}

/// A lane's private part: what its thread remembers between events.
pub(crate) struct Own {
    /// Counters by name, for names met before.
    names: HashMap<Arc<str>, Arc<Counts>>,
    /// The last few names by pointer: the scheduler hands out clones of the one `Arc<str>`
    /// the task's options hold, so most events hit here without hashing the name. Holding
    /// the `Arc` keeps its address from being reused by another name.
    by_ptr: [Option<(Arc<str>, Arc<Counts>)>; PTR_CACHE],
    registry: Arc<Mutex<HashSet<Arc<str>>>>,
    /// The timed tasks running on this thread and their start times (see [`Lane::tick`]).
    timed: [(u64, Option<Instant>); TIMED_SLOTS],
    /// How many of `timed` are set: finishing a task looks there only if some are.
    timing: usize,
    window_start: Option<Instant>,
    window_count: u64,
}

/// Entries of [`Own::by_ptr`] (a power of two).
const PTR_CACHE: usize = 8;

impl Own {
    /// Notes that timed `task` starts now, in a free slot or else the oldest one's (a
    /// task cancelled from another thread while running never frees its slot here).
    #[cold]
    pub(crate) fn start_timing(&mut self, task: u64) {
        let now = Some(Instant::now());
        let slot = match self.timed.iter().position(|(_, t0)| t0.is_none()) {
            Some(free) => {
                self.timing += 1;
                free
            }
            None => (0..TIMED_SLOTS)
                .min_by_key(|&k| self.timed[k].1)
                .unwrap_or(0),
        };
        self.timed[slot] = (task, now);
    }

    /// The start time of `task` if it is a timed task running on this thread.
    #[inline]
    pub(crate) fn stop_timing(&mut self, task: u64) -> Option<Instant> {
        if self.timing == 0 {
            return None;
        }
        let slot = self
            .timed
            .iter_mut()
            .find(|(id, t0)| *id == task && t0.is_some())?;
        self.timing -= 1;
        slot.1.take()
    }
}

impl Lane {
    pub(crate) fn new(registry: Arc<Mutex<HashSet<Arc<str>>>>) -> Self {
        Lane {
            processor: OnceLock::new(),
            processor_known: AtomicBool::new(false),
            unnamed: Counts::default(),
            named: Mutex::new(Vec::new()),
            other: Arc::new(Counts::default()),
            spans: Mutex::new(VecDeque::with_capacity(RING)),
            stride: AtomicU64::new(1),
            countdown: AtomicU64::new(1),
            last_span_ns: AtomicU64::new(0),
            own: UnsafeCell::new(Own {
                names: HashMap::new(),
                by_ptr: Default::default(),
                registry,
                timed: [(0, None); TIMED_SLOTS],
                timing: 0,
                window_start: None,
                window_count: 0,
            }),
        }
    }

    /// The counters of tasks called `name`.
    #[inline]
    pub(crate) fn counts<'a>(&'a self, own: &'a mut Own, name: &Option<Arc<str>>) -> &'a Counts {
        match name {
            None => &self.unnamed,
            Some(n) => {
                let slot = (Arc::as_ptr(n) as *const u8 as usize >> 4) & (PTR_CACHE - 1);
                let hit = matches!(&own.by_ptr[slot], Some((k, _)) if Arc::ptr_eq(k, n));
                if !hit {
                    let c = self.named_counts(own, n);
                    own.by_ptr[slot] = Some((n.clone(), c));
                }
                match &own.by_ptr[slot] {
                    Some((_, c)) => c,
                    None => &self.other, // ok: filled just above; never taken
                }
            }
        }
    }

    /// The counters of `n` by its text (the slow path: hashes the name).
    #[cold]
    fn named_counts(&self, own: &mut Own, n: &Arc<str>) -> Arc<Counts> {
        if let Some(c) = own.names.get(&**n) {
            return c.clone();
        }
        if own.names.len() >= LOCAL_NAMES {
            return self.other.clone();
        }
        let known = {
            let mut reg = own.registry.lock();
            reg.contains(&**n) || (reg.len() < MAX_NAMES && reg.insert(n.clone()))
        };
        let c = if known {
            let c = Arc::new(Counts::default());
            self.named.lock().push((n.clone(), c.clone()));
            c
        } else {
            self.other.clone()
        };
        own.names.insert(n.clone(), c.clone());
        c
    }

    /// Counts down to the next task to time: whether the task starting now is timed.
    #[inline]
    pub(crate) fn tick(&self) -> bool {
        let c = self.countdown.load(Relaxed);
        let timed = c <= 1;
        self.countdown.store(
            if timed {
                self.stride.load(Relaxed).max(1)
            } else {
                c - 1
            },
            Relaxed,
        );
        timed
    }

    /// Adapts the stride so the lane records about `TARGET_PER_WINDOW` spans per window.
    pub(crate) fn adapt(&self, own: &mut Own, now: Instant) {
        let start = *own.window_start.get_or_insert(now);
        own.window_count += 1;
        let elapsed = now.saturating_duration_since(start);
        if own.window_count < BUDGET_PER_WINDOW && elapsed < WINDOW {
            return;
        }
        let stride = self.stride.load(Relaxed).max(1);
        // Tasks per window at the current pace, and the stride that keeps the target.
        let el = elapsed.as_nanos().max(1);
        let per_window = (own.window_count as u128 * stride as u128 * WINDOW.as_nanos()) / el;
        let want = (per_window / TARGET_PER_WINDOW as u128).clamp(1, MAX_STRIDE as u128) as u64;
        self.stride.store(want, Relaxed);
        if self.countdown.load(Relaxed) > want {
            self.countdown.store(want, Relaxed);
        }
        own.window_start = Some(now);
        own.window_count = 0;
    }
}

/// What one thread keeps about one collector: its lane there.
pub(crate) struct Local {
    pub(crate) collector: u64,
    pub(crate) alive: Weak<()>,
    pub(crate) lane: Arc<Lane>,
}

impl Drop for Local {
    /// The thread is exiting (or the collector is gone): forget the lane as current, so that
    /// no later event on this thread reaches it once the collector has retired it.
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| {
            if std::ptr::eq(c.get().1, Arc::as_ptr(&self.lane)) {
                c.set((0, std::ptr::null()));
            }
        });
    }
}

thread_local! {
    /// The lane this thread used last, with its collector's id. Const-initialised and
    /// without a destructor, so reading it is one plain thread-local load: the per-event
    /// path's only lookup.
    pub(crate) static CURRENT: Cell<(u64, *const Lane)> = const { Cell::new((0, std::ptr::null())) };
    /// Every lane this thread has, one per collector it reported to (the slow path).
    pub(crate) static LOCALS: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}
