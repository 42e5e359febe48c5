// Its own test binary: it installs a process-global tracing subscriber (set once per
// process) to check that faults are logged, which must not catch other tests' events.
//! Bad bytes from one peer close that peer's connection with a logged, typed error; the
//! listener and every other connection keep serving.
//! (Reference: DESIGN.md, "Bad input and faults".)

use bytes::Bytes;
use dagger_core::{Connection, Error, Transport, TransportListener};
use dagger_transport::frame::FrameDecoder;
use dagger_transport::handshake::{self, Hello, Role, Side, PROTOCOL_VERSION};
use dagger_transport::{Cookie, Tcp};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{span, Event, Level, Metadata};

const MAX: usize = 1024;
const COOKIE: &str = "bad-input-cookie";

/// Records the fields of every warning, so the test can check that faults are logged.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Fields(String);
impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        *m.level() <= Level::WARN
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut f = Fields(String::new());
        e.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn warnings() -> &'static Warnings {
    static W: OnceLock<Warnings> = OnceLock::new();
    W.get_or_init(|| {
        let w = Warnings::default();
        tracing::subscriber::set_global_default(w.clone()).unwrap();
        w
    })
}

/// What the server saw, one line per accept failure or finished connection.
async fn serve(
    mut l: Box<dyn TransportListener>,
    events: mpsc::UnboundedSender<Result<String, Error>>,
) {
    loop {
        match l.accept().await {
            Ok(conn) => {
                let events = events.clone();
                tokio::spawn(async move {
                    let r = echo(conn).await;
                    let _ = events.send(r);
                });
            }
            Err(e) => {
                let _ = events.send(Err(e));
            }
        }
    }
}

async fn echo(mut conn: Connection) -> Result<String, Error> {
    let mut n = 0;
    while let Some(f) = conn.receiver.recv().await? {
        conn.sender.send(f).await?;
        n += 1;
    }
    Ok(format!("{} closed cleanly after {n} frames", conn.peer))
}

/// A raw socket that completed a genuine handshake, so what it sends next reaches the
/// connection's frame decoder.
async fn authenticated_raw(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let hello = Hello::new(Role::Client, Bytes::new());
    let cookie = Cookie::from(COOKIE);
    handshake::perform(
        &mut s,
        &mut FrameDecoder::default(),
        &cookie,
        Side::Initiator,
        &hello,
        addr,
    )
    .await
    .unwrap();
    s
}

/// Waits until the server closes `s` (EOF or reset).
async fn closed_by_server(mut s: TcpStream) {
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "the server did not close a connection that sent bad bytes"
    );
}

async fn next(
    events: &mut mpsc::UnboundedReceiver<Result<String, Error>>,
) -> Result<String, Error> {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("server event")
        .expect("server alive")
}

#[test]
fn bad_clients_are_closed_and_a_good_client_is_still_served() {
    let warnings = warnings();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tcp = Tcp::new(COOKIE).max_frame_len(MAX);
        let l = tcp.listen("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr();
        let (tx, mut events) = mpsc::unbounded_channel();
        tokio::spawn(serve(l, tx));

        // 1. Plain garbage instead of a hello: "GET " read as a length is far too big.
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: dagger\r\n\r\n")
            .await
            .unwrap();
        let e = next(&mut events).await.unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(m) if m.contains("exceeds")),
            "{e}"
        );
        closed_by_server(s).await;

        // 2. A well-framed hello with the wrong magic.
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(&[8, 0, 0, 0]).await.unwrap();
        s.write_all(b"garbage!").await.unwrap();
        let e = next(&mut events).await.unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(m) if m.contains("magic")),
            "{e}"
        );
        closed_by_server(s).await;

        // 3. A hello from a future protocol version: the error names both versions.
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let mut future = Hello::new(Role::Worker, Bytes::new());
        future.version = PROTOCOL_VERSION + 1;
        let h = future.encode().unwrap();
        s.write_all(&(h.len() as u32).to_le_bytes()).await.unwrap();
        s.write_all(&h).await.unwrap();
        let e = next(&mut events).await.unwrap_err();
        let want = [
            format!("version {}", PROTOCOL_VERSION + 1),
            format!("version {PROTOCOL_VERSION}"),
        ];
        assert!(
            matches!(&e, Error::Protocol(m) if want.iter().all(|w| m.contains(w.as_str()))),
            "{e}"
        );

        // 4. Authenticated, then an oversized length.
        let mut s = authenticated_raw(&addr).await;
        s.write_all(&((MAX as u32) + 1).to_le_bytes())
            .await
            .unwrap();
        let e = next(&mut events).await.unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(m) if m.contains(&format!("{}", MAX + 1))),
            "{e}"
        );
        closed_by_server(s).await;

        // 5. Authenticated, one good frame, then a frame cut short by the end of the stream.
        let mut s = authenticated_raw(&addr).await;
        s.write_all(&[2, 0, 0, 0, b'o', b'k']).await.unwrap();
        s.write_all(&100u32.to_le_bytes()).await.unwrap();
        s.write_all(&[0u8; 10]).await.unwrap();
        s.shutdown().await.unwrap();
        let e = next(&mut events).await.unwrap_err();
        assert!(
            matches!(&e, Error::Protocol(m) if m.contains("truncated") && m.contains("10 arrived")),
            "{e}"
        );

        // A good client is served normally after all of that.
        let mut good = tcp.connect(&addr).await.unwrap();
        let frames: Vec<Bytes> = (0..100u8)
            .map(|i| Bytes::from(vec![i; i as usize]))
            .collect();
        good.sender.send_many(frames.clone()).await.unwrap();
        for f in &frames {
            assert_eq!(&good.receiver.recv().await.unwrap().unwrap(), f);
        }
        drop(good);
        let done = next(&mut events).await.unwrap();
        assert!(done.contains("closed cleanly after 100 frames"), "{done}");
    });
    // Every fault was logged as a warning naming the peer and the error.
    let w = warnings.0.lock().unwrap().join("\n");
    assert!(
        w.contains("refused connection") && w.contains("magic"),
        "{w}"
    );
    assert!(
        w.contains("closing connection") && w.contains("truncated"),
        "{w}"
    );
    assert!(w.matches("peer=").count() >= 5, "{w}");
}
