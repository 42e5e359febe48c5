//! The two halves of an MPI connection, and the cookie handshake run over them.

use super::progress::{Cmd, Event, Link, Shared, World};
use crate::cookie::Cookie;
use crate::frame::check_len;
use crate::handshake::{
    compute_proof, encode_proof, parse_proof, verify_proof, Hello, Side, MAX_HANDSHAKE_FRAME_LEN,
};
use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{Connection, Error, FrameReceiver, FrameSender, Result};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

/// Bytes a sender may have queued or in flight before `send` waits (in KiB permits).
const WINDOW_KIB: u32 = 64 << 10;

/// The sending half: frames go to the progress thread, which sends them from their buffers.
struct MpiSender {
    world: &'static World,
    id: u32,
    shared: Arc<Shared>,
    window: Arc<Semaphore>,
    max_len: usize,
    peer: String,
}

#[async_trait]
impl FrameSender for MpiSender {
    async fn send(&mut self, frame: Bytes) -> Result<()> {
        self.send_many(vec![frame]).await
    }

    async fn send_many(&mut self, frames: Vec<Bytes>) -> Result<()> {
        // Refuse the whole batch before anything leaves, so a refused batch leaves no trace.
        let mut bytes = 0usize;
        for f in &frames {
            check_len(f.len(), self.max_len)?;
            bytes += f.len();
        }
        if frames.is_empty() {
            return Ok(());
        }
        if self.shared.reset.load(Ordering::Acquire) {
            return Err(Error::Transport(format!(
                "the connection to {} is closed",
                self.peer
            )));
        }
        let kib = u32::try_from(bytes >> 10)
            .unwrap_or(u32::MAX)
            .clamp(1, WINDOW_KIB);
        let permit = self
            .window
            .clone()
            .acquire_many_owned(kib)
            .await
            .map_err(|_| Error::Transport("the MPI send window closed".into()))?;
        self.world.send(Cmd::Send(self.id, frames, permit));
        Ok(())
    }
}

impl Drop for MpiSender {
    fn drop(&mut self) {
        self.world.send(Cmd::CloseWrite(self.id));
    }
}

/// The receiving half: events the progress thread delivered for this connection.
struct MpiReceiver {
    world: &'static World,
    id: u32,
    events: mpsc::UnboundedReceiver<Event>,
    queued: VecDeque<Bytes>,
    ended: bool,
    max_len: usize,
    peer: String,
}

#[async_trait]
impl FrameReceiver for MpiReceiver {
    async fn recv(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(f) = self.queued.pop_front() {
                return self.checked(f).map(Some);
            }
            if self.ended {
                return Ok(None);
            }
            match self.events.recv().await {
                Some(Event::Frame(f)) => return self.checked(f).map(Some),
                Some(Event::Frames(fs)) => self.queued.extend(fs),
                Some(Event::Eof) | None => self.ended = true,
                Some(Event::Broken(e)) => {
                    self.ended = true;
                    tracing::warn!(peer = %self.peer, error = %e, "closing a broken MPI connection");
                    return Err(e);
                }
            }
        }
    }
}

impl MpiReceiver {
    fn checked(&mut self, f: Bytes) -> Result<Bytes> {
        if f.len() > self.max_len {
            self.ended = true;
            self.queued.clear();
            return Err(Error::Protocol(format!(
                "{} sent a frame of {} bytes, above the limit of {}",
                self.peer,
                f.len(),
                self.max_len
            )));
        }
        Ok(f)
    }
}

impl Drop for MpiReceiver {
    fn drop(&mut self) {
        self.world.send(Cmd::CloseRead(self.id));
    }
}

/// Wraps a link the progress thread opened into a connection (not yet authenticated).
pub(crate) fn connection(world: &'static World, link: Link, max_len: usize) -> Connection {
    let peer = link.peer.to_url();
    let sender = MpiSender {
        world,
        id: link.id,
        shared: link.shared,
        window: Arc::new(Semaphore::new(WINDOW_KIB as usize)),
        max_len,
        peer: peer.clone(),
    };
    let receiver = MpiReceiver {
        world,
        id: link.id,
        events: link.events,
        queued: VecDeque::new(),
        ended: false,
        max_len,
        peer: peer.clone(),
    };
    Connection {
        sender: Box::new(sender),
        receiver: Box::new(receiver),
        peer,
    }
}

/// The hello and proof exchange of [`handshake`](crate::handshake), over frames.
///
/// # Errors
/// [`Error::Auth`] for a wrong cookie, [`Error::Protocol`] for garbage or a peer that hangs
/// up, [`Error::Transport`] when `timeout` passes.
pub(crate) async fn handshake(
    conn: &mut Connection,
    cookie: &Cookie,
    side: Side,
    ours: &Hello,
    timeout: Duration,
) -> Result<Hello> {
    let peer = conn.peer.clone();
    let run = async {
        let our_bytes = ours.encode()?;
        conn.sender.send(our_bytes.clone()).await?;
        let peer_bytes = next(conn, "hello").await?;
        let theirs = Hello::parse(&peer_bytes)?;
        if theirs.nonce == ours.nonce {
            return Err(Error::Protocol(format!(
                "peer {peer} echoed our handshake nonce"
            )));
        }
        let proof = compute_proof(cookie, side, &peer_bytes, &our_bytes);
        conn.sender.send(encode_proof(&proof)).await?;
        let got = parse_proof(&next(conn, "proof").await?)?;
        verify_proof(cookie, side.other(), &our_bytes, &peer_bytes, &got, &peer)?;
        Ok(theirs)
    };
    tokio::time::timeout(timeout, run).await.map_err(|_| {
        Error::Transport(format!("handshake with {peer} timed out after {timeout:?}"))
    })?
}

async fn next(conn: &mut Connection, what: &str) -> Result<Bytes> {
    match conn.receiver.recv().await? {
        Some(f) if f.len() <= MAX_HANDSHAKE_FRAME_LEN => Ok(f),
        Some(f) => Err(Error::Protocol(format!(
            "a handshake {what} of {} bytes from {}",
            f.len(),
            conn.peer
        ))),
        None => Err(Error::Protocol(format!(
            "peer {} closed the connection during the handshake (before its {what})",
            conn.peer
        ))),
    }
}
