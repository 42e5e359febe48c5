//! The two halves of an established TCP connection.

use crate::frame::{check_len, FrameDecoder};
use async_trait::async_trait;
use bytes::{BufMut, Bytes, BytesMut};
use dagger_core::{Error, FrameReceiver, FrameSender, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

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
pub(crate) struct TcpSender {
    w: OwnedWriteHalf,
    buf: BytesMut,
    max_len: usize,
    peer: String,
}

impl TcpSender {
    pub(crate) fn new(w: OwnedWriteHalf, max_len: usize, peer: String) -> Self {
        TcpSender {
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
        Ok(())
    }
}

#[async_trait]
impl FrameSender for TcpSender {
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

/// The receiving half: socket bytes land directly in the frame decoder.
pub(crate) struct TcpReceiver {
    r: OwnedReadHalf,
    dec: FrameDecoder,
    peer: String,
    eof: bool,
    /// Set once the connection was closed for an error (so it is logged once).
    closed: bool,
}

impl TcpReceiver {
    pub(crate) fn new(r: OwnedReadHalf, dec: FrameDecoder, peer: String) -> Self {
        TcpReceiver {
            r,
            dec,
            peer,
            eof: false,
            closed: false,
        }
    }

    /// Closes the connection after bad input or a broken socket, once, with a warning.
    fn fail(&mut self, e: Error) -> Error {
        if !self.closed {
            self.closed = true;
            tracing::warn!(peer = %self.peer, error = %e, "closing connection");
            // Shut both directions so the peer sees the close even while our sending half
            // is still alive elsewhere.
            let _ = socket2::SockRef::from(self.r.as_ref()).shutdown(std::net::Shutdown::Both);
            if !self.dec.is_failed() {
                self.dec.fail(e.clone());
            }
        }
        e
    }
}

#[async_trait]
impl FrameReceiver for TcpReceiver {
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
