//! The worker side: join a driver, run the registered functions it sends, hold the results,
//! serve them to peers, forget them when told. At the top of the crate: a worker's own
//! tasks run on an ordinary [`Context`].

use crate::cluster::hub::Hub;
use crate::cluster::links::Links;
use crate::cluster::live::ArgValue;
use crate::cluster::protocol::{
    decode, encode, Done, DoneOk, PeerMsg, RemoteError, RunTask, StreamMsg, ToDriver, ToWorker,
};
use crate::cluster::registry::lookup_live;
use crate::cluster::transfers::Transfers;
use crate::cluster::{list, pinned, results, stream_stage, telemetry};
use crate::context::state::Context;
use crate::site::{ArgRef, ItemRef};
use bytes::Bytes;
use dagger_core::{
    ChunkId, Connection, Error, FrameSender, LiveValue, Options, ProcessorId, Result, ResultStore,
    Scope, Transport, WorkerId,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};
use tracing::Instrument;

struct PeerConn {
    sender: tokio::sync::Mutex<Box<dyn FrameSender>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Bytes>>>>,
}

struct WorkerState {
    me: WorkerId,
    transport: Arc<dyn Transport>,
    rt: tokio::runtime::Handle,
    chunks: Arc<dyn ResultStore>,
    /// Values pinned here by each result (freed when the result is released).
    pinned: Mutex<HashMap<ChunkId, Vec<u64>>>,
    peers: Mutex<HashMap<WorkerId, String>>,
    conns: tokio::sync::Mutex<HashMap<WorkerId, Arc<PeerConn>>>,
    outbox: Mutex<Vec<ToDriver>>,
    done: Mutex<Vec<Done>>,
    notify: Notify,
    next_req: AtomicU64,
    /// Streaming: this worker's edges and stages, and its links to peers.
    hub: Arc<Hub>,
    links: Links,
    /// Values and bytes moved to and from other processes.
    transfers: Transfers,
}

impl WorkerState {
    fn send(&self, m: ToDriver) {
        let empty = {
            let mut o = self.outbox.lock();
            let e = o.is_empty() && self.done.lock().is_empty();
            o.push(m);
            e
        };
        if empty {
            self.notify.notify_one();
        }
    }

    fn finished(&self, d: Done) {
        let empty = {
            let mut o = self.done.lock();
            let e = o.is_empty() && self.outbox.lock().is_empty();
            o.push(d);
            e
        };
        if empty {
            self.notify.notify_one();
        }
    }

    /// Answers the driver's `Fetch` `req`, counting what is sent.
    fn to_driver(&self, req: u64, bytes: std::result::Result<Bytes, RemoteError>) {
        bytes.iter().for_each(|b| self.transfers.to_driver(b.len()));
        self.send(ToDriver::Data { req, bytes });
    }

    fn local(&self, id: ChunkId) -> Result<Bytes> {
        self.chunks
            .get(id)
            .map_err(|_| Error::NotFound(format!("chunk {id} on worker {}", self.me)))
    }

    /// Chunk `id` as held here: its live value (`Ok(Err(_))`) to encode later, or its bytes.
    fn held(&self, id: ChunkId) -> Result<std::result::Result<Bytes, LiveValue>> {
        match self.chunks.get_value(id) {
            Ok(Some(v)) => Ok(Err(v)),
            // Not live, or live but unreadable: the bytes path says which.
            _ => self.local(id).map(Ok),
        }
    }

    /// What to answer a peer's or the driver's request for chunk `id`. The value to send is
    /// taken now (so a release that follows cannot race it); encoding a large live value
    /// happens on a blocking thread, off the runtime that reads the driver's messages.
    async fn bytes_for(self: &Arc<Self>, id: ChunkId) -> Result<Bytes> {
        match self.held(id)? {
            Ok(b) => Ok(b),
            Err(v) if v.size <= SMALL => v.encode(),
            Err(v) => tokio::task::spawn_blocking(move || v.encode())
                .await
                .map_err(|e| Error::Io(format!("encoding chunk {id}: {e}")))?,
        }
    }

    /// An argument: inline bytes, a value held here (live if it is held live), or bytes
    /// fetched from its owner (and kept).
    fn arg(self: &Arc<Self>, a: &ArgRef) -> Result<ArgValue> {
        match a {
            ArgRef::Inline(b) => {
                self.transfers.received_from_driver(b.len());
                Ok(ArgValue::Bytes(b.clone()))
            }
            ArgRef::Chunk { id, owner } => {
                if let Ok(h) = self.held(*id) {
                    return Ok(match h {
                        Ok(b) => ArgValue::Bytes(b),
                        Err(v) => ArgValue::Live(v),
                    });
                }
                if *owner == self.me {
                    return Err(Error::WorkerLost {
                        worker: *owner,
                        chunk: Some(*id),
                    });
                }
                let me = self.clone();
                let (id, owner) = (*id, *owner);
                let b = self
                    .rt
                    .block_on(async move { me.fetch_from_peer(owner, id).await })?;
                self.chunks.put(id, b.clone())?;
                Ok(ArgValue::Bytes(b))
            }
            ArgRef::List(items) => self.list(items).map(ArgValue::Bytes),
        }
    }

    /// A list argument's bytes: every element's encoding — sent along, held here (a live
    /// value is encoded), or fetched from its owner and kept — as one postcard sequence.
    /// Every owner is asked at once, before anything held here is encoded, so transfers
    /// overlap each other and the local work; an element listed twice is fetched once.
    fn list(self: &Arc<Self>, items: &[ItemRef]) -> Result<Bytes> {
        let mut fetching: HashMap<ChunkId, tokio::task::JoinHandle<Result<Bytes>>> = HashMap::new();
        let mut here: Vec<Option<std::result::Result<Bytes, LiveValue>>> =
            Vec::with_capacity(items.len());
        for item in items {
            here.push(match item {
                ItemRef::Inline(b) => {
                    self.transfers.received_from_driver(b.len());
                    Some(Ok(b.clone()))
                }
                ItemRef::Chunk { id, owner } => match self.held(*id) {
                    Ok(h) => Some(h),
                    Err(_) if *owner == self.me => {
                        return Err(Error::WorkerLost {
                            worker: *owner,
                            chunk: Some(*id),
                        })
                    }
                    Err(_) => {
                        if !fetching.contains_key(id) {
                            let me = self.clone();
                            let (id, owner) = (*id, *owner);
                            let fetch = self
                                .rt
                                .spawn(async move { me.fetch_from_peer(owner, id).await });
                            fetching.insert(id, fetch);
                        }
                        None
                    }
                },
            });
        }
        let mut parts: Vec<Option<Bytes>> = here
            .into_iter()
            .map(|h| h.map(|h| h.or_else(|v| v.encode())).transpose())
            .collect::<Result<_>>()?;
        let mut fetched: HashMap<ChunkId, Bytes> = HashMap::with_capacity(fetching.len());
        for (id, f) in fetching {
            let b = self
                .rt
                .block_on(f)
                .map_err(|e| Error::Io(format!("fetching chunk {id}: {e}")))??;
            self.chunks.put(id, b.clone())?;
            fetched.insert(id, b);
        }
        for (part, item) in parts.iter_mut().zip(items) {
            if let (None, ItemRef::Chunk { id, .. }) = (&part, item) {
                *part = fetched.get(id).cloned();
            }
        }
        let parts: Vec<Bytes> = parts
            .into_iter()
            .zip(items)
            .map(|(p, item)| {
                p.ok_or_else(|| Error::Scheduling(format!("list element {item:?} was not found")))
            })
            .collect::<Result<_>>()?;
        Ok(list::sequence(&parts))
    }

    async fn fetch_from_peer(self: Arc<Self>, owner: WorkerId, id: ChunkId) -> Result<Bytes> {
        let conn = self.peer(owner).await?;
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.pending.lock().insert(req, tx);
        // Instrumented rather than entered, so the future stays `Send` (list arguments fetch
        // their elements on the runtime, all at once); the span still runs from the first
        // poll to the last.
        // `bytes` is recorded once the data is here (the fetched size, for transfer panels).
        let span = tracing::trace_span!(target: "dagger", "comm", from = owner.0, to = self.me.0,
            bytes = tracing::field::Empty);
        let recorder = span.clone();
        let got = async move {
            conn.sender
                .lock()
                .await
                .send(encode(&PeerMsg::Get { req, chunk: id })?)
                .await?;
            rx.await.unwrap_or(Err(Error::WorkerLost {
                worker: owner,
                chunk: Some(id),
            }))
        }
        .instrument(span)
        .await;
        if let Ok(b) = &got {
            recorder.record("bytes", b.len() as u64);
            self.transfers.fetched(b.len());
        }
        got
    }

    async fn peer(self: &Arc<Self>, w: WorkerId) -> Result<Arc<PeerConn>> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(&w) {
            return Ok(c.clone());
        }
        let addr = self
            .peers
            .lock()
            .get(&w)
            .cloned()
            .ok_or(Error::WorkerLost {
                worker: w,
                chunk: None,
            })?;
        let Connection {
            sender,
            mut receiver,
            ..
        } = self.transport.connect(&addr).await?;
        let conn = Arc::new(PeerConn {
            sender: tokio::sync::Mutex::new(sender),
            pending: Mutex::new(HashMap::new()),
        });
        let c2 = conn.clone();
        tokio::spawn(async move {
            while let Ok(Some(f)) = receiver.recv().await {
                match decode::<PeerMsg>(&f) {
                    Ok(PeerMsg::Data { req, bytes }) => {
                        if let Some(tx) = c2.pending.lock().remove(&req) {
                            let _ = tx.send(bytes.map_err(Error::from));
                        }
                    }
                    Ok(PeerMsg::Get { .. } | PeerMsg::Stream(_)) => {}
                    Err(e) => {
                        tracing::warn!(target: "dagger", "peer {w}: {e}");
                        break;
                    }
                }
            }
            // Wake everyone still waiting on this peer.
            c2.pending.lock().clear();
        });
        conns.insert(w, conn.clone());
        Ok(conn)
    }

    fn run(self: &Arc<Self>, t: RunTask) {
        pinned::begin_task();
        let thread = crate::executor::current_processor().map_or(0, |p| p.index);
        let outcome = (|| -> Result<LiveValue> {
            let parts: Vec<ArgValue> = t.args.iter().map(|a| self.arg(a)).collect::<Result<_>>()?;
            let f = lookup_live(&t.func)?;
            // The task's name, else the registered function's (module path included).
            let _span = tracing::trace_span!(target: "dagger", "compute", task = t.task.0,
                name = t.name.as_deref().unwrap_or(&t.func),
                timeline = %dagger_core::ProcessorId::thread(self.me, thread), worker = self.me.0)
            .entered();
            // Unwind safety: after a panic the arguments are dropped unread and the error
            // is all that is kept.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&parts))) {
                Ok(r) => r,
                Err(p) => Err(Error::User(crate::task::panic_message(p))),
            }
        })();
        let made = pinned::end_task();
        if !made.is_empty() {
            self.pinned.lock().insert(ChunkId(t.task.0), made);
        }
        let outcome = outcome
            .and_then(|v| {
                let size = v.size;
                let inline = inline_bytes(&v, t.inline_limit)?;
                inline
                    .iter()
                    .for_each(|b| self.transfers.to_driver(b.len()));
                self.chunks.put_value(ChunkId(t.task.0), v)?;
                Ok(DoneOk {
                    size,
                    thread,
                    inline,
                })
            })
            .map_err(|e| RemoteError::from(&e));
        self.finished(Done {
            task: t.task,
            outcome,
        });
    }
}

/// Live values up to this estimated size are encoded on the thread that asks.
const SMALL: u64 = 64 * 1024;

/// The encoding of a result small enough to travel with its completion notice (`None` if it
/// is larger than `limit`). Only a value whose estimated size is within twice the limit is
/// encoded to find out (postcard's varints can make an encoding a little larger than the
/// value), so a large result is never encoded here.
fn inline_bytes(v: &LiveValue, limit: u32) -> Result<Option<Bytes>> {
    let limit = u64::from(limit);
    if v.size > limit.saturating_mul(2).max(64) {
        return Ok(None);
    }
    let b = v.encode()?;
    Ok((b.len() as u64 <= limit).then_some(b))
}

/// The address this machine uses to reach `scheduler` (so peers can reach our data port).
fn local_host_towards(scheduler: &str) -> String {
    let probe = || -> std::io::Result<std::net::IpAddr> {
        let s = std::net::UdpSocket::bind("0.0.0.0:0")?;
        s.connect(scheduler)?;
        Ok(s.local_addr()?.ip())
    };
    probe()
        .map(|ip| ip.to_string())
        .unwrap_or_else(|_| "127.0.0.1".into())
}

static MY_ID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// The id of this process in its cluster (1 for the driver, as Julia's `myid()`).
///
/// ```
/// assert_eq!(dagger_sched::myid(), dagger_core::WorkerId(1));
/// ```
pub fn myid() -> WorkerId {
    WorkerId(MY_ID.load(Ordering::Relaxed))
}

/// Serves as a worker of the driver at `scheduler` until told to stop or the driver goes
/// away. `dagger::init()` calls this when `DAGGER_SCHEDULER` is set.
pub fn serve(transport: Arc<dyn Transport>, scheduler: &str, threads: usize) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("dagger-worker-io")
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("starting the I/O runtime: {e}")))?;
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let Connection {
            mut sender,
            mut receiver,
            ..
        } = transport.connect(scheduler).await?;
        // An MPI rank listens on a fresh port of its own rank.
        let mpi = scheduler.starts_with("mpi://");
        let host = if mpi {
            "mpi://".to_string()
        } else if scheduler.contains(':') {
            local_host_towards(scheduler)
        } else {
            String::new()
        };
        let mut listener = transport
            .listen(&if mpi {
                host
            } else if host.is_empty() {
                "inproc://".to_string()
            } else {
                format!("{host}:0")
            })
            .await?;
        let join = ToDriver::Join {
            threads: threads as u32,
            data_addr: listener.local_addr(),
            // Workers on one machine share a node; DAGGER_NODE names it (Dagger.jl keeps a
            // per-machine UUID file; a host name hash would do the same here).
            node: std::env::var("DAGGER_NODE")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            pid: std::process::id(),
        };
        sender.send(encode(&join)?).await?;
        let (me, peers, heartbeat_ms) = match receiver.recv().await? {
            Some(f) => match decode::<ToWorker>(&f)? {
                ToWorker::Welcome {
                    worker,
                    peers,
                    heartbeat_ms,
                } => (worker, peers, heartbeat_ms),
                other => return Err(Error::Protocol(format!("expected Welcome, got {other:?}"))),
            },
            None => {
                return Err(Error::Transport(
                    "the driver closed the connection during the handshake".into(),
                ))
            }
        };
        MY_ID.store(me.0, Ordering::Relaxed);
        let ctx = Context::builder().threads(threads).worker_id(me).build();
        let state = Arc::new(WorkerState {
            me,
            transport: transport.clone(),
            rt: handle.clone(),
            chunks: results::new_result_store()?,
            pinned: Mutex::new(HashMap::new()),
            peers: Mutex::new(peers.into_iter().collect()),
            conns: tokio::sync::Mutex::new(HashMap::new()),
            outbox: Mutex::new(Vec::new()),
            done: Mutex::new(Vec::new()),
            notify: Notify::new(),
            next_req: AtomicU64::new(1),
            hub: Hub::new(me),
            links: Links::new(transport.clone(), handle.clone()),
            transfers: Transfers::default(),
        });
        let weak = Arc::downgrade(&state);
        state.hub.set_route(Box::new(move |to, m| {
            let s = weak.upgrade().ok_or(Error::WorkerLost {
                worker: to,
                chunk: None,
            })?;
            if to == WorkerId::DRIVER {
                s.send(ToDriver::Stream(m));
                return Ok(());
            }
            let addr = s.peers.lock().get(&to).cloned();
            s.links.send(to, addr, encode(&PeerMsg::Stream(m))?)
        }));
        // Data server: peers ask for chunks we hold.
        let s2 = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok(Connection {
                    mut sender,
                    mut receiver,
                    ..
                }) = listener.accept().await
                else {
                    continue;
                };
                let s3 = s2.clone();
                tokio::spawn(async move {
                    while let Ok(Some(f)) = receiver.recv().await {
                        let (req, chunk) = match decode::<PeerMsg>(&f) {
                            Ok(PeerMsg::Get { req, chunk }) => (req, chunk),
                            Ok(PeerMsg::Stream(m)) => {
                                s3.hub.deliver(m);
                                continue;
                            }
                            _ => break,
                        };
                        let bytes = s3.bytes_for(chunk).await.map_err(|e| RemoteError::from(&e));
                        bytes.iter().for_each(|b| s3.transfers.served(b.len()));
                        let Ok(out) = encode(&PeerMsg::Data { req, bytes }) else {
                            break;
                        };
                        if sender.send(out).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        // Writer: completions and answers, batched.
        let s4 = state.clone();
        let writer = tokio::spawn(async move {
            let beat = Duration::from_millis(heartbeat_ms.max(10));
            loop {
                // Quiet for a heartbeat interval: say so, so the driver knows we live.
                let idle = tokio::time::timeout(beat, s4.notify.notified())
                    .await
                    .is_err();
                let done = std::mem::take(&mut *s4.done.lock());
                let other = std::mem::take(&mut *s4.outbox.lock());
                let mut frames = Vec::with_capacity(other.len() + 1);
                if idle && done.is_empty() && other.is_empty() {
                    frames.push(encode(&ToDriver::Heartbeat)?);
                }
                if !done.is_empty() {
                    frames.push(encode(&ToDriver::Done(done))?);
                }
                for m in &other {
                    frames.push(encode(m)?);
                }
                sender.send_many(frames).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), Error>(())
        });
        // Reader: the driver's instructions.
        let result = loop {
            let frame = match receiver.recv().await {
                Ok(Some(f)) => f,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            match decode::<ToWorker>(&frame) {
                Ok(ToWorker::Run(tasks)) => {
                    for t in tasks {
                        let s = state.clone();
                        if t.threads.is_empty() {
                            drop(ctx.spawn(move |()| s.run(t), ()));
                        } else {
                            let pin = Scope::union(
                                t.threads
                                    .iter()
                                    .map(|i| Scope::Exact(ProcessorId::thread(me, *i))),
                            )
                            .unwrap_or(Scope::Any);
                            drop(ctx.spawn_with(Options::new().scope(pin), move |()| s.run(t), ()));
                        }
                    }
                }
                Ok(ToWorker::Fetch { req, chunk }) => match state.held(chunk) {
                    Ok(Err(v)) if v.size > SMALL => {
                        // Large and live: encode off this loop, answer when done.
                        let s = state.clone();
                        tokio::spawn(async move {
                            let bytes = tokio::task::spawn_blocking(move || v.encode())
                                .await
                                .unwrap_or_else(|e| {
                                    Err(Error::Io(format!("encoding chunk {chunk}: {e}")))
                                })
                                .map_err(|e| RemoteError::from(&e));
                            s.to_driver(req, bytes);
                        });
                    }
                    held => {
                        let bytes = held
                            .and_then(|h| h.or_else(|v| v.encode()))
                            .map_err(|e| RemoteError::from(&e));
                        state.to_driver(req, bytes);
                    }
                },
                Ok(ToWorker::Release(ids)) => {
                    for id in ids {
                        if let Some(p) = state.pinned.lock().remove(&id) {
                            pinned::unpin(&p);
                        }
                        if let Err(e) = state.chunks.remove(id) {
                            tracing::warn!(target: "dagger", "releasing {id}: {e}");
                        }
                    }
                }
                Ok(ToWorker::Stats { req }) => {
                    state.send(ToDriver::Stats {
                        req,
                        stats: state.chunks.stats(),
                        transfers: state.transfers.snapshot(),
                    });
                }
                Ok(ToWorker::Peer { worker, addr }) => {
                    state.peers.lock().insert(worker, addr);
                }
                Ok(ToWorker::Welcome { .. }) => {
                    tracing::warn!(target: "dagger", "Welcome received twice")
                }
                Ok(ToWorker::StartRecording) => {
                    if let Some(t) = telemetry::telemetry() {
                        t.start();
                    }
                }
                Ok(ToWorker::TakeSpans { req }) => {
                    let bytes = telemetry::telemetry().map(|t| t.take()).unwrap_or_default();
                    state.send(ToDriver::Spans { req, bytes });
                }
                Ok(ToWorker::Stream(StreamMsg::Start(spec))) => {
                    stream_stage::launch(state.hub.clone(), spec)
                }
                Ok(ToWorker::Stream(m)) => state.hub.deliver(m),
                Ok(ToWorker::Shutdown) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        writer.abort();
        result
    })
}
