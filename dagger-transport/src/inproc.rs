//! The [`InProcess`] transport: frames over tokio channels inside one process.
//!
//! Addresses are names in a process-global registry, written `inproc://name`. Listening on
//! `inproc://` (no name) picks a fresh unique name. Frames are handed over as [`Bytes`]
//! without copying; a `send_many` batch crosses the channel as one message, so a burst of
//! small frames wakes the receiver once.
//!
//! The cookie is checked as over TCP, but cheaply: the connecting side passes its cookie to
//! the listener, which compares it in constant time. Nothing leaves the process, so there is
//! nothing to hide it from. A wrong cookie is [`Error::Auth`] on both sides.

use crate::cookie::Cookie;
use crate::frame::{check_len, DEFAULT_MAX_FRAME_LEN};
use crate::handshake::{Hello, Role, DEFAULT_HANDSHAKE_TIMEOUT};
use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{
    Connection, Error, FrameReceiver, FrameSender, Result, Transport, TransportListener,
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The address prefix of in-process listeners.
pub const INPROC_SCHEME: &str = "inproc://";
/// Batches in flight per direction before a sender waits for the receiver.
const CHANNEL_BATCHES: usize = 1024;
/// Connection requests waiting for `accept`.
const PENDING_CONNECTS: usize = 64;

/// Frames over in-process channels, authenticated by the cluster cookie.
///
/// ```
/// use dagger_core::Transport;
/// use dagger_transport::InProcess;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let t = InProcess::new("cookie");
/// let mut listener = t.listen("inproc://doc-example").await?;
/// assert_eq!(listener.local_addr(), "inproc://doc-example");
/// let (client, server) = tokio::join!(t.connect("inproc://doc-example"), listener.accept());
/// let (mut client, mut server) = (client?, server?);
/// client.sender.send("ping".into()).await?;
/// assert_eq!(server.receiver.recv().await?.as_deref(), Some(&b"ping"[..]));
/// # Ok::<(), dagger_core::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct InProcess {
    cookie: Cookie,
    max_frame_len: usize,
    handshake_timeout: Duration,
    role: Role,
    info: Bytes,
}

impl InProcess {
    /// An in-process transport for the cluster whose secret is `cookie`, with the same
    /// defaults as [`Tcp::new`](crate::Tcp::new).
    pub fn new(cookie: impl Into<Cookie>) -> Self {
        InProcess {
            cookie: cookie.into(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            role: Role::Client,
            info: Bytes::new(),
        }
    }

    /// Sets the largest frame payload a sender accepts.
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets how long `connect` waits for the listener to accept.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets the role announced to peers.
    pub fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Sets the opaque info announced to peers.
    pub fn info(mut self, info: Bytes) -> Self {
        self.info = info;
        self
    }

    /// Registers a listener under `addr` (`inproc://name`, or `inproc://` for a fresh name).
    ///
    /// # Errors
    /// [`Error::Argument`] for an address without the `inproc://` prefix;
    /// [`Error::Transport`] when the name is already taken in this process.
    pub fn bind(&self, addr: &str) -> Result<InProcessListener> {
        let name = addr.strip_prefix(INPROC_SCHEME).ok_or_else(|| {
            Error::Argument(format!(
                "in-process address {addr:?} must start with {INPROC_SCHEME}"
            ))
        })?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let name = if name.is_empty() {
            format!("anon-{id}")
        } else {
            name.to_string()
        };
        let addr = format!("{INPROC_SCHEME}{name}");
        let (tx, rx) = mpsc::channel(PENDING_CONNECTS);
        let mut reg = registry();
        if reg.contains_key(&addr) {
            return Err(Error::Transport(format!(
                "address {addr} is already in use in this process"
            )));
        }
        reg.insert(addr.clone(), (id, tx));
        Ok(InProcessListener {
            addr,
            id,
            requests: rx,
            me: self.clone(),
            accepted: 0,
        })
    }

    /// Connects to the listener at `addr` and returns the connection with its hello.
    ///
    /// # Errors
    /// [`Error::Transport`] when nothing listens at `addr` or it does not accept in time;
    /// [`Error::Auth`] when the listener's cookie differs.
    pub async fn connect_with_hello(&self, addr: &str) -> Result<(Connection, Hello)> {
        let listener = registry().get(addr).map(|(_, tx)| tx.clone());
        let listener = listener
            .ok_or_else(|| Error::Transport(format!("no in-process listener at {addr}")))?;
        let (to_server, server_rx) = channel(self.max_frame_len);
        let (server_tx, from_server) = channel(self.max_frame_len);
        let (reply, answer) = oneshot::channel();
        let request = Request {
            cookie: self.cookie.clone(),
            hello: Hello::new(self.role, self.info.clone()),
            halves: (server_tx, server_rx),
            reply,
        };
        let gone = || Error::Transport(format!("in-process listener at {addr} closed"));
        let attempt = async {
            listener.send(request).await.map_err(|_| gone())?;
            answer.await.map_err(|_| gone())?
        };
        let theirs = tokio::time::timeout(self.handshake_timeout, attempt)
            .await
            .map_err(|_| {
                Error::Transport(format!(
                    "in-process listener at {addr} did not accept within {:?}",
                    self.handshake_timeout
                ))
            })??;
        let conn = Connection {
            sender: Box::new(to_server),
            receiver: Box::new(from_server),
            peer: addr.to_string(),
        };
        Ok((conn, theirs))
    }
}

#[async_trait]
impl Transport for InProcess {
    fn name(&self) -> &'static str {
        "in-process"
    }

    async fn listen(&self, addr: &str) -> Result<Box<dyn TransportListener>> {
        Ok(Box::new(self.bind(addr)?))
    }

    async fn connect(&self, addr: &str) -> Result<Connection> {
        Ok(self.connect_with_hello(addr).await?.0)
    }
}

type Registry = HashMap<String, (u64, mpsc::Sender<Request>)>;

static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    // A panic while holding this lock cannot leave the map inconsistent (each operation
    // is a single insert, get or remove), so a poisoned lock is safe to reuse.
    REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// What a connecting side hands the listener.
struct Request {
    cookie: Cookie,
    hello: Hello,
    halves: (InProcSender, InProcReceiver),
    reply: oneshot::Sender<Result<Hello>>,
}

/// A listener of the [`InProcess`] transport; dropping it frees its name.
#[derive(Debug)]
pub struct InProcessListener {
    addr: String,
    id: u64,
    requests: mpsc::Receiver<Request>,
    me: InProcess,
    accepted: u64,
}

impl InProcessListener {
    /// The next authenticated connection with the peer's hello.
    ///
    /// # Errors
    /// [`Error::Auth`] for a peer with another cookie (which gets [`Error::Auth`] too);
    /// [`Error::Transport`] when the peer gave up waiting. The listener stays usable.
    pub async fn accept_with_hello(&mut self) -> Result<(Connection, Hello)> {
        let Some(req) = self.requests.recv().await else {
            return Err(Error::Transport(format!("listener {} stopped", self.addr)));
        };
        self.accepted += 1;
        let peer = format!("{}#{}", self.addr, self.accepted);
        if !req.cookie.ct_eq(&self.me.cookie) {
            let e = Error::Auth(format!(
                "in-process peer {peer} presented a different cluster cookie"
            ));
            tracing::warn!(peer = %peer, error = %e, "refused connection");
            let _ = req.reply.send(Err(e.clone()));
            return Err(e);
        }
        let ours = Hello::new(self.me.role, self.me.info.clone());
        if req.reply.send(Ok(ours)).is_err() {
            return Err(Error::Transport(format!(
                "in-process peer {peer} gave up before it was accepted"
            )));
        }
        let (sender, receiver) = req.halves;
        Ok((
            Connection {
                sender: Box::new(sender),
                receiver: Box::new(receiver),
                peer,
            },
            req.hello,
        ))
    }
}

impl Drop for InProcessListener {
    fn drop(&mut self) {
        let mut reg = registry();
        if reg.get(&self.addr).is_some_and(|(id, _)| *id == self.id) {
            reg.remove(&self.addr);
        }
    }
}

#[async_trait]
impl TransportListener for InProcessListener {
    fn local_addr(&self) -> String {
        self.addr.clone()
    }

    async fn accept(&mut self) -> Result<Connection> {
        Ok(self.accept_with_hello().await?.0)
    }
}

/// One channel message: a single frame or a whole `send_many` batch.
enum Batch {
    One(Bytes),
    Many(Vec<Bytes>),
}

fn channel(max_len: usize) -> (InProcSender, InProcReceiver) {
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    (
        InProcSender { tx, max_len },
        InProcReceiver {
            rx,
            pending: VecDeque::new(),
        },
    )
}

struct InProcSender {
    tx: mpsc::Sender<Batch>,
    max_len: usize,
}

#[async_trait]
impl FrameSender for InProcSender {
    async fn send(&mut self, frame: Bytes) -> Result<()> {
        check_len(frame.len(), self.max_len)?;
        self.tx.send(Batch::One(frame)).await.map_err(|_| closed())
    }

    async fn send_many(&mut self, frames: Vec<Bytes>) -> Result<()> {
        for f in &frames {
            check_len(f.len(), self.max_len)?;
        }
        if frames.is_empty() {
            return Ok(());
        }
        self.tx
            .send(Batch::Many(frames))
            .await
            .map_err(|_| closed())
    }
}

fn closed() -> Error {
    Error::Transport("in-process peer closed the connection".into())
}

struct InProcReceiver {
    rx: mpsc::Receiver<Batch>,
    pending: VecDeque<Bytes>,
}

#[async_trait]
impl FrameReceiver for InProcReceiver {
    async fn recv(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(Some(f));
            }
            match self.rx.recv().await {
                Some(Batch::One(f)) => return Ok(Some(f)),
                Some(Batch::Many(v)) => self.pending.extend(v),
                None => return Ok(None),
            }
        }
    }
}
