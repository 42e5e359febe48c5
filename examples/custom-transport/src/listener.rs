//! [`UnixSocketListener`]: accepts streams on a socket file and handshakes with each.

use crate::path::{socket_path, SocketFile};
use crate::socket::UnixSocket;
use async_trait::async_trait;
use dagger_core::{Connection, Error, Result, TransportListener};
use dagger_transport::handshake::Side;
use std::path::Path;

/// A listening Unix socket of the [`UnixSocket`] transport; dropping it closes the socket
/// and removes its file.
///
/// `accept` runs each handshake itself (under the transport's timeout), one at a time: a
/// simple design that suits a transport between processes of one machine. A failed
/// handshake is an `Err` from that `accept`; the listener stays usable. Not cancel safe:
/// dropping an `accept` future half-way through a handshake drops that connection.
#[derive(Debug)]
pub struct UnixSocketListener {
    // Declared before the file, so the socket closes before its file is removed.
    listener: tokio::net::UnixListener,
    file: SocketFile,
    transport: UnixSocket,
    accepted: u64,
}

impl UnixSocket {
    /// Listens on `addr` (a socket path, or a directory for a fresh socket inside it) and
    /// returns the concrete listener. Call it inside a tokio runtime.
    ///
    /// # Errors
    /// [`Error::Argument`] for an empty address; [`Error::Transport`] when the path cannot
    /// be bound (it exists already, say: a listener never removes a file it did not create).
    pub fn bind(&self, addr: &str) -> Result<UnixSocketListener> {
        let transport = self.clone();
        let path = socket_path(addr)?;
        let listener = tokio::net::UnixListener::bind(&path)
            .map_err(|e| Error::Transport(format!("cannot listen on {}: {e}", path.display())))?;
        Ok(UnixSocketListener {
            listener,
            file: SocketFile::new(path),
            transport,
            accepted: 0,
        })
    }
}

impl UnixSocketListener {
    /// The socket file this listener is bound to.
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

#[async_trait]
impl TransportListener for UnixSocketListener {
    fn local_addr(&self) -> String {
        self.file.addr()
    }

    async fn accept(&mut self) -> Result<Connection> {
        let (stream, _) = self
            .listener
            .accept()
            .await
            .map_err(|e| Error::Transport(format!("accept on {}: {e}", self.file.addr())))?;
        // Unix peers are usually unnamed: number them after the listener's path.
        self.accepted += 1;
        let peer = format!("{}#{}", self.file.addr(), self.accepted);
        self.transport.establish(stream, Side::Acceptor, peer).await
    }
}
