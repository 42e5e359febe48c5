//! The two halves of an established TCP connection.

use crate::frame::{check_len, FrameDecoder};
use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{Error, FrameReceiver, FrameSender, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Write buffer size: large enough to coalesce thousands of small frames per system call.
const WRITE_BUFFER: usize = 64 << 10;

/// The sending half: frames go through a buffer that is flushed once per call.
pub(crate) struct TcpSender {
    w: BufWriter<OwnedWriteHalf>,
    max_len: usize,
    peer: String,
}

impl TcpSender {
    pub(crate) fn new(w: OwnedWriteHalf, max_len: usize, peer: String) -> Self {
        TcpSender {
            w: BufWriter::with_capacity(WRITE_BUFFER, w),
            max_len,
            peer,
        }
    }

    async fn write(&mut self, frame: &[u8]) -> Result<()> {
        let len = check_len(frame.len(), self.max_len)?;
        let r = async {
            self.w.write_all(&len.to_le_bytes()).await?;
            self.w.write_all(frame).await
        };
        r.await.map_err(|e| self.io_err(e))
    }

    async fn flush(&mut self) -> Result<()> {
        self.w.flush().await.map_err(|e| self.io_err(e))
    }

    fn io_err(&self, e: std::io::Error) -> Error {
        Error::Transport(format!("send to {}: {e}", self.peer))
    }
}

#[async_trait]
impl FrameSender for TcpSender {
    async fn send(&mut self, frame: Bytes) -> Result<()> {
        self.write(&frame).await?;
        self.flush().await
    }

    /// Writes every frame into the buffer and flushes once. All lengths are checked first,
    /// so an oversized frame is refused before any frame of the batch is written.
    async fn send_many(&mut self, frames: Vec<Bytes>) -> Result<()> {
        for f in &frames {
            check_len(f.len(), self.max_len)?;
        }
        for f in &frames {
            self.write(f).await?;
        }
        self.flush().await
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
