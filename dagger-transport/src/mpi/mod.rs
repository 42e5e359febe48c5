//! The [`Mpi`] transport (feature `mpi`): frames between the ranks of an MPI job.
//!
//! Addresses name a rank and a listener port on it: `mpi://<rank>` (port 0) or
//! `mpi://<rank>/<port>`; listening on `mpi://` picks a fresh port on this rank. A rank can
//! connect to itself, so one process can run the whole conformance suite.
//!
//! One thread per process (see [`progress`]) polls MPI and delivers what arrives; tokio
//! tasks send through it or, when MPI allows calls from any thread one at a time and the
//! thread is not polling, make the send themselves. An idle progress thread sleeps, and a
//! rank on the same host that sends to it wakes it through a futex in shared memory. A frame is sent with `MPI_Isend` from its own buffer and received into
//! a buffer of the probed size that becomes the frame: array blocks cross without a copy.
//! `send_many` packs frames up to 8 KiB into one message (a batch), so a burst of small
//! messages costs few MPI sends. Each connection then runs the same cookie handshake as
//! [`Tcp`](crate::Tcp) (hello, HMAC proof) before it is handed out.
//!
//! # Bad input
//! A malformed message (unknown tag, truncated batch, oversized frame) is a typed
//! [`Error::Protocol`](dagger_core::Error::Protocol) for that connection, never a panic.

// Bottom to top: how this process was started (by mpirun or srun?);
mod launch;
// tags, batches and addresses;
mod wire;
// what tokio tasks and the progress thread pass each other;
mod cmd;
// how the progress thread waits when idle, and how it is woken; sends in flight;
mod doorbell;
mod idle;
mod sends;
// the thread that owns the communicator;
mod progress;
// a connection's halves and the handshake over them.
mod conn;

pub use launch::{launched_by_mpi, MpiLaunch};
pub use wire::MPI_SCHEME;

use crate::cookie::Cookie;
use crate::frame::DEFAULT_MAX_FRAME_LEN;
use crate::handshake::{Hello, Role, Side, DEFAULT_HANDSHAKE_TIMEOUT};
use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{Connection, Error, Result, Transport, TransportListener};
use progress::{world, Cmd, Link};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Frames between MPI ranks, authenticated by the cluster cookie.
///
/// ```no_run
/// use dagger_core::Transport;
/// use dagger_transport::Mpi;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mpi = Mpi::new("cookie");
/// let mut listener = mpi.listen("mpi://").await?; // mpi://<this rank>/<fresh port>
/// let addr = listener.local_addr();
/// let (client, server) = tokio::join!(mpi.connect(&addr), listener.accept());
/// client?.sender.send("ping".into()).await?;
/// assert_eq!(server?.receiver.recv().await?.as_deref(), Some(&b"ping"[..]));
/// # Ok::<(), dagger_core::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Mpi {
    cookie: Cookie,
    max_frame_len: usize,
    handshake_timeout: Duration,
    role: Role,
    info: Bytes,
}

impl Mpi {
    /// An MPI transport for the cluster whose secret is `cookie`, with the same defaults as
    /// [`Tcp::new`](crate::Tcp::new). MPI itself starts on first use.
    pub fn new(cookie: impl Into<Cookie>) -> Self {
        Mpi {
            cookie: cookie.into(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            role: Role::Client,
            info: Bytes::new(),
        }
    }

    /// Sets the largest frame payload sent or accepted.
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets how long connecting plus the handshake may take.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets the role announced in this side's hello.
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// This process's rank and the job's size (starting MPI if needed).
    ///
    /// # Errors
    /// [`Error::Transport`] when MPI cannot be initialised.
    pub fn rank_and_size() -> Result<(i32, i32)> {
        let w = world()?;
        Ok((w.rank, w.size))
    }

    async fn establish(&self, link: Link, side: Side) -> Result<Connection> {
        let w = world()?;
        let mut conn = conn::connection(w, link, self.max_frame_len);
        let ours = Hello::new(self.role, self.info.clone());
        conn::handshake(&mut conn, &self.cookie, side, &ours, self.handshake_timeout).await?;
        Ok(conn)
    }
}

/// A listener of the [`Mpi`] transport. Dropping it stops accepting.
#[derive(Debug)]
pub struct MpiListener {
    transport: Mpi,
    addr: String,
    port: u32,
    links: mpsc::UnboundedReceiver<Link>,
}

impl Drop for MpiListener {
    fn drop(&mut self) {
        if let Ok(w) = world() {
            w.send(Cmd::Unlisten(self.port));
        }
    }
}

#[async_trait]
impl TransportListener for MpiListener {
    fn local_addr(&self) -> String {
        self.addr.clone()
    }

    async fn accept(&mut self) -> Result<Connection> {
        let link = self
            .links
            .recv()
            .await
            .ok_or_else(|| Error::Transport(format!("listener {} stopped", self.addr)))?;
        let r = self.transport.establish(link, Side::Acceptor).await;
        if let Err(e) = &r {
            tracing::warn!(listener = %self.addr, error = %e, "refused connection");
        }
        r
    }
}

async fn ask<T>(cmd: impl FnOnce(oneshot::Sender<Result<T>>) -> Cmd) -> Result<T> {
    let w = world()?;
    let (tx, rx) = oneshot::channel();
    w.send(cmd(tx));
    rx.await
        .map_err(|_| Error::Transport("the MPI progress thread stopped".into()))?
}

#[async_trait]
impl Transport for Mpi {
    fn name(&self) -> &'static str {
        "mpi"
    }

    async fn listen(&self, addr: &str) -> Result<Box<dyn TransportListener>> {
        let w = world()?;
        let port = match wire::parse_addr(addr)? {
            None => None,
            Some(a) if a.rank == w.rank => Some(a.port),
            Some(a) => {
                return Err(Error::Argument(format!(
                    "cannot listen on {addr}: this process is rank {}, not {}",
                    w.rank, a.rank
                )))
            }
        };
        let (port, links) = ask(|tx| Cmd::Listen(port, tx)).await?;
        let addr = wire::Addr { rank: w.rank, port }.to_url();
        Ok(Box::new(MpiListener {
            transport: self.clone(),
            addr,
            port,
            links,
        }))
    }

    async fn connect(&self, addr: &str) -> Result<Connection> {
        let w = world()?;
        let to = wire::parse_addr(addr)?.ok_or_else(|| {
            Error::Argument(format!("connect needs a rank: mpi://<rank>, not {addr:?}"))
        })?;
        if to.rank >= w.size {
            return Err(Error::Argument(format!(
                "{addr}: the job has {} ranks",
                w.size
            )));
        }
        let link = tokio::time::timeout(self.handshake_timeout, ask(|tx| Cmd::Connect(to, tx)))
            .await
            .map_err(|_| Error::Transport(format!("connecting to {addr} timed out")))??;
        self.establish(link, Side::Initiator).await
    }
}
