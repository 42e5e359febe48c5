//! The driver's cluster state: the worker table, tasks in flight, requests awaiting an
//! answer, and the operations the rest of the crate calls on it (send a task, fetch a chunk,
//! release one, shut down). Where a task goes is in `placement`; the connection to each
//! worker, which feeds the answers back here, is in `connection`.

use super::hub::Hub;
use super::launch::WorkerProgram;
use super::protocol::{DoneOk, RunTask, ToWorker};
use super::transfers::TransferStats;
use crate::executor::Pool;
use crate::site::{ArgRef, ItemRef};
use crate::task::Ready;
use bytes::Bytes;
use dagger_core::{
    ChunkId, Error, NodeId, Result, ResultStats, Scope, TaskId, Transport, WorkerId,
};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Told how a task sent to a worker ended there.
pub(crate) trait Completer: Send + Sync {
    /// It finished (`Ok`) or failed on worker `owner`; `WorkerLost` errors are retried.
    fn done(self: Arc<Self>, owner: WorkerId, outcome: Result<DoneOk>) -> Ready;
    /// A task forwarded to `owner` could not run there: an input it waited for failed or
    /// was abandoned there (see `forward`, step 4).
    fn upstream(self: Arc<Self>, owner: WorkerId) -> Ready {
        self.done(
            owner,
            Err(Error::WorkerLost {
                worker: owner,
                chunk: None,
            }),
        )
    }
}

/// A task message, in the order the worker must see them: a forwarded task before a
/// `Cancel` of the input it waits for (see `forward`, step 2).
pub(super) enum Order {
    Run(RunTask),
    Cancel(TaskId),
}

/// Messages waiting to be written to one worker.
#[derive(Default)]
pub(super) struct Outbox {
    /// Runs and cancellations, in order (written as one `Run` frame when there is no
    /// cancellation among them).
    pub(super) runs: Vec<Order>,
    pub(super) other: Vec<ToWorker>,
    /// Chunks to forget: sent as one `Release` after the rest of the batch (one frame per
    /// write, not one per chunk).
    pub(super) releases: Vec<ChunkId>,
}

impl Outbox {
    fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.other.is_empty() && self.releases.is_empty()
    }
}

/// A worker process as the driver sees it.
pub(super) struct RemoteWorker {
    pub(super) id: WorkerId,
    pub(super) threads: u32,
    pub(super) data_addr: String,
    pub(super) node: NodeId,
    pub(super) pid: u32,
    pub(super) outbox: Mutex<Outbox>,
    pub(super) notify: Notify,
    pub(super) inflight: AtomicUsize,
    pub(super) alive: AtomicBool,
}

impl RemoteWorker {
    /// A worker that has just joined: connected, nothing queued or in flight.
    pub(super) fn new(
        id: WorkerId,
        threads: u32,
        data_addr: String,
        node: NodeId,
        pid: u32,
    ) -> Self {
        RemoteWorker {
            id,
            threads,
            data_addr,
            node,
            pid,
            outbox: Mutex::new(Outbox::default()),
            notify: Notify::new(),
            inflight: AtomicUsize::new(0),
            alive: AtomicBool::new(true),
        }
    }

    /// Queues a message for the writer. A lost worker's writer is gone, so what is pushed
    /// to it would stay in memory for the driver's lifetime: it is dropped instead.
    pub(super) fn push(&self, f: impl FnOnce(&mut Outbox)) {
        let was_empty = {
            let mut o = self.outbox.lock();
            if !self.alive.load(Ordering::Acquire) {
                return;
            }
            let e = o.is_empty();
            f(&mut o);
            e
        };
        if was_empty {
            self.notify.notify_one();
        }
    }
}

/// What one scope allows among the processes of a cluster, as of one worker generation
/// (worked out by `placement`).
pub(super) struct Fit {
    pub(super) scope: Scope,
    pub(super) generation: u64,
    /// The driver's allowed threads (empty: all of them), if it is allowed at all.
    pub(super) driver: Option<Vec<u32>>,
    /// The allowed workers, by id, each with its allowed threads (empty: all).
    pub(super) workers: Vec<(Arc<RemoteWorker>, Vec<u32>)>,
}

/// A task sent to a worker: where, whom to tell when it is done, and when it was sent
/// (to learn how long a task takes; `None` for a task sent ahead of its inputs, whose
/// time there is mostly waiting). One entry, so a completion costs one table lookup.
pub(super) struct Inflight {
    pub(super) to: WorkerId,
    pub(super) completer: Arc<dyn Completer>,
    pub(super) sent: Option<Instant>,
}

/// The hasher of the per-task tables (keyed by task ids, counters): one insert and one
/// remove a task, on the driver's hot path, where SipHash showed in a chain's profile.
pub(super) type IdBuild = std::hash::BuildHasherDefault<crate::id_hash::IdHasher>;

/// Called when a worker joins: its id, threads and node.
pub(crate) type JoinHook = Box<dyn Fn(WorkerId, u32, NodeId) + Send + Sync>;

pub(super) enum Reply {
    Data(mpsc::Sender<Result<Bytes>>),
    Spans(mpsc::Sender<Bytes>),
    Stats(mpsc::Sender<(ResultStats, TransferStats)>),
}

/// The driver's cluster state.
pub(crate) struct Cluster {
    pub(crate) driver: WorkerId,
    pub(crate) inline_limit: u32,
    /// How many worker losses one task survives (Dask's allowed-failures).
    pub(crate) max_retries: u32,
    pub(super) heartbeat: Duration,
    pub(super) heartbeat_timeout: Duration,
    /// Taken on drop and shut down in the background: the last handle may be dropped on
    /// the runtime's own thread, where a blocking shutdown is not allowed.
    pub(super) rt: Option<tokio::runtime::Runtime>,
    pub(super) io: tokio::runtime::Handle,
    /// Kept for the cluster's lifetime: a transport may own what its listener needs.
    pub(super) _transport: Arc<dyn Transport>,
    pub(super) addr: String,
    pub(super) cookie: String,
    pub(super) pool: Arc<Pool>,
    pub(super) driver_threads: u32,
    /// Sorted by id (looked up by binary search: once per task sent and per argument).
    pub(super) workers: RwLock<Vec<Arc<RemoteWorker>>>,
    /// Bumped when a worker joins: placement's cached fits of scopes are then stale.
    pub(super) generation: AtomicU64,
    /// What recent scopes allow, for placement (see `placement`).
    pub(super) fits: Mutex<Vec<Arc<Fit>>>,
    pub(super) next_worker: AtomicU32,
    pub(super) joined: (Mutex<usize>, Condvar),
    pub(super) inflight: Mutex<HashMap<TaskId, Inflight, IdBuild>>,
    pub(super) requests: Mutex<HashMap<u64, (WorkerId, Reply)>>,
    pub(super) next_req: AtomicU64,
    pub(super) local_running: AtomicUsize,
    /// Estimated seconds per task, learned from completions (an EWMA).
    pub(super) est_task_s: Mutex<f64>,
    /// The workers other than its owner that were sent a task reading a chunk, so keep a copy
    /// of it: a release goes to them and the owner only, not to every worker.
    pub(super) copies: Mutex<HashMap<ChunkId, Vec<WorkerId>, IdBuild>>,
    pub(super) children: Mutex<Vec<std::process::Child>>,
    pub(super) program: Option<WorkerProgram>,
    pub(super) worker_threads: Option<usize>,
    pub(super) env: Vec<(String, String)>,
    pub(super) shutting_down: AtomicBool,
    pub(super) on_join: Mutex<Vec<JoinHook>>,
    /// The driver's streaming hub (edges to and from stages on workers).
    pub(crate) streams: Arc<Hub>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("addr", &self.addr)
            .field("workers", &self.workers.read().len())
            .finish()
    }
}

impl Cluster {
    /// Where workers connect.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// The cookie workers must present.
    pub(crate) fn cookie(&self) -> &str {
        &self.cookie
    }

    pub(crate) fn on_join(&self, f: JoinHook) {
        self.on_join.lock().push(f);
    }

    /// Launches `n` worker processes (re-executions of the worker program).
    pub(crate) fn launch(&self, n: usize) -> Result<()> {
        let program = match &self.program {
            Some(p) => p.clone(),
            None => WorkerProgram::current()?,
        };
        let mut kids = self.children.lock();
        for _ in 0..n {
            kids.push(program.spawn(&self.addr, &self.cookie, self.worker_threads, &self.env)?);
        }
        Ok(())
    }

    /// Waits until at least `n` workers have joined.
    pub(crate) fn wait_for_workers(&self, n: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &self.joined;
        let mut joined = m.lock();
        while *joined < n {
            if cv.wait_until(&mut joined, deadline).timed_out() {
                return Err(Error::Transport(format!(
                    "only {} of {n} workers joined {} within {timeout:?}",
                    *joined, self.addr
                )));
            }
        }
        Ok(())
    }

    /// The ids of live workers (not the driver).
    pub(crate) fn worker_ids(&self) -> Vec<WorkerId> {
        self.workers
            .read()
            .iter()
            .filter(|w| w.alive.load(Ordering::Acquire))
            .map(|w| w.id)
            .collect()
    }

    /// Worker `to`, once `key → entry` is recorded in `table` (the in-flight tasks or the
    /// pending requests) for it; `WorkerLost` if it is not connected.
    ///
    /// Liveness is checked under the table's lock: a lost worker is marked dead before
    /// `on_lost` takes that lock to answer its entries, so an entry is either answered there
    /// or never made. (Checked before taking the lock, a worker lost in between left the
    /// entry in the table for ever: its task stuck "running", a fetch waiting for ever.)
    fn record_for<K: Eq + Hash, V, S: std::hash::BuildHasher>(
        &self,
        to: WorkerId,
        table: &Mutex<HashMap<K, V, S>>,
        key: K,
        entry: V,
    ) -> Result<Arc<RemoteWorker>> {
        let lost = || Error::WorkerLost {
            worker: to,
            chunk: None,
        };
        let w = self.worker(to).ok_or_else(lost)?;
        let mut table = table.lock();
        if !w.alive.load(Ordering::Acquire) {
            return Err(lost());
        }
        table.insert(key, entry);
        Ok(w)
    }

    pub(super) fn worker(&self, id: WorkerId) -> Option<Arc<RemoteWorker>> {
        let ws = self.workers.read();
        ws.binary_search_by_key(&id, |w| w.id)
            .ok()
            .map(|i| ws[i].clone())
    }

    /// Adds a worker that has just joined, keeping the table sorted by id.
    pub(super) fn add_worker(&self, w: Arc<RemoteWorker>) {
        let mut ws = self.workers.write();
        let at = ws.partition_point(|x| x.id < w.id);
        ws.insert(at, w);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether worker `w` is connected.
    pub(crate) fn is_alive(&self, w: WorkerId) -> bool {
        self.worker(w)
            .is_some_and(|w| w.alive.load(Ordering::Acquire))
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Queues tasks that became ready.
    pub(crate) fn schedule(&self, ready: Ready) {
        crate::executor::schedule_all(&self.pool, ready);
    }

    /// The process id of worker `w`.
    pub(crate) fn pid(&self, w: WorkerId) -> Option<u32> {
        self.worker(w).map(|w| w.pid)
    }

    /// Sends a task to a worker.
    pub(crate) fn submit(
        &self,
        to: WorkerId,
        run: RunTask,
        completer: Arc<dyn Completer>,
    ) -> Result<()> {
        let entry = Inflight {
            to,
            completer,
            sent: Some(Instant::now()),
        };
        let w = self.record_for(to, &self.inflight, run.task, entry)?;
        self.note_copies(to, &run.args);
        w.inflight.fetch_add(1, Ordering::Relaxed);
        w.push(|o| o.runs.push(Order::Run(run)));
        Ok(())
    }

    /// Sends a task ahead of the inputs `to` is still computing (`run.after`). It counts in
    /// that worker's queue, as a task dispatched there would (so placement still spreads
    /// the tasks that are not forwarded), but its time there, waiting, does not teach the
    /// estimate of a task's duration.
    pub(crate) fn submit_forwarded(
        &self,
        to: WorkerId,
        run: RunTask,
        completer: Arc<dyn Completer>,
    ) -> Result<()> {
        let entry = Inflight {
            to,
            completer,
            sent: None,
        };
        let w = self.record_for(to, &self.inflight, run.task, entry)?;
        self.note_copies(to, &run.args);
        w.inflight.fetch_add(1, Ordering::Relaxed);
        w.push(|o| o.runs.push(Order::Run(run)));
        Ok(())
    }

    /// Tells `to` that the driver no longer expects `task`'s result from it (see
    /// `forward`, steps 2 and 8).
    pub(crate) fn cancel_on(&self, to: WorkerId, task: TaskId) {
        if let Some(w) = self.worker(to) {
            w.push(|o| o.runs.push(Order::Cancel(task)));
        }
    }
    pub(super) fn request(
        &self,
        to: WorkerId,
        reply: Reply,
        msg: impl FnOnce(u64) -> ToWorker,
    ) -> Result<()> {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let w = self.record_for(to, &self.requests, req, (to, reply))?;
        w.push(|o| o.other.push(msg(req)));
        Ok(())
    }

    /// The bytes of a chunk held by `owner` (blocks).
    pub(crate) fn fetch(&self, owner: WorkerId, chunk: ChunkId) -> Result<Bytes> {
        let (tx, rx) = mpsc::channel();
        self.request(owner, Reply::Data(tx), |req| ToWorker::Fetch { req, chunk })?;
        rx.recv().unwrap_or(Err(Error::WorkerLost {
            worker: owner,
            chunk: Some(chunk),
        }))
    }

    /// What a worker holds.
    pub(crate) fn stats(&self, worker: WorkerId) -> Result<ResultStats> {
        self.stats_and_transfers(worker).map(|s| s.0)
    }

    /// What a worker holds, and what it moved to and from other processes.
    pub(crate) fn stats_and_transfers(
        &self,
        worker: WorkerId,
    ) -> Result<(ResultStats, TransferStats)> {
        let (tx, rx) = mpsc::channel();
        self.request(worker, Reply::Stats(tx), |req| ToWorker::Stats { req })?;
        rx.recv().map_err(|_| Error::WorkerLost {
            worker,
            chunk: None,
        })
    }

    /// Every worker starts recording profile spans.
    pub(crate) fn start_recording(&self) {
        for w in self
            .workers
            .read()
            .iter()
            .filter(|w| w.alive.load(Ordering::Acquire))
        {
            w.push(|o| o.other.push(ToWorker::StartRecording));
        }
    }

    /// Every live worker stops recording and sends its spans (as its telemetry encodes them).
    pub(crate) fn take_spans(&self) -> Vec<(WorkerId, Bytes)> {
        let mut waits = Vec::new();
        for id in self.worker_ids() {
            let (tx, rx) = mpsc::channel();
            if self
                .request(id, Reply::Spans(tx), |req| ToWorker::TakeSpans { req })
                .is_ok()
            {
                waits.push((id, rx));
            }
        }
        waits
            .into_iter()
            .filter_map(|(id, rx)| {
                rx.recv_timeout(Duration::from_secs(10))
                    .ok()
                    .map(|b| (id, b))
            })
            .collect()
    }

    /// Worker `to` keeps a copy of every chunk in `args` that another worker owns (it fetches
    /// it from the owner and holds it), so it must hear of that chunk's release.
    fn note_copies(&self, to: WorkerId, args: &[ArgRef]) {
        let note = |id: ChunkId, owner: WorkerId| {
            // A chunk the driver owns is never released through here (its value travels
            // encoded in any case).
            if owner != to && owner != self.driver {
                let mut copies = self.copies.lock();
                let holders = copies.entry(id).or_default();
                if !holders.contains(&to) {
                    holders.push(to);
                }
            }
        };
        for a in args {
            match a {
                ArgRef::Chunk { id, owner } => note(*id, *owner),
                ArgRef::List(items) => {
                    for i in items {
                        if let ItemRef::Chunk { id, owner } = i {
                            note(*id, *owner);
                        }
                    }
                }
                ArgRef::Inline(_) => {}
            }
        }
    }

    /// The last handle to a chunk held by `owner` is gone: the owner and every worker that
    /// was sent a copy forget it. (Told to every worker, a release cost each task one message
    /// per worker, to encode, send and decode: the driver's cost grew with the cluster.)
    pub(crate) fn release(&self, chunk: ChunkId, owner: WorkerId) {
        let copies = self.copies.lock().remove(&chunk).unwrap_or_default();
        for id in std::iter::once(owner).chain(copies) {
            if let Some(w) = self.worker(id).filter(|w| w.alive.load(Ordering::Acquire)) {
                w.push(|o| o.releases.push(chunk));
            }
        }
    }
    /// Tells every worker to exit and reaps the processes this driver started.
    pub(crate) fn shutdown(&self) {
        if self.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        for w in self.workers.read().iter() {
            w.push(|o| o.other.push(ToWorker::Shutdown));
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for mut c in self.children.lock().drain(..) {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    _ => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
