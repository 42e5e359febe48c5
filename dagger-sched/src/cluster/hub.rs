//! The streaming hub of one process: the edges of streaming stages that cross a process
//! boundary (their queues and credits: see `stream_credits`), the regions' cancel flags,
//! and, in the driver, the remote stages a region waits for.
//!
//! Messages go out through the process's route (the driver: a worker's connection; a
//! worker: the driver's connection, or a peer's data port, directly).

use super::protocol::{RemoteError, StageEnd, StageSpec, StageStats, StreamMsg};
use super::stream_batch::batch_items;
use super::stream_credits::{Credits, InMsg, Inbox, SendStop};
use bytes::Bytes;
use dagger_core::{Error, Result, WorkerId};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

/// How a process sends a message to another.
pub(crate) type Route = Box<dyn Fn(WorkerId, StreamMsg) -> Result<()> + Send + Sync>;

/// Told how a remote stage ended, and what it measured (in the driver).
pub type OnEnd = Box<dyn FnOnce(Result<Option<Bytes>>, StageStats) + Send>;

type Key = (u64, u64);

/// A `Count` request awaiting its answer: the worker asked, and where the answer goes.
type Asked = (WorkerId, mpsc::Sender<Result<u64>>);

/// The per-process hub (see the module docs).
pub struct Hub {
    me: AtomicU64,
    route: OnceLock<Route>,
    inbound: Mutex<HashMap<Key, (Arc<Inbox>, WorkerId)>>,
    outbound: Mutex<HashMap<Key, (Arc<Credits>, WorkerId)>>,
    regions: Mutex<HashMap<u64, Arc<AtomicBool>>>,
    stages: Mutex<HashMap<(u64, u32), (WorkerId, OnEnd)>>,
    requests: Mutex<HashMap<u64, Asked>>,
    next_req: AtomicU64,
    running: AtomicUsize,
    received: AtomicU64,
    /// The most items one inbound edge has held at once here (see [`Hub::peak_held`]).
    peak: AtomicU64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("me", &self.me.load(Ordering::Relaxed))
            .field("running", &self.running())
            .finish()
    }
}

impl Hub {
    /// A hub for process `me`; its route is set once the process can send.
    pub(crate) fn new(me: WorkerId) -> Arc<Self> {
        Arc::new(Hub {
            me: AtomicU64::new(u64::from(me.0)),
            route: OnceLock::new(),
            inbound: Mutex::new(HashMap::new()),
            outbound: Mutex::new(HashMap::new()),
            regions: Mutex::new(HashMap::new()),
            stages: Mutex::new(HashMap::new()),
            requests: Mutex::new(HashMap::new()),
            next_req: AtomicU64::new(1),
            running: AtomicUsize::new(0),
            received: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        })
    }

    /// This process.
    pub fn me(&self) -> WorkerId {
        WorkerId(self.me.load(Ordering::Relaxed) as u32)
    }

    pub(crate) fn set_route(&self, r: Route) {
        let _ = self.route.set(r);
    }

    pub(crate) fn send(&self, to: WorkerId, m: StreamMsg) -> Result<()> {
        if to == self.me() {
            self.deliver(m);
            return Ok(());
        }
        match self.route.get() {
            Some(r) => r(to, m),
            None => Err(Error::Scheduling(
                "this process cannot send stream messages".into(),
            )),
        }
    }

    /// Stages running in this process (on workers: the remote stages).
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Stream items this process has received from other processes (a test can tell by
    /// it which edges crossed the driver).
    pub fn items_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The most items any one inbound edge has held in this process at once, queued or
    /// being read: what back-pressure bounds (a test compares it with the edge's bound).
    pub fn peak_held(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    pub(crate) fn stage_started(&self) {
        self.running.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn stage_ended(&self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
    }

    fn inbox(&self, key: Key) -> Arc<Inbox> {
        let mut m = self.inbound.lock();
        m.entry(key)
            .or_insert_with(|| (Arc::new(Inbox::default()), WorkerId(0)))
            .0
            .clone()
    }

    /// The cancel flag of `region` here.
    pub(crate) fn region_flag(&self, region: u64) -> Arc<AtomicBool> {
        self.regions.lock().entry(region).or_default().clone()
    }

    /// The consumer's end of edge `edge` of `region`, whose producer runs on `from`.
    pub fn open_in(self: &Arc<Self>, region: u64, edge: u64, from: WorkerId) -> InEdge {
        let inbox = self.inbox((region, edge));
        if let Some(e) = self.inbound.lock().get_mut(&(region, edge)) {
            e.1 = from;
        }
        InEdge {
            hub: self.clone(),
            key: (region, edge),
            from,
            inbox,
            taking: AtomicU32::new(0),
        }
    }

    /// The producer's end of edge `edge` of `region` to the consumer on `to`, holding at
    /// most `bound` items.
    pub fn open_out(self: &Arc<Self>, region: u64, edge: u64, to: WorkerId, bound: u32) -> OutEdge {
        let credits = Arc::new(Credits::new(bound));
        self.outbound
            .lock()
            .insert((region, edge), (credits.clone(), to));
        OutEdge {
            hub: self.clone(),
            key: (region, edge),
            to,
            credits,
        }
    }

    /// Handles a message from another process (or this one).
    pub(crate) fn deliver(&self, m: StreamMsg) {
        match m {
            StreamMsg::Batch {
                region,
                edge,
                items,
            } => match batch_items(&items) {
                Ok(items) => {
                    self.received
                        .fetch_add(items.len() as u64, Ordering::Relaxed);
                    self.push((region, edge), InMsg::Items(items))
                }
                Err(e) => {
                    tracing::warn!(target: "dagger", "edge {edge} of region {region}: {e}");
                    self.push((region, edge), InMsg::End);
                }
            },
            StreamMsg::End { region, edge } => self.push((region, edge), InMsg::End),
            StreamMsg::Credit { region, edge, n } => {
                if let Some((c, _)) = self.outbound.lock().get(&(region, edge)) {
                    c.give(n);
                }
            }
            StreamMsg::Close { region, edge } => {
                if let Some((c, _)) = self.outbound.lock().get(&(region, edge)) {
                    c.close();
                }
            }
            StreamMsg::Cancel { region } => self.region_flag(region).store(true, Ordering::Release),
            StreamMsg::Forget { region } => self.forget(region),
            StreamMsg::Ended {
                region,
                stage,
                outcome,
                stats,
            } => {
                if let Some((_, f)) = self.stages.lock().remove(&(region, stage)) {
                    let r = match outcome {
                        StageEnd::Done(v) => Ok(v),
                        StageEnd::Cancelled => Err(Error::Cancelled {
                            task: dagger_core::TaskId(u64::from(stage)),
                        }),
                        StageEnd::Failed(e) => Err(Error::from(e)),
                    };
                    f(r, stats);
                }
            }
            StreamMsg::Count { req } => {
                let running = self.running() as u64;
                let _ = self.send(WorkerId::DRIVER, StreamMsg::Counted { req, running });
            }
            StreamMsg::Counted { req, running } => {
                if let Some((_, tx)) = self.requests.lock().remove(&req) {
                    let _ = tx.send(Ok(running));
                }
            }
            // Workers start their stages themselves (the loop is above this module).
            StreamMsg::Start(spec) => {
                tracing::warn!(target: "dagger", "stage {} sent to a process that does not run stages", spec.name)
            }
        }
    }

    fn push(&self, key: Key, m: InMsg) {
        let held = self.inbox(key).push(m);
        self.peak.fetch_max(held, Ordering::Relaxed);
    }

    /// Forgets every edge and flag of `region` here.
    pub fn forget(&self, region: u64) {
        self.inbound.lock().retain(|k, _| k.0 != region);
        self.outbound.lock().retain(|k, _| k.0 != region);
        self.regions.lock().remove(&region);
    }

    /// Driver: starts `spec` on `worker`; `on_end` is told how it ended (also when the
    /// worker is lost).
    pub fn start_stage(&self, worker: WorkerId, spec: StageSpec, on_end: OnEnd) -> Result<()> {
        let key = (spec.region, spec.stage);
        self.stages.lock().insert(key, (worker, on_end));
        if let Err(e) = self.send(worker, StreamMsg::Start(spec)) {
            if let Some((_, f)) = self.stages.lock().remove(&key) {
                f(Err(e), StageStats::default());
            }
        }
        Ok(())
    }

    /// Driver: tells `workers` to stop the stages of `region`.
    pub fn cancel_region(&self, region: u64, workers: &[WorkerId]) {
        for w in workers {
            let _ = self.send(*w, StreamMsg::Cancel { region });
        }
    }

    /// Driver: `region` has ended; every process forgets its edges.
    pub fn end_region(&self, region: u64, workers: &[WorkerId]) {
        for w in workers {
            let _ = self.send(*w, StreamMsg::Forget { region });
        }
        self.forget(region);
    }

    /// Driver: how many stages run on `worker` now.
    pub fn running_on(&self, worker: WorkerId) -> Result<usize> {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        self.requests.lock().insert(req, (worker, tx));
        self.send(worker, StreamMsg::Count { req })?;
        let lost = Error::WorkerLost {
            worker,
            chunk: None,
        };
        let r = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or(Err(lost));
        self.requests.lock().remove(&req);
        r.map(|n| n as usize)
    }

    /// Driver: worker `w` was lost. Its stages fail with `WorkerLost`; edges from it end;
    /// edges to it close.
    pub(crate) fn lost(&self, w: WorkerId) {
        let lost = || Error::WorkerLost {
            worker: w,
            chunk: None,
        };
        let ended: Vec<OnEnd> = {
            let mut s = self.stages.lock();
            let keys: Vec<_> = s
                .iter()
                .filter(|(_, v)| v.0 == w)
                .map(|(k, _)| *k)
                .collect();
            keys.into_iter()
                .filter_map(|k| s.remove(&k))
                .map(|v| v.1)
                .collect()
        };
        for f in ended {
            f(Err(lost()), StageStats::default());
        }
        let from: Vec<Key> = self
            .inbound
            .lock()
            .iter()
            .filter(|(_, v)| v.1 == w)
            .map(|(k, _)| *k)
            .collect();
        for k in from {
            self.push(k, InMsg::End);
        }
        for (c, to) in self.outbound.lock().values() {
            if *to == w {
                c.close();
            }
        }
        self.requests.lock().retain(|_, (to, tx)| {
            if *to == w {
                let _ = tx.send(Err(lost()));
            }
            *to != w
        });
    }
}

/// The consumer's end of an edge that crosses processes.
pub struct InEdge {
    hub: Arc<Hub>,
    key: Key,
    from: WorkerId,
    inbox: Arc<Inbox>,
    /// The items of the batch being taken: still on the edge, credited when the next
    /// message is taken.
    taking: AtomicU32,
}

impl std::fmt::Debug for InEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InEdge({:?} from {})", self.key, self.from)
    }
}

impl InEdge {
    /// The next message, waiting up to `wait` (`None`: nothing came). The caller reads a
    /// batch to its end before it calls again, so this call first gives the producer the
    /// credits of the batch taken last: until then its items still count against the
    /// edge's bound (they sit in this reader's hands). Crediting before waiting keeps an
    /// edge whose bound is one batch from stalling.
    pub fn recv(&self, wait: Duration) -> Option<InMsg> {
        let n = self.taking.swap(0, Ordering::AcqRel);
        if n > 0 {
            self.inbox.release(n);
            let (region, edge) = self.key;
            let _ = self
                .hub
                .send(self.from, StreamMsg::Credit { region, edge, n });
        }
        let m = self.inbox.pop(wait)?;
        if let InMsg::Items(items) = &m {
            self.taking.store(items.len() as u32, Ordering::Release);
        }
        Some(m)
    }
}

impl Drop for InEdge {
    fn drop(&mut self) {
        let (region, edge) = self.key;
        let _ = self.hub.send(self.from, StreamMsg::Close { region, edge });
    }
}

/// The producer's end of an edge that crosses processes.
pub struct OutEdge {
    hub: Arc<Hub>,
    key: Key,
    to: WorkerId,
    credits: Arc<Credits>,
}

impl std::fmt::Debug for OutEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OutEdge({:?} to {})", self.key, self.to)
    }
}

impl OutEdge {
    /// Whether the consumer is still there.
    pub fn is_open(&self) -> bool {
        !self.credits.is_closed()
    }

    /// The most items this edge has held at once: sent, and not yet given back as
    /// credits (queued at the consumer, in flight, or being read there).
    pub fn peak_held(&self) -> u64 {
        self.credits.peak()
    }

    /// Sends a batch of `count` items once the edge has room for them, checking
    /// `cancelled` while it waits. A consumer that has gone drops it (and `is_open` says so).
    pub fn send(
        &self,
        items: Bytes,
        count: u32,
        cancelled: &dyn Fn() -> bool,
    ) -> std::result::Result<(), SendStop> {
        if !self.credits.take(count, cancelled)? {
            return Ok(());
        }
        let (region, edge) = self.key;
        if self
            .hub
            .send(
                self.to,
                StreamMsg::Batch {
                    region,
                    edge,
                    items,
                },
            )
            .is_err()
        {
            self.credits.close();
        }
        Ok(())
    }

    /// Tells the consumer nothing more will come.
    pub fn end(&self) {
        let (region, edge) = self.key;
        let _ = self.hub.send(self.to, StreamMsg::End { region, edge });
    }
}

/// What a remote stage's failure looks like on the wire.
pub(crate) fn failed(e: &Error) -> StageEnd {
    StageEnd::Failed(RemoteError::from(e))
}

#[cfg(test)]
mod tests {
    use super::super::stream_batch::BatchBuf;
    use super::super::stream_credits::POLL;
    use super::*;

    #[test]
    fn credits_bound_what_is_in_flight() {
        let hub = Hub::new(WorkerId(5));
        let out = hub.open_out(1, 1, WorkerId(5), 4);
        let inn = hub.open_in(1, 1, WorkerId(5));
        let mut b = BatchBuf::default();
        for _ in 0..4 {
            b.push(b"x");
        }
        let (bytes, n) = b.take();
        out.send(bytes.clone(), n, &|| false).unwrap();
        // No credit left: the next send waits until cancelled.
        let t0 = std::time::Instant::now();
        assert_eq!(
            out.send(bytes.clone(), n, &|| t0.elapsed() > POLL * 5),
            Err(SendStop::Cancelled)
        );
        assert!(matches!(inn.recv(POLL), Some(InMsg::Items(v)) if v.len() == 4));
        // Taken, but still being read: no credit yet.
        let t0 = std::time::Instant::now();
        assert_eq!(
            out.send(bytes.clone(), n, &|| t0.elapsed() > POLL * 5),
            Err(SendStop::Cancelled)
        );
        // The reader asks again (the batch is used up): that gives the 4 back, even
        // though nothing more has come.
        assert!(inn.recv(Duration::ZERO).is_none());
        out.send(bytes, n, &|| false).unwrap();
        assert!(matches!(inn.recv(POLL), Some(InMsg::Items(v)) if v.len() == 4));
        assert_eq!(
            out.peak_held(),
            4,
            "never more than one batch of 4 outstanding"
        );
        out.end();
        assert!(matches!(inn.recv(POLL), Some(InMsg::End)));
        drop(inn);
        assert!(!out.is_open());
    }
}
