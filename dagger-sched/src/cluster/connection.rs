//! The driver's end of each worker connection: listening, the `Join`/`Welcome` handshake,
//! the writer that drains a worker's outbox, and the reader that turns its messages
//! (completions, answers, heartbeats) into calls on the [`Cluster`], until the worker is lost.

use super::config::{default_transport, ClusterConfig};
use super::driver::{Cluster, Inflight, Order, Outbox, RemoteWorker, Reply};
use super::hub::Hub;
use super::protocol::{decode, encode, encode_sized, Done, ErrorKind, ToDriver, ToWorker};
use crate::executor::Pool;
use dagger_core::{Error, NodeId, Result, TaskId, TransportListener, WorkerId};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Cluster {
    /// Starts the I/O runtime and listens for workers (the builder then launches them with
    /// [`Cluster::launch`]).
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
            generation: AtomicU64::new(0),
            fits: Mutex::new(Vec::new()),
            next_worker: AtomicU32::new(2),
            joined: (Mutex::new(0), Condvar::new()),
            inflight: Mutex::new(HashMap::default()),
            requests: Mutex::new(HashMap::new()),
            next_req: AtomicU64::new(1),
            local_running: AtomicUsize::new(0),
            est_task_s: Mutex::new(1e-4),
            copies: Mutex::new(HashMap::default()),
            children: Mutex::new(Vec::new()),
            program: config.program.clone(),
            worker_threads: config.worker_threads,
            env: config.env.clone(),
            shutting_down: AtomicBool::new(false),
            on_join: Mutex::new(Vec::new()),
            streams: Hub::new(WorkerId::DRIVER),
        });
        let weak = Arc::downgrade(&cluster);
        cluster.streams.set_route(Box::new(move |to, m| {
            let lost = || Error::WorkerLost {
                worker: to,
                chunk: None,
            };
            let c = weak.upgrade().ok_or_else(lost)?;
            let w = c
                .worker(to)
                .filter(|w| w.alive.load(Ordering::Acquire))
                .ok_or_else(lost)?;
            w.push(|o| o.other.push(ToWorker::Stream(m)));
            Ok(())
        }));
        let weak = Arc::downgrade(&cluster);
        cluster.io.spawn(accept_loop(weak, listener));
        Ok(cluster)
    }
    fn on_done(&self, from: WorkerId, list: Vec<Done>) {
        // Only the worker it was sent to answers for a task. One lock for the batch: the
        // entries are taken first, and told after it is released (a completer may send).
        let entries: Vec<(Done, Inflight)> = {
            let mut inflight = self.inflight.lock();
            list.into_iter()
                .filter_map(|d| match inflight.get(&d.task) {
                    Some(e) if e.to == from => inflight.remove(&d.task).map(|e| (d, e)),
                    _ => None,
                })
                .collect()
        };
        if entries.is_empty() {
            return;
        }
        if let Some(w) = self.worker(from) {
            w.inflight.fetch_sub(entries.len(), Ordering::Relaxed);
        }
        let now = Instant::now();
        let mut ready = Vec::new();
        for (d, e) in entries {
            if let Some(t0) = e.sent {
                let mut est = self.est_task_s.lock();
                *est = 0.9 * *est + 0.1 * (now - t0).as_secs_f64();
            }
            let c = e.completer;
            ready.extend(match d.outcome {
                Err(e) if matches!(e.kind, ErrorKind::Upstream) => c.upstream(from),
                outcome => c.done(from, outcome.map_err(Error::from)),
            });
        }
        crate::executor::schedule_all(&self.pool, ready);
    }
    fn answer(&self, req: u64, f: impl FnOnce(Reply)) {
        if let Some((_, r)) = self.requests.lock().remove(&req) {
            f(r);
        }
    }

    fn on_lost(&self, id: WorkerId) {
        self.streams.lost(id);
        // Reap the processes that have exited (a killed worker's, usually): each would stay
        // a zombie, and its `Child` in the table, for the driver's lifetime.
        self.children
            .lock()
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        let lost: Vec<_> = {
            let mut inflight = self.inflight.lock();
            let ids: Vec<TaskId> = inflight
                .iter()
                .filter(|(_, e)| e.to == id)
                .map(|(t, _)| *t)
                .collect();
            ids.into_iter()
                .filter_map(|t| inflight.remove(&t))
                .collect()
        };
        let mut ready = Vec::new();
        for e in lost {
            ready.extend(e.completer.done(
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
}

/// Runs and cancellations as frames, in their order: one `Run` frame per stretch of runs,
/// one `Cancel` frame per stretch of cancellations (usually a single `Run` frame).
fn order_frames(orders: Vec<Order>, frames: &mut Vec<bytes::Bytes>) {
    let mut runs = Vec::new();
    let mut cancels = Vec::new();
    let push = |m: ToWorker, frames: &mut Vec<bytes::Bytes>| match encode(&m) {
        Ok(f) => frames.push(f),
        Err(e) => tracing::warn!(target: "dagger", "{e}"),
    };
    for o in orders {
        match o {
            Order::Run(r) => {
                if !cancels.is_empty() {
                    push(ToWorker::Cancel(std::mem::take(&mut cancels)), frames);
                }
                runs.push(r);
            }
            Order::Cancel(t) => {
                if !runs.is_empty() {
                    push(ToWorker::Run(std::mem::take(&mut runs)), frames);
                }
                cancels.push(t);
            }
        }
    }
    if !runs.is_empty() {
        // The usual case, one stretch of runs: sized for it (a chain link is ~30 bytes).
        let hint = 16 + 48 * runs.len();
        match encode_sized(&ToWorker::Run(runs), hint) {
            Ok(f) => frames.push(f),
            Err(e) => tracing::warn!(target: "dagger", "{e}"),
        }
    }
    if !cancels.is_empty() {
        push(ToWorker::Cancel(cancels), frames);
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
    let worker = Arc::new(RemoteWorker::new(id, threads, data_addr.clone(), node, pid));
    for w in c
        .workers
        .read()
        .iter()
        .filter(|w| w.alive.load(Ordering::Acquire))
    {
        let addr = data_addr.clone();
        w.push(|o| o.other.push(ToWorker::Peer { worker: id, addr }));
    }
    c.add_worker(worker.clone());
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
            let (runs, mut other, releases) = {
                let mut o = w2.outbox.lock();
                (
                    std::mem::take(&mut o.runs),
                    std::mem::take(&mut o.other),
                    std::mem::take(&mut o.releases),
                )
            };
            // Last: a fetch queued before a release of the same chunk is answered first.
            if !releases.is_empty() {
                other.push(ToWorker::Release(releases));
            }
            let mut frames = Vec::with_capacity(other.len() + 1);
            order_frames(runs, &mut frames);
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
            Ok(ToDriver::Stream(m)) => c.streams.deliver(m),
            Ok(ToDriver::Done(list)) => c.on_done(id, list),
            Ok(ToDriver::Data { req, bytes }) => c.answer(req, |r| {
                if let Reply::Data(tx) = r {
                    let _ = tx.send(bytes.map_err(Error::from));
                }
            }),
            Ok(ToDriver::Stats {
                req,
                stats,
                transfers,
            }) => c.answer(req, |r| {
                if let Reply::Stats(tx) = r {
                    let _ = tx.send((stats, transfers));
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
    // What was queued for it will never be sent; `push` adds nothing once `alive` is false.
    *worker.outbox.lock() = Outbox::default();
    worker.notify.notify_one();
    writer.abort();
    if let Some(c) = cluster.upgrade() {
        if !c.shutting_down.load(Ordering::SeqCst) {
            tracing::warn!(target: "dagger", "worker {id} was lost");
        }
        c.on_lost(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::config::TransportFactory;
    use crate::cluster::driver::Completer;
    use crate::cluster::protocol::{DoneOk, RunTask};
    use crate::task::Ready;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::mpsc;

    type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

    /// A transport whose listener never accepts: the test adds the cluster's worker itself.
    #[derive(Debug)]
    struct Unreachable;

    impl TransportFactory for Unreachable {
        fn transport(&self, _: &str) -> Arc<dyn dagger_core::Transport> {
            Arc::new(Unreachable)
        }
    }

    impl dagger_core::Transport for Unreachable {
        fn name(&self) -> &'static str {
            "unreachable"
        }
        fn listen<'s, 'a, 'f>(&'s self, _: &'a str) -> Answer<'f, Box<dyn TransportListener>>
        where
            's: 'f,
            'a: 'f,
            Self: 'f,
        {
            Box::pin(async { Ok(Box::new(Unreachable) as Box<dyn TransportListener>) })
        }
        fn connect<'s, 'a, 'f>(&'s self, _: &'a str) -> Answer<'f, dagger_core::Connection>
        where
            's: 'f,
            'a: 'f,
            Self: 'f,
        {
            Box::pin(async { Err(Error::Transport("unreachable".into())) })
        }
    }

    impl TransportListener for Unreachable {
        fn local_addr(&self) -> String {
            "unreachable".into()
        }
        fn accept<'s, 'f>(&'s mut self) -> Answer<'f, dagger_core::Connection>
        where
            's: 'f,
            Self: 'f,
        {
            Box::pin(std::future::pending())
        }
    }

    /// Counts how often it is told a task ended.
    #[derive(Default)]
    struct Told(AtomicUsize);

    impl Completer for Told {
        fn done(self: Arc<Self>, _: WorkerId, _: Result<DoneOk>) -> Ready {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ready::new()
        }
    }

    /// A driver's cluster state with one worker, 2, as if connected (no connection behind it).
    fn one_worker_cluster(pool: Arc<Pool>) -> Arc<Cluster> {
        let config = ClusterConfig {
            transport: Some(Arc::new(Unreachable)),
            ..ClusterConfig::default()
        };
        let c = Cluster::start(config, pool, 1).expect("a cluster");
        let w = RemoteWorker::new(WorkerId(2), 1, String::new(), NodeId(0), 0);
        c.add_worker(Arc::new(w));
        c
    }

    /// Runs `record` on another thread across the loss of worker 2: it starts while the
    /// worker is connected and `table` is held, so it waits for the table; meanwhile the
    /// worker is marked lost, the table freed and `on_lost` run, as the connection's reader
    /// does. Returns what `record` returned.
    fn record_while_lost<K, V, S, R: Send + 'static>(
        c: &Arc<Cluster>,
        table: impl Fn(&Cluster) -> &Mutex<HashMap<K, V, S>>,
        record: impl FnOnce(&Cluster) -> R + Send + 'static,
    ) -> R {
        let held = table(c).lock();
        let c2 = c.clone();
        let t = std::thread::spawn(move || record(&c2));
        // Long enough for `record` to be waiting for the table (past any lookup it makes).
        std::thread::sleep(Duration::from_millis(100));
        // What the reader does when the connection ends.
        let w = c.worker(WorkerId(2)).expect("worker 2");
        w.alive.store(false, Ordering::Release);
        drop(held);
        c.on_lost(WorkerId(2));
        t.join().expect("the recording thread")
    }

    /// The tree-reduce hang: a task sent while its worker was being lost stayed in flight for
    /// ever, never answered by `on_lost`, so it and everything after it stayed "running".
    #[test]
    fn a_task_or_request_for_a_worker_lost_meanwhile_is_refused_not_left_pending() {
        let (pool, threads) = Pool::start(1, WorkerId::DRIVER, "lost-test");
        let c = one_worker_cluster(pool.clone());
        let told = Arc::new(Told::default());
        let completer: Arc<dyn Completer> = told.clone();
        let run = RunTask {
            task: TaskId(7),
            func: "f".into(),
            args: Vec::new(),
            inline_limit: 0,
            threads: Vec::new(),
            name: None,
            after: Vec::new(),
        };
        let sent = record_while_lost(
            &c,
            |c| &c.inflight,
            move |c| c.submit(WorkerId(2), run, completer),
        );
        let answered = told.0.load(Ordering::SeqCst);
        // Either refused (the sender retries elsewhere) or answered by `on_lost`, never
        // neither. The worker was marked lost before the table was free, so: refused (it used
        // to be accepted, and left in flight when `on_lost` had taken the table first).
        assert!(
            matches!(sent, Err(Error::WorkerLost { .. })),
            "{sent:?}, told {answered}"
        );
        assert_eq!(answered, 0);
        assert!(c.inflight.lock().is_empty(), "a task left in flight");

        let (tx, rx) = mpsc::channel();
        let asked = record_while_lost(
            &c,
            |c| &c.requests,
            move |c| {
                c.request(WorkerId(2), Reply::Data(tx), |req| ToWorker::Fetch {
                    req,
                    chunk: dagger_core::ChunkId(7),
                })
            },
        );
        assert!(matches!(asked, Err(Error::WorkerLost { .. })), "{asked:?}");
        assert!(c.requests.lock().is_empty(), "a request left waiting");
        // Nothing holds the reply's sender: a fetch would not wait for ever.
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_err());

        drop(c);
        pool.shutdown();
        threads
            .into_iter()
            .for_each(|t| t.join().expect("a pool thread"));
    }

    /// The soak's driver grew by ~12 KiB per lost worker: every later join queued a `Peer`
    /// message for each lost worker too, whose writer was gone, so they stayed for ever.
    #[test]
    fn nothing_queued_for_a_lost_worker_stays_in_the_drivers_memory() {
        let (pool, threads) = Pool::start(1, WorkerId::DRIVER, "lost-outbox-test");
        let c = one_worker_cluster(pool.clone());
        let w = c.worker(WorkerId(2)).expect("worker 2");
        w.push(|o| o.other.push(ToWorker::StartRecording));
        assert_eq!(
            w.outbox.lock().other.len(),
            1,
            "a live worker's message is queued"
        );
        w.alive.store(false, Ordering::Release);
        w.push(|o| o.other.push(ToWorker::StartRecording));
        c.release(dagger_core::ChunkId(3), WorkerId(2));
        assert_eq!(w.outbox.lock().other.len(), 1, "queued for a lost worker");
        c.on_lost(WorkerId(2));
        drop((w, c));
        pool.shutdown();
        threads
            .into_iter()
            .for_each(|t| t.join().expect("a pool thread"));
    }
}
