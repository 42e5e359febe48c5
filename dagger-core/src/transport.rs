//! The [`Transport`] trait: how processes of a cluster exchange frames.
//!
//! A transport moves whole frames (byte buffers) between two endpoints and authenticates the
//! peer. Message encoding is the caller's business. Implementations live in
//! `dagger-transport` (`InProcess`, `Tcp`); a third party adds another (RDMA, QUIC) by
//! implementing these traits.

use crate::error::Result;
use async_trait::async_trait;
use bytes::Bytes;
use std::fmt;

/// Sends frames to one peer, in order.
#[async_trait]
pub trait FrameSender: Send + Sync {
    /// Sends one frame. An error means the connection is unusable.
    async fn send(&mut self, frame: Bytes) -> Result<()>;

    /// Sends several frames, letting the transport coalesce them into fewer writes.
    async fn send_many(&mut self, frames: Vec<Bytes>) -> Result<()> {
        for f in frames {
            self.send(f).await?;
        }
        Ok(())
    }
}

/// Receives frames from one peer, in order.
#[async_trait]
pub trait FrameReceiver: Send + Sync {
    /// The next frame; `Ok(None)` when the peer closed the connection cleanly. A malformed
    /// frame is an error, after which the connection is closed.
    async fn recv(&mut self) -> Result<Option<Bytes>>;
}

/// An established, authenticated connection.
pub struct Connection {
    /// The sending half.
    pub sender: Box<dyn FrameSender>,
    /// The receiving half.
    pub receiver: Box<dyn FrameReceiver>,
    /// A printable name of the peer (an address).
    pub peer: String,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// Accepts connections.
#[async_trait]
pub trait TransportListener: Send + Sync {
    /// The address peers connect to.
    fn local_addr(&self) -> String;

    /// The next connection. A peer that fails the handshake (wrong cookie, garbage) is an
    /// `Err` for that attempt only: the listener stays usable.
    async fn accept(&mut self) -> Result<Connection>;
}

/// A way for processes to reach each other.
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// A short name (`"tcp"`, `"in-process"`).
    fn name(&self) -> &'static str;

    /// Listens on `addr` (format defined by the transport, e.g. `127.0.0.1:0`).
    async fn listen(&self, addr: &str) -> Result<Box<dyn TransportListener>>;

    /// Connects to a listener at `addr` and completes the handshake.
    async fn connect(&self, addr: &str) -> Result<Connection>;
}
