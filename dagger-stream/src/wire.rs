//! Edges that cross a process: the driver's end of an edge to or from a stage on a worker.
//! Items are encoded (postcard) into batches and sent through the driver's streaming hub,
//! which holds the edge's credits, so the edge stays within its bound across the network.

use crate::control::{Control, POLL};
use crate::edge::{Blocked, EdgeTx, Next};
use dagger_core::{Error, Result};
use dagger_sched::stream_wire::{BatchBuf, InEdge, InMsg, OutEdge};
use serde::{de::DeserializeOwned, Serialize};

/// How an item is encoded for another process.
pub(crate) type Encode<T> = fn(&T) -> Result<Vec<u8>>;
/// How an item from another process is decoded.
pub(crate) type Decode<T> = fn(&[u8]) -> Result<T>;

/// The postcard encoding of `v`.
pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v)
        .map_err(|e| Error::Codec(format!("stream item {}: {e}", std::any::type_name::<T>())))
}

/// A value from its postcard encoding.
pub(crate) fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T> {
    postcard::from_bytes(b).map_err(|e| {
        Error::Codec(format!(
            "stream item as {}: {e}",
            std::any::type_name::<T>()
        ))
    })
}

/// The driver's end of an edge to a stage on a worker.
#[derive(Debug)]
pub(crate) struct RemoteTx<T> {
    pub(crate) out: OutEdge,
    pub(crate) encode: Encode<T>,
    pub(crate) batch: usize,
}

/// One output edge of a stage that runs here: to a consumer here, or on a worker.
#[derive(Debug)]
pub(crate) enum Tx<T> {
    /// To a stage of this process.
    Local(EdgeTx<T>),
    /// To a stage on a worker.
    Remote(RemoteTx<T>),
}

impl<T> Tx<T> {
    /// Items per batch on this edge.
    pub(crate) fn batch(&self) -> usize {
        match self {
            Tx::Local(e) => e.batch,
            Tx::Remote(r) => r.batch,
        }
    }

    /// Whether the consumer is still there.
    pub(crate) fn is_open(&self) -> bool {
        match self {
            Tx::Local(e) => e.open,
            Tx::Remote(r) => r.out.is_open(),
        }
    }

    /// Sends one batch, waiting while the edge is full.
    pub(crate) fn send(&mut self, items: Vec<T>, ctl: &Control) -> Result<(), Blocked> {
        match self {
            Tx::Local(e) => e.send(items, ctl),
            Tx::Remote(r) => {
                if items.is_empty() || !r.out.is_open() {
                    return Ok(());
                }
                let mut b = BatchBuf::default();
                for v in &items {
                    match (r.encode)(v) {
                        Ok(x) => b.push(&x),
                        Err(e) => {
                            ctl.cancel(e);
                            return Err(Blocked::Cancelled);
                        }
                    }
                }
                let (bytes, n) = b.take();
                r.out
                    .send(bytes, n, &|| ctl.is_cancelled())
                    .map_err(|_| Blocked::Cancelled)
            }
        }
    }
}

impl<T> Drop for RemoteTx<T> {
    fn drop(&mut self) {
        self.out.end();
    }
}

/// The driver's end of an edge from a stage on a worker.
#[derive(Debug)]
pub struct RemoteRx<T> {
    pub(crate) edge: InEdge,
    pub(crate) items: std::vec::IntoIter<bytes::Bytes>,
    pub(crate) decode: Decode<T>,
}

impl<T> RemoteRx<T> {
    /// The next item, as [`EdgeRx::next`](crate::edge::EdgeRx) gives it.
    pub(crate) fn next(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<T> {
        loop {
            if let Some(b) = self.items.next() {
                return match (self.decode)(&b) {
                    Ok(v) => Next::Item(v),
                    Err(e) => {
                        ctl.cancel(e);
                        Next::Cancelled
                    }
                };
            }
            let m = match self.edge.recv(std::time::Duration::ZERO) {
                Some(m) => m,
                None => {
                    before_wait();
                    loop {
                        if ctl.is_cancelled() {
                            return Next::Cancelled;
                        }
                        if let Some(m) = self.edge.recv(POLL) {
                            break m;
                        }
                    }
                }
            };
            match m {
                InMsg::Items(v) => self.items = v.into_iter(),
                InMsg::End => return Next::End,
            }
        }
    }
}
