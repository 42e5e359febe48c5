//! The [`Collector`]: the dashboard's [`Observer`]. It must never slow the computation, so:
//!
//! - every thread that reports events gets its own *lane* (`lane.rs`: counters, the start
//!   times of the timed tasks it is running, a small ring of timed spans). Only that thread
//!   writes its lane, so counting is a plain load and store on a cache line no other core
//!   touches — no lock, no contended atomic. The page's sampler reads the lanes a few times
//!   a second;
//! - only one task in `stride` is timed for the task stream, and each lane adapts its stride
//!   so that it records at most a few thousand spans per second whatever the task size;
//! - the graph panel keeps a bounded window of consecutive task ids; outside it an event
//!   costs one load and one comparison.
//!
//! Queued / running counts need to know whether a finished task had started: the scheduler
//! says so in `Finished`, except for tasks sent to another process, which count as running
//! from `Dispatched` (a set of them, looked at only while it is not empty).

use crate::gauges::Gauges;
use crate::graph::Graph;
use crate::lane::{bump, counts_of, Counts, Lane, Local, Own, SpanRec, CURRENT, LOCALS, RING};
use crate::names::{OTHER_NAMES, UNNAMED};
use crate::state::{NameProgress, NodeState, Progress, SpanView, State};
use dagger_core::{ProcessorId, TaskId, WorkerId};
use dagger_sched::{Observer, TaskEvent, TaskEventKind};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most spans sent in one update.
const MAX_SPANS_OUT: usize = 4096;

static NEXT_COLLECTOR: AtomicU64 = AtomicU64::new(1);

/// A task span recorded in another process, for [`Collector::add_spans`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalSpan {
    /// Where it ran, e.g. `ThreadProc(w2, 1)` (a lane of the task stream).
    pub processor: String,
    /// The task id.
    pub task: u64,
    /// The task name, if any.
    pub name: Option<String>,
    /// Start, wall-clock nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    /// End, wall-clock nanoseconds since the Unix epoch.
    pub end_unix_ns: u64,
    /// Whether it produced a value.
    pub ok: bool,
}

/// Wall-clock now, in nanoseconds since the Unix epoch (0 if the clock is before it).
fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

/// The dashboard's task-event observer and the figures it keeps.
///
/// Aligned to two cache lines, so that the fields every event reads (its id, the graph
/// window's bounds) share no line with what is written elsewhere (the counts of the `Arc`
/// holding it).
#[repr(align(128))]
pub struct Collector {
    id: u64,
    alive: Arc<()>,
    start: Instant,
    lanes: Mutex<Vec<Arc<Lane>>>,
    /// The names shown separately (at most `MAX_NAMES`).
    registry: Arc<Mutex<HashSet<Arc<str>>>>,
    span_seq: AtomicU64,
    graph: Graph,
    pub(crate) clients: AtomicU64,
    /// `start` as wall-clock time (nanoseconds since the Unix epoch), to place spans that
    /// other processes recorded on this collector's timeline.
    start_unix_ns: u64,
    /// Spans of processors in other processes (fed by [`Collector::add_spans`]), newest last,
    /// at most `RING` per processor.
    external: Mutex<BTreeMap<String, VecDeque<SpanRec>>>,
    /// The final counts of lanes whose threads have exited, by name (see
    /// [`Collector::live_lanes`]).
    retired: Mutex<BTreeMap<String, [u64; 5]>>,
    /// Tasks sent to another process and not finished yet: they count as running from
    /// `Dispatched` to `Finished` (which come on different threads).
    dispatched: Mutex<HashSet<u64>>,
    /// `dispatched`'s size, read without its lock: events of local tasks look at the set
    /// only while it holds some.
    in_flight: AtomicUsize,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("id", &self.id)
            .field("lanes", &self.lanes.lock().len())
            .finish_non_exhaustive()
    }
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    /// A collector with nothing seen yet.
    pub fn new() -> Self {
        Collector {
            id: NEXT_COLLECTOR.fetch_add(1, Relaxed),
            alive: Arc::new(()),
            start: Instant::now(),
            lanes: Mutex::new(Vec::new()),
            registry: Arc::new(Mutex::new(HashSet::new())),
            span_seq: AtomicU64::new(0),
            graph: Graph::new(),
            clients: AtomicU64::new(0),
            start_unix_ns: unix_ns(),
            external: Mutex::new(BTreeMap::new()),
            retired: Mutex::new(BTreeMap::new()),
            dispatched: Mutex::new(HashSet::new()),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// The lanes of threads still alive. A lane that only the collector holds belongs to an
    /// exited thread (its thread-local dropped it, see `Local`'s `Drop`): its counts are
    /// final, so they are folded into `retired` and the lane freed. Contexts come and go with
    /// their threads; without this the lanes, and each update's work, would only grow.
    fn live_lanes(&self) -> Vec<Arc<Lane>> {
        let mut lanes = self.lanes.lock();
        if lanes.iter().any(|l| Arc::strong_count(l) == 1) {
            let mut retired = self.retired.lock();
            lanes.retain(|lane| {
                if Arc::strong_count(lane) > 1 {
                    return true;
                }
                let mut fold = |name: &str, c: &Counts| {
                    let a = retired.entry(name.to_string()).or_default();
                    for (x, y) in a.iter_mut().zip(counts_of(c)) {
                        *x = x.wrapping_add(y);
                    }
                };
                fold(UNNAMED, &lane.unnamed);
                fold(OTHER_NAMES, &lane.other);
                for (n, c) in lane.named.lock().iter() {
                    fold(n, c);
                }
                false
            });
        }
        lanes.clone()
    }

    /// Adds spans that ran elsewhere (e.g. on worker processes, from their recordings) to
    /// the task stream. Bounded: each processor keeps its latest spans only.
    pub fn add_spans(&self, spans: impl IntoIterator<Item = ExternalSpan>) {
        let mut ext = self.external.lock();
        for sp in spans {
            let at = |unix: u64| Duration::from_nanos(unix.saturating_sub(self.start_unix_ns));
            let rec = SpanRec {
                seq: self.span_seq.fetch_add(1, Relaxed) + 1,
                task: sp.task,
                name: sp.name.map(Arc::from),
                start: at(sp.start_unix_ns),
                end: at(sp.end_unix_ns.max(sp.start_unix_ns)),
                ok: sp.ok,
            };
            let ring = ext.entry(sp.processor).or_default();
            if ring.len() == RING {
                ring.pop_front();
            }
            ring.push_back(rec);
        }
    }

    /// Whether a live-stream client is connected now.
    pub fn watched(&self) -> bool {
        self.clients.load(Relaxed) > 0
    }

    /// Runs `f` on this thread's lane for this collector (made on first use). Returns `None`
    /// only while the thread is being torn down.
    #[inline]
    fn with_lane<R>(&self, f: impl FnOnce(&Lane, &mut Own) -> R) -> Option<R> {
        let (id, ptr) = CURRENT.with(Cell::get);
        let ptr = if id == self.id && !ptr.is_null() {
            ptr
        } else {
            self.switch_lane()?
        };
        // SAFETY: `ptr` came from `switch_lane` on this thread for this collector (ids are
        // never reused), so it points into an `Arc<Lane>` that `self.lanes` keeps alive as
        // long as `self`. Only this thread ever holds it, and `f` never reports events, so
        // this is the only `&mut Own` to that lane.
        let lane = unsafe { &*ptr };
        let own = unsafe { &mut *lane.own.get() };
        Some(f(lane, own))
    }

    /// Finds (or makes) this thread's lane for this collector and makes it current.
    #[cold]
    #[inline(never)]
    fn switch_lane(&self) -> Option<*const Lane> {
        LOCALS
            .try_with(|cell| {
                let mut v = cell.try_borrow_mut().ok()?;
                let lane = match v.iter().find(|l| l.collector == self.id) {
                    Some(l) => l.lane.clone(),
                    None => {
                        v.retain(|l| l.alive.strong_count() > 0);
                        let lane = Arc::new(Lane::new(self.registry.clone()));
                        self.lanes.lock().push(lane.clone());
                        v.push(Local {
                            collector: self.id,
                            alive: Arc::downgrade(&self.alive),
                            lane: lane.clone(),
                        });
                        lane
                    }
                };
                let ptr = Arc::as_ptr(&lane);
                CURRENT.with(|c| c.set((self.id, ptr)));
                Some(ptr)
            })
            .ok()
            .flatten()
    }

    /// Whether `task` was sent to another process (and counted as started then).
    #[inline]
    fn was_dispatched(&self, task: u64) -> bool {
        self.in_flight.load(Acquire) > 0 && self.is_dispatched(task)
    }

    #[cold]
    #[inline(never)]
    fn is_dispatched(&self, task: u64) -> bool {
        self.dispatched.lock().contains(&task)
    }

    /// Forgets `task` as sent to another process; whether it was.
    #[inline]
    fn take_dispatched(&self, task: u64) -> bool {
        self.in_flight.load(Acquire) > 0 && self.remove_dispatched(task)
    }

    #[cold]
    #[inline(never)]
    fn remove_dispatched(&self, task: u64) -> bool {
        let mut d = self.dispatched.lock();
        let was = d.remove(&task);
        self.in_flight.store(d.len(), Release);
        was
    }

    fn since_start(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.start)
    }

    // Not inlined into `on_event`: each kind then saves only the registers it uses.
    #[inline(never)]
    fn on_spawned(&self, e: &TaskEvent, deps: &[TaskId]) {
        self.with_lane(|lane, own| bump(&lane.counts(own, e.name).spawned));
        self.graph.spawned(e.task.0, e.name, deps);
    }

    // Not inlined into `on_event`: each kind then saves only the registers it uses.
    #[inline(never)]
    fn on_started(&self, e: &TaskEvent, processor: &ProcessorId) {
        self.with_lane(|lane, own| {
            // Read the processor only once per lane: the scheduler has just written it with
            // narrower stores, and reading it back whole would stall on every task.
            if !lane.processor_known.load(Relaxed) {
                let _ = lane.processor.set(*processor);
                lane.processor_known.store(true, Relaxed);
            }
            // A task sent away, then run here after its worker was lost, started once.
            if !self.was_dispatched(e.task.0) {
                bump(&lane.counts(own, e.name).started);
            }
            if lane.tick() {
                own.start_timing(e.task.0);
            }
        });
        self.graph.set(e.task.0, NodeState::Running);
    }

    /// A task sent to a worker process: running from now (once, even if it is sent again
    /// after its worker was lost).
    #[cold]
    #[inline(never)]
    fn on_dispatched(&self, e: &TaskEvent) {
        let first = {
            let mut d = self.dispatched.lock();
            let first = d.insert(e.task.0);
            self.in_flight.store(d.len(), Release);
            first
        };
        if first {
            self.with_lane(|lane, own| bump(&lane.counts(own, e.name).started));
            self.graph.set(e.task.0, NodeState::Running);
        }
    }

    // Not inlined into `on_event`: each kind then saves only the registers it uses.
    #[inline(never)]
    fn on_finished(&self, e: &TaskEvent, ok: bool, started: bool) {
        let dispatched = self.take_dispatched(e.task.0);
        self.with_lane(|lane, own| {
            let c = lane.counts(own, e.name);
            bump(if ok { &c.ok } else { &c.failed });
            if !started && !dispatched {
                bump(&c.unstarted);
            }
            if let Some(t0) = own.stop_timing(e.task.0) {
                self.record_span(lane, own, e, t0, ok);
            }
        });
        self.graph.set(
            e.task.0,
            if ok {
                NodeState::Done
            } else {
                NodeState::Failed
            },
        );
    }

    /// Keeps a timed task's span for the task stream (one task in `stride`).
    #[cold]
    #[inline(never)]
    fn record_span(&self, lane: &Lane, own: &mut Own, e: &TaskEvent, t0: Instant, ok: bool) {
        let now = Instant::now();
        let seq = self.span_seq.fetch_add(1, Relaxed) + 1;
        let end = self.since_start(now);
        let rec = SpanRec {
            seq,
            task: e.task.0,
            name: e.name.clone(),
            start: self.since_start(t0),
            end,
            ok,
        };
        {
            let mut ring = lane.spans.lock();
            if ring.len() == RING {
                ring.pop_front();
            }
            ring.push_back(rec);
        }
        lane.last_span_ns
            .store(end.as_nanos().min(u64::MAX as u128) as u64, Relaxed);
        lane.adapt(own, now);
    }

    /// Everything seen so far. `since` limits the spans to those with a larger sequence
    /// number (the live stream sends each span once).
    pub fn state(&self, gauges: &Gauges, since: u64) -> State {
        let lanes = self.live_lanes();
        let now = self.since_start(Instant::now());
        let mut acc: BTreeMap<String, [u64; 5]> = self.retired.lock().clone();
        // Counters only grow. Read the finishes first, then the starts, then the spawns, so
        // a task that moves on while we read is never counted in two states or none.
        type Pick = fn(&Counts) -> [u64; 5];
        let passes: [Pick; 3] = [
            |c| {
                let unstarted = c.unstarted.load(Acquire);
                [0, 0, c.ok.load(Acquire), c.failed.load(Acquire), unstarted]
            },
            |c| [0, c.started.load(Acquire), 0, 0, 0],
            |c| [c.spawned.load(Acquire), 0, 0, 0, 0],
        ];
        for pick in passes {
            for lane in &lanes {
                let mut add = |name: &str, c: &Counts| {
                    let v = pick(c);
                    let a = acc.entry(name.to_string()).or_default();
                    for (x, y) in a.iter_mut().zip(v) {
                        *x = x.wrapping_add(y);
                    }
                };
                add(UNNAMED, &lane.unnamed);
                add(OTHER_NAMES, &lane.other);
                for (n, c) in lane.named.lock().iter() {
                    add(n, c);
                }
            }
        }
        let mut totals = Progress::default();
        let mut names = Vec::new();
        for (name, [spawned, started, ok, failed, unstarted]) in acc {
            if spawned == 0 && started == 0 && ok == 0 && failed == 0 {
                continue;
            }
            let finished_after_start = (ok + failed).saturating_sub(unstarted);
            let progress = Progress {
                queued: spawned.saturating_sub(started + unstarted),
                running: started.saturating_sub(finished_after_start),
                done: ok,
                failed,
            };
            totals.add(&progress);
            names.push(NameProgress { name, progress });
        }

        let mut processors: Vec<ProcessorId> = lanes
            .iter()
            .filter_map(|l| l.processor.get().copied())
            .collect();
        processors.sort();
        processors.dedup();
        let mut workers: Vec<WorkerId> = processors.iter().map(|p| p.worker).collect();
        workers.dedup();
        for w in workers {
            gauges.ensure_worker(w);
        }

        let mut spans = Vec::new();
        let mut span_stride = 1;
        for lane in &lanes {
            let Some(p) = lane.processor.get() else {
                continue;
            };
            let stride = lane.stride.load(Relaxed);
            // After a lull (no span for a second) time the next task again: the stride was
            // set for a pace that may be over.
            let last = Duration::from_nanos(lane.last_span_ns.load(Relaxed));
            if stride > 1 && now.saturating_sub(last) > Duration::from_secs(1) {
                lane.stride.store(1, Relaxed);
                lane.countdown.store(1, Relaxed);
            }
            span_stride = span_stride.max(lane.stride.load(Relaxed));
            let processor = p.to_string();
            for s in lane.spans.lock().iter().filter(|s| s.seq > since) {
                spans.push(SpanView {
                    seq: s.seq,
                    task: s.task,
                    name: s.name.as_deref().unwrap_or(UNNAMED).to_string(),
                    processor: processor.clone(),
                    start_s: s.start.as_secs_f64(),
                    end_s: s.end.as_secs_f64(),
                    ok: s.ok,
                });
            }
        }
        let mut processors: Vec<String> = processors.iter().map(|p| p.to_string()).collect();
        for (processor, ring) in self.external.lock().iter() {
            processors.push(processor.clone());
            for s in ring.iter().filter(|s| s.seq > since) {
                spans.push(SpanView {
                    seq: s.seq,
                    task: s.task,
                    name: s.name.as_deref().unwrap_or(UNNAMED).to_string(),
                    processor: processor.clone(),
                    start_s: s.start.as_secs_f64(),
                    end_s: s.end.as_secs_f64(),
                    ok: s.ok,
                });
            }
        }
        spans.sort_by_key(|s| s.seq);
        if spans.len() > MAX_SPANS_OUT {
            spans.drain(..spans.len() - MAX_SPANS_OUT);
        }

        State {
            uptime_s: now.as_secs_f64(),
            totals,
            names,
            processors,
            spans,
            span_seq: self.span_seq.load(Relaxed),
            span_stride,
            memory: gauges.memory(),
            transfers: gauges.transfers(),
            graph: self.graph.view(),
            clients: self.clients.load(Relaxed),
        }
    }
}

impl Observer for Collector {
    #[inline]
    fn on_event(&self, e: &TaskEvent) {
        match &e.kind {
            TaskEventKind::Spawned { deps } => self.on_spawned(e, deps),
            TaskEventKind::Started { processor } => self.on_started(e, processor),
            TaskEventKind::Finished { ok, started } => self.on_finished(e, *ok, *started),
            TaskEventKind::Dispatched { .. } => self.on_dispatched(e),
            _ => {}
        }
    }
}
