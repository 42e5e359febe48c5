//! [`UnixSocket`]: the transport's settings, and how a fresh stream becomes a connection.

use bytes::Bytes;
use dagger_core::{Connection, Result};
use dagger_transport::frame::{FrameDecoder, DEFAULT_MAX_FRAME_LEN};
use dagger_transport::framed;
use dagger_transport::handshake::{self, Hello, Role, Side, DEFAULT_HANDSHAKE_TIMEOUT};
use dagger_transport::Cookie;
use std::time::Duration;
use tokio::net::unix::OwnedReadHalf;
use tokio::net::UnixStream;

/// Frames over Unix domain sockets, authenticated by the cluster cookie with
/// dagger-transport's handshake, in dagger-transport's frame format.
///
/// A frame longer than the maximum is refused by the sender, and by the receiver before it
/// allocates anything; a peer that cannot prove it knows the cookie never becomes a
/// connection.
///
/// ```
/// use custom_transport::UnixSocket;
/// use dagger_core::{Error, Transport};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let addr = dir.path().join("server.sock");
/// let addr = addr.to_str().unwrap();
/// let (right, wrong) = (UnixSocket::new("right"), UnixSocket::new("wrong"));
/// let mut listener = right.listen(addr).await?;
/// assert_eq!(listener.local_addr(), addr); // a file path is used as given
/// let (bad, refused) = tokio::join!(wrong.connect(addr), listener.accept());
/// assert!(matches!(bad, Err(Error::Auth(_))) && matches!(refused, Err(Error::Auth(_))));
/// drop(listener);
/// assert!(!dir.path().join("server.sock").exists()); // the listener removed its socket
/// # Ok::<(), dagger_core::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct UnixSocket {
    cookie: Cookie,
    max_frame_len: usize,
    handshake_timeout: Duration,
}

impl UnixSocket {
    /// A Unix socket transport for the cluster whose secret is `cookie`, with
    /// dagger-transport's defaults: frames up to [`DEFAULT_MAX_FRAME_LEN`] and a
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub fn new(cookie: impl Into<Cookie>) -> Self {
        UnixSocket {
            cookie: cookie.into(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
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

    /// Connects to the socket at `path` and runs the handshake.
    pub(crate) async fn dial(&self, path: &str) -> Result<Connection> {
        let connect = UnixStream::connect(path);
        let stream = framed::connect_within(self.handshake_timeout, path, connect).await?;
        self.establish(stream, Side::Initiator, path.to_string())
            .await
    }

    /// Runs the handshake on a fresh stream and splits it into a connection.
    pub(crate) async fn establish(
        &self,
        mut stream: UnixStream,
        side: Side,
        peer: String,
    ) -> Result<Connection> {
        let ours = Hello::new(Role::Client, Bytes::new());
        let mut decoder = FrameDecoder::default();
        handshake::perform_within(
            self.handshake_timeout,
            &mut stream,
            &mut decoder,
            &self.cookie,
            side,
            &ours,
            &peer,
        )
        .await?;
        // The decoder switches from the handshake's small limit to the configured one.
        let (r, w) = stream.into_split();
        Ok(framed::connection(
            r,
            w,
            decoder,
            self.max_frame_len,
            peer,
            shut_down,
        ))
    }
}

/// Shuts both directions after bad input, so the peer sees the close even while our
/// sending half is still alive elsewhere.
fn shut_down(r: &OwnedReadHalf) {
    let _ = socket2::SockRef::from(r.as_ref()).shutdown(std::net::Shutdown::Both);
}
