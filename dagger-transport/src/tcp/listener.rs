//! [`TcpListener`]: accepts sockets and handshakes with each one in the background.

use super::transport::Tcp;
use crate::handshake::{Hello, Side};
use async_trait::async_trait;
use dagger_core::{Connection, Error, Result, TransportListener};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

/// Handshakes running at once; beyond this, new sockets wait in the kernel's backlog, so a
/// flood of silent peers costs bounded memory.
const MAX_PENDING_HANDSHAKES: usize = 64;
/// Finished handshakes waiting for `accept`.
const READY_QUEUE: usize = 16;

type Accepted = Result<(Connection, Hello)>;

/// A listening TCP socket of the [`Tcp`] transport.
///
/// A background task accepts sockets and runs each handshake concurrently (under the
/// transport's timeout), so one slow or hostile peer never delays another. `accept` hands
/// out the results in completion order: a connection, or an `Err` for one failed attempt
/// (wrong cookie, garbage, timeout), after which the listener stays usable. Dropping the
/// listener closes the socket.
///
/// ```
/// use dagger_core::{Error, Transport, TransportListener};
/// use dagger_transport::Tcp;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let mut listener = Tcp::new("right").bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr();
/// let (wrong, right) = (Tcp::new("wrong"), Tcp::new("right"));
/// let (bad, refused) = tokio::join!(wrong.connect(&addr), listener.accept());
/// assert!(matches!(bad, Err(Error::Auth(_))) && matches!(refused, Err(Error::Auth(_))));
/// let (good, ok) = tokio::join!(right.connect(&addr), listener.accept());
/// assert!(good.is_ok() && ok.is_ok());
/// # Ok::<(), dagger_core::Error>(()) })?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpListener {
    local: SocketAddr,
    ready: mpsc::Receiver<Accepted>,
    task: JoinHandle<()>,
}

impl Tcp {
    /// Listens on `addr` (`host:port`; port 0 picks a free one) and returns the concrete
    /// listener, whose [`TcpListener::accept_with_hello`] also gives the peer's hello.
    ///
    /// # Errors
    /// [`Error::Transport`] when the address cannot be bound.
    pub async fn bind(&self, addr: &str) -> Result<TcpListener> {
        TcpListener::bind(self.clone(), addr).await
    }
}

impl TcpListener {
    async fn bind(tcp: Tcp, addr: &str) -> Result<TcpListener> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Transport(format!("cannot listen on {addr}: {e}")))?;
        let local = listener.local_addr().map_err(|e| {
            Error::Transport(format!("cannot read the address bound for {addr}: {e}"))
        })?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let task = tokio::spawn(accept_loop(listener, tcp, tx));
        Ok(TcpListener { local, ready, task })
    }

    /// The bound address (with the real port when asked for port 0).
    pub fn socket_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next authenticated connection with the peer's hello (its role and info).
    ///
    /// # Errors
    /// One failed attempt: [`Error::Auth`] (wrong cookie), [`Error::Protocol`] (garbage,
    /// version mismatch), [`Error::Transport`] (timeout, socket error). The listener stays
    /// usable.
    ///
    /// # Cancel safety
    /// Cancel safe: a connection not yet taken stays queued for the next call.
    pub async fn accept_with_hello(&mut self) -> Result<(Connection, Hello)> {
        match self.ready.recv().await {
            Some(r) => r,
            None => Err(Error::Transport(format!(
                "listener on {} stopped",
                self.local
            ))),
        }
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[async_trait]
impl TransportListener for TcpListener {
    fn local_addr(&self) -> String {
        self.local.to_string()
    }

    async fn accept(&mut self) -> Result<Connection> {
        Ok(self.accept_with_hello().await?.0)
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, tcp: Tcp, tx: mpsc::Sender<Accepted>) {
    let slots = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            _ = tx.closed() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => {
                let (tcp, tx) = (tcp.clone(), tx.clone());
                tokio::spawn(async move {
                    let r = tcp
                        .establish(stream, Side::Acceptor, addr.to_string())
                        .await;
                    if let Err(e) = &r {
                        tracing::warn!(peer = %addr, error = %e, "refused connection");
                    }
                    // The slot is held until `accept` has room for the result, which
                    // bounds handshakes plus unclaimed connections.
                    let _ = tx.send(r).await;
                    drop(slot);
                });
            }
            Err(e) => {
                // Typically out of file descriptors: report it, then back off instead of
                // spinning on a socket that keeps failing.
                tracing::warn!(error = %e, "accept failed");
                let e = Error::Transport(format!("accept failed: {e}"));
                if tx.send(Err(e)).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
