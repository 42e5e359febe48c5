//! The [`Tcp`] transport: length-prefixed frames over tokio TCP sockets.
//!
//! Connecting or accepting runs the [handshake](crate::handshake) under a timeout; only
//! then does a [`Connection`] exist. Each half is buffered: a receiver reads socket bytes
//! straight into its [`FrameDecoder`](crate::frame::FrameDecoder) (many frames per read),
//! and a sender writes through a `BufWriter`, flushing once per `send` or per
//! `send_many` batch — so streaming many small frames costs few system calls.
//!
//! # Bad input
//!
//! A receiver that meets a malformed stream (an oversized length, a stream truncated
//! inside a frame) logs a `tracing::warn!`, shuts the socket down in both directions and
//! returns [`Error::Protocol`]. Only that connection is affected: the listener and every
//! other connection keep serving.

mod listener;
mod stream;

#[cfg(test)]
mod test;

pub use listener::TcpListener;

use crate::cookie::Cookie;
use crate::frame::{FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use crate::handshake::{self, Hello, Role, Side, DEFAULT_HANDSHAKE_TIMEOUT};
use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{Connection, Error, Result, Transport, TransportListener};
use std::time::Duration;
use stream::{TcpReceiver, TcpSender};
use tokio::net::TcpStream;

/// Frames over TCP, authenticated by the cluster cookie.
///
/// ```
/// use dagger_core::Transport;
/// use dagger_transport::Tcp;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let tcp = Tcp::new("cluster-cookie");
/// let mut listener = tcp.listen("127.0.0.1:0").await?;
/// let addr = listener.local_addr(); // the real port, not 0
/// let (client, server) = tokio::join!(tcp.connect(&addr), listener.accept());
/// let (mut client, mut server) = (client?, server?);
/// client.sender.send_many(vec!["a".into(), "b".into()]).await?;
/// assert_eq!(server.receiver.recv().await?.as_deref(), Some(&b"a"[..]));
/// assert_eq!(server.receiver.recv().await?.as_deref(), Some(&b"b"[..]));
/// drop(client); // a clean close is Ok(None) at the other end
/// assert_eq!(server.receiver.recv().await?, None);
/// # Ok::<(), dagger_core::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Tcp {
    cookie: Cookie,
    max_frame_len: usize,
    handshake_timeout: Duration,
    nodelay: bool,
    role: Role,
    info: Bytes,
}

impl Tcp {
    /// A TCP transport for the cluster whose secret is `cookie`, with defaults: frames up to
    /// [`DEFAULT_MAX_FRAME_LEN`], a [`DEFAULT_HANDSHAKE_TIMEOUT`], `TCP_NODELAY` on, role
    /// [`Role::Client`] and empty hello info.
    pub fn new(cookie: impl Into<Cookie>) -> Self {
        Tcp {
            cookie: cookie.into(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            nodelay: true,
            role: Role::Client,
            info: Bytes::new(),
        }
    }

    /// Sets the largest frame payload sent or accepted (both ends should agree).
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets how long connecting plus the handshake may take.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Turns `TCP_NODELAY` on (the default: small messages go out at once) or off.
    pub fn nodelay(mut self, on: bool) -> Self {
        self.nodelay = on;
        self
    }

    /// Sets the role announced in this side's hello.
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Sets the opaque info sent in this side's hello (at most
    /// [`MAX_INFO_LEN`](crate::handshake::MAX_INFO_LEN) bytes).
    pub fn info(mut self, info: Bytes) -> Self {
        self.info = info;
        self
    }

    /// Listens on `addr` (`host:port`; port 0 picks a free one) and returns the concrete
    /// listener, whose [`TcpListener::accept_with_hello`] also gives the peer's hello.
    ///
    /// # Errors
    /// [`Error::Transport`] when the address cannot be bound.
    pub async fn bind(&self, addr: &str) -> Result<TcpListener> {
        TcpListener::bind(self.clone(), addr).await
    }

    /// Connects to `addr`, runs the handshake, and returns the connection with the peer's
    /// hello (its role and info).
    ///
    /// # Errors
    /// [`Error::Transport`] when the peer cannot be reached, the connection breaks or the
    /// timeout passes; [`Error::Auth`] for a wrong cookie; [`Error::Protocol`] when the peer
    /// does not speak this protocol or version.
    pub async fn connect_with_hello(&self, addr: &str) -> Result<(Connection, Hello)> {
        let connect = TcpStream::connect(addr);
        let stream = tokio::time::timeout(self.handshake_timeout, connect)
            .await
            .map_err(|_| {
                Error::Transport(format!(
                    "connecting to {addr} timed out after {:?}",
                    self.handshake_timeout
                ))
            })?
            .map_err(|e| Error::Transport(format!("cannot connect to {addr}: {e}")))?;
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| addr.to_string());
        self.establish(stream, Side::Initiator, peer).await
    }

    /// Runs the handshake on a fresh socket and splits it into a connection.
    pub(crate) async fn establish(
        &self,
        mut stream: TcpStream,
        side: Side,
        peer: String,
    ) -> Result<(Connection, Hello)> {
        stream
            .set_nodelay(self.nodelay)
            .map_err(|e| Error::Transport(format!("cannot set TCP_NODELAY on {peer}: {e}")))?;
        let ours = Hello::new(self.role, self.info.clone());
        let mut decoder = FrameDecoder::default();
        let run = handshake::perform(&mut stream, &mut decoder, &self.cookie, side, &ours, &peer);
        let theirs = tokio::time::timeout(self.handshake_timeout, run)
            .await
            .map_err(|_| {
                Error::Transport(format!(
                    "handshake with {peer} timed out after {:?}",
                    self.handshake_timeout
                ))
            })??;
        decoder.set_max_len(self.max_frame_len);
        let (r, w) = stream.into_split();
        let conn = Connection {
            sender: Box::new(TcpSender::new(w, self.max_frame_len, peer.clone())),
            receiver: Box::new(TcpReceiver::new(r, decoder, peer.clone())),
            peer,
        };
        Ok((conn, theirs))
    }
}

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
