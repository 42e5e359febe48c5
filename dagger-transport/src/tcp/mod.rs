//! The [`Tcp`] transport: length-prefixed frames over tokio TCP sockets.
//!
//! Connecting or accepting runs the [handshake](crate::handshake) under a timeout; only
//! then does a [`Connection`] exist. Each half is buffered: a receiver reads socket bytes
//! straight into its [`FrameDecoder`](crate::frame::FrameDecoder) (many frames per read),
//! and a sender gathers frames into one buffer, written once per `send` or per
//! `send_many` batch — so streaming many small frames costs few system calls (see
//! [`framed`](crate::framed)).
//!
//! # Bad input
//!
//! A receiver that meets a malformed stream (an oversized length, a stream truncated
//! inside a frame) logs a `tracing::warn!`, shuts the socket down in both directions and
//! returns [`Error::Protocol`](dagger_core::Error::Protocol). Only that connection is
//! affected: the listener and every other connection keep serving.

// Bottom to top:
// the transport value, and how a fresh socket becomes a connection;
mod transport;
// the listener, which accepts sockets and handshakes in the background.
mod listener;

#[cfg(test)]
mod test;

pub use listener::TcpListener;
pub use transport::Tcp;

use async_trait::async_trait;
use dagger_core::{Connection, Result, Transport, TransportListener};

#[async_trait]
impl Transport for Tcp {
    fn name(&self) -> &'static str {
        "tcp"
    }

    async fn listen(&self, addr: &str) -> Result<Box<dyn TransportListener>> {
        Ok(Box::new(self.bind(addr).await?))
    }

    async fn connect(&self, addr: &str) -> Result<Connection> {
        Ok(self.connect_with_hello(addr).await?.0)
    }
}
