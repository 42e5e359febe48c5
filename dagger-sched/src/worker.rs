//! The worker side: join a driver, run the registered functions it sends, hold the results,
//! serve them to peers, forget them when told. At the top of the crate: a worker's own
//! tasks run on an ordinary [`Context`].

use crate::cluster::hub::Hub;
use crate::cluster::links::Links;
use crate::cluster::protocol::{
    decode, encode, encode_sized, PeerMsg, RemoteError, StreamMsg, ToDriver, ToWorker,
};
use crate::cluster::transfers::Transfers;
use crate::cluster::waiting::Waiting;
use crate::cluster::{pinned, results, stream_stage, telemetry};
use crate::context::state::Context;
use dagger_core::{Connection, Error, Result, Transport, WorkerId};
use parking_lot::Mutex;
use state::{WorkerState, SMALL};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

// The worker's state and how it finds a task's arguments.
mod state;

// Running the tasks the driver sends, forwarded ones included.
mod run;

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
            waiting: Waiting::default(),
            ctx,
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
                    let hint = 16 + 24 * done.len();
                    frames.push(encode_sized(&ToDriver::Done(done), hint)?);
                    s4.transfers.done_frame();
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
                    state.transfers.run_frame();
                    for t in tasks {
                        state.arrived(t);
                    }
                }
                Ok(ToWorker::Cancel(ids)) => {
                    for id in ids {
                        state.cancel(id);
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
