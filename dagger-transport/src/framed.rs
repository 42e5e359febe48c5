//! Frames over any byte stream: connecting one, and the two halves of an established
//! connection.
//!
//! [`FramedSender`] and [`FramedReceiver`] turn the write and read halves of a socket (TCP,
//! Unix domain, anything `AsyncWrite` / `AsyncRead`) into a [`Connection`]'s
//! [`FrameSender`] and [`FrameReceiver`], with the wire format of [`frame`](crate::frame).
//! [`Tcp`](crate::Tcp) is built from them; so can a third party's transport be: it runs
//! the [`handshake`](crate::handshake) on its own stream (opened with [`connect_within`]),
//! splits it, and hands the halves to [`connection`].
//!
//! ```
//! use dagger_core::{FrameReceiver, FrameSender};
//! use dagger_transport::frame::FrameDecoder;
//! use dagger_transport::framed::{FramedReceiver, FramedSender};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (a, b) = tokio::io::duplex(1024);
//! let mut tx = FramedSender::new(a, 1 << 10, "b".into());
//! let mut rx = FramedReceiver::new(b, FrameDecoder::new(1 << 10), "a".into());
//! tx.send_many(vec!["one".into(), "two".into()]).await?;
//! drop(tx); // the end of the stream is a clean end of frames
//! assert_eq!(rx.recv().await?.as_deref(), Some(&b"one"[..]));
//! assert_eq!(rx.recv().await?.as_deref(), Some(&b"two"[..]));
//! assert_eq!(rx.recv().await?, None);
//! # Ok::<(), dagger_core::Error>(()) }).unwrap();
//! ```

use crate::frame::{check_len, FrameDecoder};
use async_trait::async_trait;
use bytes::{BufMut, Bytes, BytesMut};
use dagger_core::{Connection, Error, FrameReceiver, FrameSender, Result};
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Awaits `connect` (opening a stream to `addr`) for at most `timeout`, with errors that
/// name the address.
///
/// # Errors
/// [`Error::Transport`] when `connect` fails or the timeout passes first.
pub async fn connect_within<S>(
    timeout: Duration,
    addr: &str,
    connect: impl Future<Output = std::io::Result<S>>,
) -> Result<S> {
    tokio::time::timeout(timeout, connect)
        .await
        .map_err(|_| Error::Transport(format!("connecting to {addr} timed out after {timeout:?}")))?
        .map_err(|e| Error::Transport(format!("cannot connect to {addr}: {e}")))
}

/// The connection made of the halves `r` and `w` of a stream that finished its handshake.
///
/// `decoder` is the one the handshake read with (it may already hold frames the peer sent
/// right after its proof); from here on it accepts payloads up to `max_frame_len`, as the
/// sender does. `shutdown` is the receiver's [hook](FramedReceiver::shutdown_with) for bad
/// input.
pub fn connection<R, W>(
    r: R,
    w: W,
    mut decoder: FrameDecoder,
    max_frame_len: usize,
    peer: String,
    shutdown: fn(&R),
) -> Connection
where
    R: AsyncRead + Unpin + Send + Sync + 'static,
    W: AsyncWrite + Unpin + Send + Sync + 'static,
{
    decoder.set_max_len(max_frame_len);
    let receiver = FramedReceiver::new(r, decoder, peer.clone()).shutdown_with(shutdown);
    Connection {
        sender: Box::new(FramedSender::new(w, max_frame_len, peer.clone())),
        receiver: Box::new(receiver),
        peer,
    }
}

/// Bytes gathered before a write: large enough to coalesce thousands of small frames per
/// system call.
const WRITE_BUFFER: usize = 64 << 10;
/// Payloads at least this long are written straight from their own buffer, not copied.
const DIRECT_WRITE: usize = 16 << 10;

/// The sending half: small frames are gathered into one buffer (header and payload side by
/// side, without an await per frame) and written once per call.
///
/// Not cancel safe: dropping a `send` future half-way can leave part of a frame on the
/// wire, after which the peer sees a malformed stream. A send error means the connection is
/// unusable (as the trait says).
pub struct FramedSender<W> {
    w: W,
    buf: BytesMut,
    max_len: usize,
    peer: String,
}

impl<W> fmt::Debug for FramedSender<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramedSender")
            .field("peer", &self.peer)
            .field("max_len", &self.max_len)
            .finish_non_exhaustive()
    }
}

impl<W: AsyncWrite + Unpin + Send + Sync> FramedSender<W> {
    /// A sender writing to `w` that refuses payloads longer than `max_len`; `peer` names
    /// the other end in errors.
    pub fn new(w: W, max_len: usize, peer: String) -> Self {
        FramedSender {
            w,
            buf: BytesMut::with_capacity(WRITE_BUFFER),
            max_len,
            peer,
        }
    }

    /// Writes frames whose lengths were already checked, then flushes.
    async fn write_frames(&mut self, frames: &[Bytes]) -> Result<()> {
        let r = self.write_checked(frames).await;
        if r.is_err() {
            self.buf.clear();
        }
        r.map_err(|e| Error::Transport(format!("send to {}: {e}", self.peer)))
    }

    async fn write_checked(&mut self, frames: &[Bytes]) -> std::io::Result<()> {
        for f in frames {
            // ok: every caller checked the length against max_len (<= u32::MAX) first.
            self.buf.put_u32_le(f.len() as u32);
            if f.len() >= DIRECT_WRITE {
                self.w.write_all(&self.buf).await?;
                self.buf.clear();
                self.w.write_all(f).await?;
            } else {
                self.buf.put_slice(f);
                if self.buf.len() >= WRITE_BUFFER {
                    self.w.write_all(&self.buf).await?;
                    self.buf.clear();
                }
            }
        }
        if !self.buf.is_empty() {
            self.w.write_all(&self.buf).await?;
            self.buf.clear();
        }
        // A no-op on sockets; a buffered writer would otherwise hold the frames back.
        self.w.flush().await
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send + Sync> FrameSender for FramedSender<W> {
    async fn send(&mut self, frame: Bytes) -> Result<()> {
        check_len(frame.len(), self.max_len)?;
        self.write_frames(std::slice::from_ref(&frame)).await
    }

    /// Gathers every frame into the buffer and writes it in as few system calls as
    /// possible. All lengths are checked first, so an oversized frame is refused before any
    /// frame of the batch is written.
    async fn send_many(&mut self, frames: Vec<Bytes>) -> Result<()> {
        for f in &frames {
            check_len(f.len(), self.max_len)?;
        }
        self.write_frames(&frames).await
    }
}

/// The receiving half: stream bytes land directly in the frame decoder.
///
/// A malformed stream (an oversized length, a stream truncated inside a frame) or a read
/// error fails the receiver: it logs a `tracing::warn!` once, runs its
/// [shutdown hook](Self::shutdown_with) and returns the typed error, now and on every
/// later call.
pub struct FramedReceiver<R> {
    r: R,
    dec: FrameDecoder,
    peer: String,
    eof: bool,
    /// Set once the connection was closed for an error (so it is logged once).
    closed: bool,
    shutdown: fn(&R),
}

impl<R> fmt::Debug for FramedReceiver<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FramedReceiver")
            .field("peer", &self.peer)
            .field("buffered", &self.dec.buffered())
            .field("eof", &self.eof)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin + Send + Sync> FramedReceiver<R> {
    /// A receiver reading from `r` through `decoder` (which may already hold bytes read
    /// during a handshake); `peer` names the other end in errors and logs.
    pub fn new(r: R, decoder: FrameDecoder, peer: String) -> Self {
        FramedReceiver {
            r,
            dec: decoder,
            peer,
            eof: false,
            closed: false,
            shutdown: |_| {},
        }
    }

    /// Sets what to do to the stream when bad input closes the connection: typically shut
    /// the socket down in both directions, so the peer sees the close even while the
    /// sending half is still alive elsewhere. By default nothing is done.
    pub fn shutdown_with(mut self, hook: fn(&R)) -> Self {
        self.shutdown = hook;
        self
    }

    /// Closes the connection after bad input or a broken stream, once, with a warning.
    fn fail(&mut self, e: Error) -> Error {
        if !self.closed {
            self.closed = true;
            tracing::warn!(peer = %self.peer, error = %e, "closing connection");
            (self.shutdown)(&self.r);
            if !self.dec.is_failed() {
                self.dec.fail(e.clone());
            }
        }
        e
    }
}

#[async_trait]
impl<R: AsyncRead + Unpin + Send + Sync> FrameReceiver for FramedReceiver<R> {
    /// # Cancel safety
    /// Cancel safe: bytes already read stay in the decoder for the next call.
    async fn recv(&mut self) -> Result<Option<Bytes>> {
        loop {
            match self.dec.next_frame() {
                Ok(Some(f)) => return Ok(Some(f)),
                Ok(None) if self.eof => return Ok(None),
                Ok(None) => {}
                Err(e) => return Err(self.fail(e)),
            }
            match self.r.read_buf(self.dec.read_target()).await {
                Ok(0) => match self.dec.finish() {
                    Ok(()) => {
                        self.eof = true;
                        return Ok(None);
                    }
                    Err(e) => return Err(self.fail(e)),
                },
                Ok(_) => {}
                Err(e) => {
                    let e = Error::Transport(format!("receive from {}: {e}", self.peer));
                    return Err(self.fail(e));
                }
            }
        }
    }
}
