//! Many processes: the driver's side of a cluster (worker table, dispatch, results, release).
//!
//! Every process runs the same executable. Workers connect to the driver through a
//! [`Transport`], say what they offer (`Join`), and then run the registered functions the
//! driver sends them. Results stay on the worker that computed them; other workers fetch them
//! directly from it, the driver only when a value is asked for. When the last handle to a
//! result is dropped in the driver, its owner (and any worker holding a copy) forgets it.

mod launch;
mod list;
mod live;
mod pinned;
mod protocol;
mod registry;
mod remote;
mod results;
pub(crate) mod worker;

pub use launch::WorkerProgram;
pub use live::{
    arity, decode_arg, live_value, missing_arg, postcard_codec, ArgValue, LiveArg, LiveInvoke,
    LiveRet, ViaClone, ViaCodec, ViaEncoded, ViaLive,
};
pub use pinned::{local_piece, pinned_count, Pinned};
pub use protocol::{ArgRef, ItemRef};
pub use registry::{invoke, registered_names, DecodeArgs, Registered, Registration};
pub use remote::{LineageArg, Recompute};
pub(crate) use remote::{Location, RemoteTask};
pub use remote::{RemoteArg, RemoteArgs, Site};
pub use results::{set_result_store_factory, MemoryResults, ResultStoreFactory};
pub use worker::{myid, serve};

use crate::executor::Pool;
use crate::observe::Observers;
use crate::task::{Header, Job, Outcome, Pin, Ready, Task};
use bytes::Bytes;
use dagger_core::{
    ChunkId, Error, NodeId, ProcessorId, ProcessorInfo, Result, ResultStats, Scope, TaskId,
    Transport, TransportListener, WorkerId,
};
use parking_lot::{Condvar, Mutex, RwLock};
use protocol::{decode, encode, Done, RunTask, ToDriver, ToWorker};
use remote::Completer;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How a worker records profile spans and hands them over; installed by the `dagger`
/// facade (with `dagger-profile`) so the scheduler needs no profiler of its own.
pub trait Telemetry: Send + Sync {
    /// Starts recording.
    fn start(&self);
    /// Stops and returns what was recorded, encoded (the driver's side decodes it).
    fn take(&self) -> Bytes;
}

static TELEMETRY: OnceLock<Arc<dyn Telemetry>> = OnceLock::new();

/// Installs this process's [`Telemetry`] (first call wins).
pub fn set_telemetry(t: Arc<dyn Telemetry>) {
    let _ = TELEMETRY.set(t);
}

pub(crate) fn telemetry() -> Option<&'static Arc<dyn Telemetry>> {
    TELEMETRY.get()
}

/// Makes the transport a cluster uses, given its cookie. The `dagger` facade installs TCP as
/// the default with [`set_default_transport`].
pub trait TransportFactory: Send + Sync {
    /// A transport that authenticates with `cookie`.
    fn transport(&self, cookie: &str) -> Arc<dyn Transport>;
}

static DEFAULT_TRANSPORT: OnceLock<Arc<dyn TransportFactory>> = OnceLock::new();

/// Sets the transport clusters use when the builder names none (first call wins).
pub fn set_default_transport(f: Arc<dyn TransportFactory>) {
    let _ = DEFAULT_TRANSPORT.set(f);
}

pub(crate) fn default_transport() -> Option<Arc<dyn TransportFactory>> {
    DEFAULT_TRANSPORT.get().cloned()
}

/// How a context becomes a cluster: set by `ContextBuilder::workers`/`listen`.
#[derive(Clone)]
pub(crate) struct ClusterConfig {
    pub workers: usize,
    pub listen: String,
    pub cookie: Option<String>,
    pub transport: Option<Arc<dyn TransportFactory>>,
    pub program: Option<WorkerProgram>,
    pub worker_threads: Option<usize>,
    pub inline_limit: u32,
    pub join_timeout: Duration,
    pub env: Vec<(String, String)>,
    pub max_retries: u32,
    pub heartbeat: Duration,
    pub heartbeat_timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            workers: 0,
            listen: "127.0.0.1:0".into(),
            cookie: None,
            transport: None,
            program: None,
            worker_threads: None,
            inline_limit: 64 * 1024,
            join_timeout: Duration::from_secs(60),
            env: Vec::new(),
            max_retries: 3,
            heartbeat: Duration::from_millis(500),
            heartbeat_timeout: Duration::from_secs(10),
        }
    }
}

/// Messages waiting to be written to one worker.
#[derive(Default)]
struct Outbox {
    runs: Vec<RunTask>,
    other: Vec<ToWorker>,
}

/// A worker process as the driver sees it.
pub(crate) struct RemoteWorker {
    pub id: WorkerId,
    pub threads: u32,
    pub data_addr: String,
    pub node: NodeId,
    pub pid: u32,
    outbox: Mutex<Outbox>,
    notify: Notify,
    inflight: AtomicUsize,
    alive: AtomicBool,
}

impl RemoteWorker {
    fn push(&self, f: impl FnOnce(&mut Outbox)) {
        let was_empty = {
            let mut o = self.outbox.lock();
            let e = o.runs.is_empty() && o.other.is_empty();
            f(&mut o);
            e
        };
        if was_empty {
            self.notify.notify_one();
        }
    }
}

/// A task sent to a worker: where, and whom to tell when it is done.
type Inflight = (WorkerId, Arc<dyn Completer>);

/// Called when a worker joins: its id, threads and node.
pub(crate) type JoinHook = Box<dyn Fn(WorkerId, u32, NodeId) + Send + Sync>;

enum Reply {
    Data(mpsc::Sender<Result<Bytes>>),
    Spans(mpsc::Sender<Bytes>),
    Stats(mpsc::Sender<ResultStats>),
}

/// The driver's cluster state.
pub(crate) struct Cluster {
    pub driver: WorkerId,
    pub inline_limit: u32,
    /// How many worker losses one task survives (Dask's allowed-failures).
    pub max_retries: u32,
    heartbeat: Duration,
    heartbeat_timeout: Duration,
    /// Taken on drop and shut down in the background: the last handle may be dropped on
    /// the runtime's own thread, where a blocking shutdown is not allowed.
    rt: Option<tokio::runtime::Runtime>,
    io: tokio::runtime::Handle,
    /// Kept for the cluster's lifetime: a transport may own what its listener needs.
    _transport: Arc<dyn Transport>,
    addr: String,
    cookie: String,
    pool: Arc<Pool>,
    driver_threads: u32,
    workers: RwLock<Vec<Arc<RemoteWorker>>>,
    next_worker: AtomicU32,
    joined: (Mutex<usize>, Condvar),
    inflight: Mutex<HashMap<TaskId, Inflight>>,
    requests: Mutex<HashMap<u64, (WorkerId, Reply)>>,
    next_req: AtomicU64,
    local_running: AtomicUsize,
    /// Estimated seconds per task, learned from completions (an EWMA).
    est_task_s: Mutex<f64>,
    sent_at: Mutex<HashMap<TaskId, Instant>>,
    children: Mutex<Vec<std::process::Child>>,
    program: Option<WorkerProgram>,
    worker_threads: Option<usize>,
    env: Vec<(String, String)>,
    shutting_down: AtomicBool,
    on_join: Mutex<Vec<JoinHook>>,
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
    /// Starts listening and launches `config.workers` processes.
    pub(crate) fn start(
        config: ClusterConfig,
        pool: Arc<Pool>,
        driver_threads: u32,
    ) -> Result<Arc<Cluster>> {
        let cookie = config.cookie.clone().unwrap_or_else(random_cookie);
        let factory = config.transport.clone().or_else(default_transport).ok_or_else(|| {
            Error::Argument("no transport for a cluster: call dagger::init() first (it installs TCP), or give the builder one".into())
        })?;
        let transport = factory.transport(&cookie);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dagger-io")
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("starting the I/O runtime: {e}")))?;
        let listener = rt.block_on(transport.listen(&config.listen))?;
        let io = rt.handle().clone();
        let addr = listener.local_addr();
        let cluster = Arc::new(Cluster {
            driver: WorkerId::DRIVER,
            inline_limit: config.inline_limit,
            max_retries: config.max_retries,
            heartbeat: config.heartbeat,
            heartbeat_timeout: config.heartbeat_timeout,
            rt: Some(rt),
            io,
            _transport: transport,
            addr,
            cookie,
            pool,
            driver_threads,
            workers: RwLock::new(Vec::new()),
            next_worker: AtomicU32::new(2),
            joined: (Mutex::new(0), Condvar::new()),
            inflight: Mutex::new(HashMap::new()),
            requests: Mutex::new(HashMap::new()),
            next_req: AtomicU64::new(1),
            local_running: AtomicUsize::new(0),
            est_task_s: Mutex::new(1e-4),
            sent_at: Mutex::new(HashMap::new()),
            children: Mutex::new(Vec::new()),
            program: config.program.clone(),
            worker_threads: config.worker_threads,
            env: config.env.clone(),
            shutting_down: AtomicBool::new(false),
            on_join: Mutex::new(Vec::new()),
        });
        let weak = Arc::downgrade(&cluster);
        cluster.io.spawn(accept_loop(weak, listener));
        Ok(cluster)
    }

    /// Where workers connect.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The cookie workers must present.
    pub fn cookie(&self) -> &str {
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

    fn worker(&self, id: WorkerId) -> Option<Arc<RemoteWorker>> {
        self.workers.read().iter().find(|w| w.id == id).cloned()
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

    /// Picks the worker with the least estimated completion time for a task (bytes of input
    /// that would move, plus that worker's queue), optionally never the driver.
    pub(crate) fn choose_excluding(
        &self,
        scope: &Scope,
        sites: &[Site],
        func: &str,
        remote_only: bool,
    ) -> Result<WorkerId> {
        let est = *self.est_task_s.lock();
        const RATE: f64 = 1e8; // bytes/s between processes
        const HOP: f64 = 50e-6; // one cross-process fetch
        let move_cost = |w: WorkerId| {
            sites
                .iter()
                .filter(|s| s.owner != w)
                .map(|s| HOP + s.size as f64 / RATE)
                .sum::<f64>()
        };
        let allowed = |w: WorkerId, threads: u32, node: NodeId| {
            (1..=threads).any(|t| {
                scope.matches(&ProcessorInfo {
                    id: ProcessorId::thread(w, t),
                    node,
                })
            })
        };
        let mut best: Option<(f64, WorkerId)> = None;
        let mut consider = |cost: f64, w: WorkerId| {
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, w));
            }
        };
        if !remote_only && allowed(self.driver, self.driver_threads, NodeId(0)) {
            let q = self.local_running.load(Ordering::Relaxed) as f64;
            consider(
                move_cost(self.driver) + (q + 1.0) / self.driver_threads as f64 * est,
                self.driver,
            );
        }
        for w in self.workers.read().iter() {
            if w.alive.load(Ordering::Acquire) && allowed(w.id, w.threads, w.node) {
                let q = w.inflight.load(Ordering::Relaxed) as f64;
                consider(
                    move_cost(w.id) + (q + 1.0) / w.threads.max(1) as f64 * est,
                    w.id,
                );
            }
        }
        best.map(|(_, w)| w).ok_or_else(|| {
            // Only lost workers would have fit: the task's data (or pin) died with them.
            let lost = self
                .workers
                .read()
                .iter()
                .find(|w| !w.alive.load(Ordering::Acquire) && allowed(w.id, w.threads, w.node))
                .map(|w| w.id);
            match lost {
                Some(worker) => Error::WorkerLost {
                    worker,
                    chunk: None,
                },
                None => Error::Scheduling(format!(
                    "No processors available, try widening scope (scope {scope}, function {func})"
                )),
            }
        })
    }

    /// The threads of `worker` that `scope` allows, or empty when it allows them all.
    pub(crate) fn allowed_threads(&self, worker: WorkerId, scope: &Scope) -> Vec<u32> {
        let (threads, node) = if worker == self.driver {
            (self.driver_threads, NodeId(0))
        } else {
            match self.worker(worker) {
                Some(w) => (w.threads, w.node),
                None => return Vec::new(),
            }
        };
        let ok: Vec<u32> = (1..=threads)
            .filter(|t| {
                scope.matches(&ProcessorInfo {
                    id: ProcessorId::thread(worker, *t),
                    node,
                })
            })
            .collect();
        if ok.len() == threads as usize {
            Vec::new()
        } else {
            ok
        }
    }

    pub(crate) fn local_started(&self) {
        self.local_running.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn local_finished(&self) {
        self.local_running.fetch_sub(1, Ordering::Relaxed);
    }

    /// Runs `f` on a driver pool thread among `threads` (1-based; empty: any); `f` gets the
    /// thread index.
    pub(crate) fn run_locally(
        &self,
        threads: Vec<u32>,
        f: impl FnOnce(u32) -> Ready + Send + 'static,
    ) {
        let pool = self.pool.clone();
        let body = move || -> Outcome<()> {
            let thread = crate::executor::current_processor().map_or(1, |p| p.index);
            crate::executor::schedule_all(&pool, f(thread));
            Ok(())
        };
        let pin = if threads.is_empty() {
            Pin::Any
        } else {
            Pin::Threads(threads.iter().map(|t| *t as usize - 1).collect())
        };
        let job: Arc<dyn Job> = Arc::new(Task::new(
            Header::new(TaskId(0), None, pin, false, Observers(None)),
            body,
        ));
        self.pool.schedule(job);
    }

    /// Sends a task to a worker.
    pub(crate) fn submit(
        &self,
        to: WorkerId,
        run: RunTask,
        completer: Arc<dyn Completer>,
    ) -> Result<()> {
        let w = self
            .worker(to)
            .filter(|w| w.alive.load(Ordering::Acquire))
            .ok_or(Error::WorkerLost {
                worker: to,
                chunk: None,
            })?;
        self.inflight.lock().insert(run.task, (to, completer));
        self.sent_at.lock().insert(run.task, Instant::now());
        w.inflight.fetch_add(1, Ordering::Relaxed);
        w.push(|o| o.runs.push(run));
        Ok(())
    }

    fn on_done(&self, from: WorkerId, list: Vec<Done>) {
        let w = self.worker(from);
        let mut ready = Vec::new();
        let now = Instant::now();
        for d in list {
            let Some((_, c)) = self.inflight.lock().remove(&d.task) else {
                continue;
            };
            if let Some(w) = &w {
                w.inflight.fetch_sub(1, Ordering::Relaxed);
            }
            if let Some(t0) = self.sent_at.lock().remove(&d.task) {
                let mut e = self.est_task_s.lock();
                *e = 0.9 * *e + 0.1 * (now - t0).as_secs_f64();
            }
            ready.extend(c.done(from, d.outcome.map_err(Error::from)));
        }
        crate::executor::schedule_all(&self.pool, ready);
    }

    fn request(&self, to: WorkerId, reply: Reply, msg: impl FnOnce(u64) -> ToWorker) -> Result<()> {
        let w = self
            .worker(to)
            .filter(|w| w.alive.load(Ordering::Acquire))
            .ok_or(Error::WorkerLost {
                worker: to,
                chunk: None,
            })?;
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        self.requests.lock().insert(req, (to, reply));
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

    /// The last handle to a chunk is gone: every worker forgets it.
    pub(crate) fn release(&self, chunk: ChunkId) {
        for w in self
            .workers
            .read()
            .iter()
            .filter(|w| w.alive.load(Ordering::Acquire))
        {
            w.push(|o| o.other.push(ToWorker::Release(vec![chunk])));
        }
    }

    fn answer(&self, req: u64, f: impl FnOnce(Reply)) {
        if let Some((_, r)) = self.requests.lock().remove(&req) {
            f(r);
        }
    }

    fn on_lost(&self, id: WorkerId) {
        let lost: Vec<_> = {
            let mut inflight = self.inflight.lock();
            let ids: Vec<TaskId> = inflight
                .iter()
                .filter(|(_, (w, _))| *w == id)
                .map(|(t, _)| *t)
                .collect();
            ids.into_iter()
                .filter_map(|t| inflight.remove(&t))
                .collect()
        };
        let mut ready = Vec::new();
        for (_, c) in lost {
            ready.extend(c.done(
                id,
                Err(Error::WorkerLost {
                    worker: id,
                    chunk: None,
                }),
            ));
        }
        crate::executor::schedule_all(&self.pool, ready);
        let mut reqs = self.requests.lock();
        let dead: Vec<u64> = reqs
            .iter()
            .filter(|(_, (w, _))| *w == id)
            .map(|(r, _)| *r)
            .collect();
        for r in dead {
            if let Some((_, Reply::Data(tx))) = reqs.remove(&r) {
                let _ = tx.send(Err(Error::WorkerLost {
                    worker: id,
                    chunk: None,
                }));
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

fn random_cookie() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut s = String::new();
    for i in 0..4u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i ^ std::process::id() as u64);
        h.write_u128(Instant::now().elapsed().as_nanos());
        s.push_str(&format!("{:016x}", h.finish()));
    }
    s
}

async fn accept_loop(cluster: std::sync::Weak<Cluster>, mut listener: Box<dyn TransportListener>) {
    loop {
        let conn = listener.accept().await;
        let Some(c) = cluster.upgrade() else { return };
        match conn {
            Ok(conn) => {
                let weak = Arc::downgrade(&c);
                c.io.spawn(serve_worker_conn(weak, conn));
            }
            Err(e) => tracing::warn!(target: "dagger", "refused a connection: {e}"),
        }
    }
}

async fn serve_worker_conn(cluster: std::sync::Weak<Cluster>, conn: dagger_core::Connection) {
    let dagger_core::Connection {
        mut sender,
        mut receiver,
        peer,
    } = conn;
    let join = match tokio::time::timeout(Duration::from_secs(30), receiver.recv()).await {
        Ok(Ok(Some(f))) => decode::<ToDriver>(&f),
        Ok(Ok(None)) => return,
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::Protocol(format!("{peer} sent no Join within 30 s"))),
    };
    let (threads, data_addr, node, pid) = match join {
        Ok(ToDriver::Join {
            threads,
            data_addr,
            node,
            pid,
        }) => (threads, data_addr, NodeId(node), pid),
        Ok(other) => {
            tracing::warn!(target: "dagger", "{peer}: expected Join, got {other:?}");
            return;
        }
        Err(e) => {
            tracing::warn!(target: "dagger", "{peer}: {e}");
            return;
        }
    };
    let Some(c) = cluster.upgrade() else { return };
    let id = WorkerId(c.next_worker.fetch_add(1, Ordering::Relaxed));
    let peers: Vec<(WorkerId, String)> = c
        .workers
        .read()
        .iter()
        .filter(|w| w.alive.load(Ordering::Acquire))
        .map(|w| (w.id, w.data_addr.clone()))
        .collect();
    let heartbeat_ms = c.heartbeat.as_millis() as u64;
    let hb_timeout = c.heartbeat_timeout;
    let welcome = match encode(&ToWorker::Welcome {
        worker: id,
        peers,
        heartbeat_ms,
    }) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(target: "dagger", "{e}");
            return;
        }
    };
    if let Err(e) = sender.send(welcome).await {
        tracing::warn!(target: "dagger", "{peer}: {e}");
        return;
    }
    let worker = Arc::new(RemoteWorker {
        id,
        threads,
        data_addr: data_addr.clone(),
        node,
        pid,
        outbox: Mutex::new(Outbox::default()),
        notify: Notify::new(),
        inflight: AtomicUsize::new(0),
        alive: AtomicBool::new(true),
    });
    for w in c.workers.read().iter() {
        let addr = data_addr.clone();
        w.push(|o| o.other.push(ToWorker::Peer { worker: id, addr }));
    }
    c.workers.write().push(worker.clone());
    for f in c.on_join.lock().iter() {
        f(id, threads, node);
    }
    {
        let (m, cv) = &c.joined;
        *m.lock() += 1;
        cv.notify_all();
    }
    drop(c);
    // Writer: drains the outbox in batches, one write per batch.
    let w2 = worker.clone();
    let writer = tokio::spawn(async move {
        loop {
            w2.notify.notified().await;
            let (runs, other) = {
                let mut o = w2.outbox.lock();
                (std::mem::take(&mut o.runs), std::mem::take(&mut o.other))
            };
            let mut frames = Vec::with_capacity(other.len() + 1);
            if !runs.is_empty() {
                match encode(&ToWorker::Run(runs)) {
                    Ok(f) => frames.push(f),
                    Err(e) => tracing::warn!(target: "dagger", "{e}"),
                }
            }
            let mut stop = false;
            for m in &other {
                stop |= matches!(m, ToWorker::Shutdown);
                match encode(m) {
                    Ok(f) => frames.push(f),
                    Err(e) => tracing::warn!(target: "dagger", "{e}"),
                }
            }
            if sender.send_many(frames).await.is_err() || stop || !w2.alive.load(Ordering::Acquire)
            {
                return;
            }
        }
    });
    // Reader: completions and answers.
    loop {
        let frame = match tokio::time::timeout(hb_timeout, receiver.recv()).await {
            Ok(Ok(Some(f))) => f,
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                tracing::warn!(target: "dagger", "worker {id}: {e}");
                break;
            }
            Err(_) => {
                tracing::warn!(target: "dagger", "worker {id}: silent for {hb_timeout:?}, taken as lost");
                break;
            }
        };
        let Some(c) = cluster.upgrade() else { break };
        match decode::<ToDriver>(&frame) {
            Ok(ToDriver::Heartbeat) => {}
            Ok(ToDriver::Done(list)) => c.on_done(id, list),
            Ok(ToDriver::Data { req, bytes }) => c.answer(req, |r| {
                if let Reply::Data(tx) = r {
                    let _ = tx.send(bytes.map_err(Error::from));
                }
            }),
            Ok(ToDriver::Stats { req, stats }) => c.answer(req, |r| {
                if let Reply::Stats(tx) = r {
                    let _ = tx.send(stats);
                }
            }),
            Ok(ToDriver::Spans { req, bytes }) => c.answer(req, |r| {
                if let Reply::Spans(tx) = r {
                    let _ = tx.send(bytes);
                }
            }),
            Ok(ToDriver::Join { .. }) => {
                tracing::warn!(target: "dagger", "worker {id} sent Join twice")
            }
            Err(e) => {
                tracing::warn!(target: "dagger", "worker {id}: {e}; closing its connection");
                break;
            }
        }
    }
    worker.alive.store(false, Ordering::Release);
    worker.notify.notify_one();
    writer.abort();
    if let Some(c) = cluster.upgrade() {
        if !c.shutting_down.load(Ordering::SeqCst) {
            tracing::warn!(target: "dagger", "worker {id} was lost");
        }
        c.on_lost(id);
    }
}
