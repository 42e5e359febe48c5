//! A worker's state, and how it finds a task's arguments: inline, held here (live or as
//! bytes), or fetched from the peer that owns them.

use crate::cluster::hub::Hub;
use crate::cluster::links::Links;
use crate::cluster::list;
use crate::cluster::live::ArgValue;
use crate::cluster::protocol::{decode, encode, Done, PeerMsg, RemoteError, ToDriver};
use crate::cluster::transfers::Transfers;
use crate::cluster::waiting::Waiting;
use crate::context::state::Context;
use crate::site::{ArgRef, ItemRef};
use bytes::Bytes;
use dagger_core::{
    ChunkId, Connection, Error, FrameSender, LiveValue, Result, ResultStore, Transport, WorkerId,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, Notify};
use tracing::Instrument;

/// Live values up to this estimated size are encoded on the thread that asks.
pub(super) const SMALL: u64 = 64 * 1024;

pub(super) struct PeerConn {
    pub(super) sender: tokio::sync::Mutex<Box<dyn FrameSender>>,
    pub(super) pending: Mutex<HashMap<u64, oneshot::Sender<Result<Bytes>>>>,
}

pub(super) struct WorkerState {
    pub(super) me: WorkerId,
    pub(super) transport: Arc<dyn Transport>,
    pub(super) rt: tokio::runtime::Handle,
    pub(super) chunks: Arc<dyn ResultStore>,
    /// Values pinned here by each result (freed when the result is released).
    pub(super) pinned: Mutex<HashMap<ChunkId, Vec<u64>>>,
    pub(super) peers: Mutex<HashMap<WorkerId, String>>,
    pub(super) conns: tokio::sync::Mutex<HashMap<WorkerId, Arc<PeerConn>>>,
    pub(super) outbox: Mutex<Vec<ToDriver>>,
    pub(super) done: Mutex<Vec<Done>>,
    pub(super) notify: Notify,
    pub(super) next_req: AtomicU64,
    /// Streaming: this worker's edges and stages, and its links to peers.
    pub(super) hub: Arc<Hub>,
    pub(super) links: Links,
    /// Values and bytes moved to and from other processes.
    pub(super) transfers: Transfers,
    /// Tasks sent ahead of an input this worker is still computing.
    pub(super) waiting: Waiting,
    /// Where this worker's tasks run.
    pub(super) ctx: Context,
}

impl WorkerState {
    pub(super) fn send(&self, m: ToDriver) {
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

    pub(super) fn finished(&self, d: Done) {
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
    pub(super) fn to_driver(&self, req: u64, bytes: std::result::Result<Bytes, RemoteError>) {
        bytes.iter().for_each(|b| self.transfers.to_driver(b.len()));
        self.send(ToDriver::Data { req, bytes });
    }

    pub(super) fn local(&self, id: ChunkId) -> Result<Bytes> {
        self.chunks
            .get(id)
            .map_err(|_| Error::NotFound(format!("chunk {id} on worker {}", self.me)))
    }

    /// Chunk `id` as held here: its live value (`Ok(Err(_))`) to encode later, or its bytes.
    pub(super) fn held(&self, id: ChunkId) -> Result<std::result::Result<Bytes, LiveValue>> {
        match self.chunks.get_value(id) {
            Ok(Some(v)) => Ok(Err(v)),
            // Not live, or live but unreadable: the bytes path says which.
            _ => self.local(id).map(Ok),
        }
    }

    /// What to answer a peer's or the driver's request for chunk `id`. The value to send is
    /// taken now (so a release that follows cannot race it); encoding a large live value
    /// happens on a blocking thread, off the runtime that reads the driver's messages.
    pub(super) async fn bytes_for(self: &Arc<Self>, id: ChunkId) -> Result<Bytes> {
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
    pub(super) fn arg(self: &Arc<Self>, a: &ArgRef) -> Result<ArgValue> {
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
    pub(super) fn list(self: &Arc<Self>, items: &[ItemRef]) -> Result<Bytes> {
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

    pub(super) async fn fetch_from_peer(
        self: Arc<Self>,
        owner: WorkerId,
        id: ChunkId,
    ) -> Result<Bytes> {
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

    pub(super) async fn peer(self: &Arc<Self>, w: WorkerId) -> Result<Arc<PeerConn>> {
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
}
