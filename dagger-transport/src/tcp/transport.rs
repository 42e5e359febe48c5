//! [`Tcp`]: the transport's settings, and how a fresh socket becomes a connection.

use crate::cookie::Cookie;
use crate::frame::{FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use crate::framed;
use crate::handshake::{self, Hello, Role, Side, DEFAULT_HANDSHAKE_TIMEOUT};
use bytes::Bytes;
use dagger_core::{Connection, Error, Result};
use std::time::Duration;
use tokio::net::tcp::OwnedReadHalf;
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

    /// Connects to `addr`, runs the handshake, and returns the connection with the peer's
    /// hello (its role and info).
    ///
    /// # Errors
    /// [`Error::Transport`] when the peer cannot be reached, the connection breaks or the
    /// timeout passes; [`Error::Auth`] for a wrong cookie; [`Error::Protocol`] when the peer
    /// does not speak this protocol or version.
    pub async fn connect_with_hello(&self, addr: &str) -> Result<(Connection, Hello)> {
        let connect = TcpStream::connect(addr);
        let stream = framed::connect_within(self.handshake_timeout, addr, connect).await?;
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
        let theirs = handshake::perform_within(
            self.handshake_timeout,
            &mut stream,
            &mut decoder,
            &self.cookie,
            side,
            &ours,
            &peer,
        )
        .await?;
        let (r, w) = stream.into_split();
        let conn = framed::connection(r, w, decoder, self.max_frame_len, peer, shut_down);
        Ok((conn, theirs))
    }
}

/// Shuts both directions, so the peer sees the close even while our sending half is still
/// alive elsewhere.
fn shut_down(r: &OwnedReadHalf) {
    let _ = socket2::SockRef::from(r.as_ref()).shutdown(std::net::Shutdown::Both);
}
