//! The proof that a third-party transport plugs in: dagger-transport's conformance suite,
//! plus this transport's own promises (socket files, bad input).

use bytes::Bytes;
use custom_transport::UnixSocket;
use dagger_core::{Error, Transport};
use dagger_transport::conformance::{self, Subjects};
use dagger_transport::frame::FrameDecoder;
use dagger_transport::handshake::{self, Hello, Role, Side};
use dagger_transport::Cookie;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

fn dir_addr(dir: &tempfile::TempDir) -> String {
    dir.path().to_str().expect("a UTF-8 temp dir").to_string()
}

fn files_in(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path()).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let addr = dir_addr(&dir);
    let (good, wrong) = (UnixSocket::new("cookie"), UnixSocket::new("not the cookie"));
    let limited = UnixSocket::new("cookie").max_frame_len(1000);
    let subjects = Subjects {
        transport: &good,
        wrong_cookie: &wrong,
        limited: &limited,
        max_frame_len: 1000,
        listen_addr: &addr,
    };
    if let Err(f) = conformance::run_all(&subjects).await {
        panic!("{f}");
    }
    assert_eq!(files_in(&dir), 0, "every listener removed its socket file");
}

#[tokio::test]
async fn passes_on_a_current_thread_runtime_too() {
    // One thread: both ends of each check must make progress by taking turns.
    let dir = tempfile::tempdir().unwrap();
    let addr = dir_addr(&dir);
    let t = UnixSocket::new("k");
    if let Err(f) = conformance::frames_round_trip(&t, &addr).await {
        panic!("{f}");
    }
    if let Err(f) = conformance::peer_drop_ends_stream(&t, &addr).await {
        panic!("{f}");
    }
}

#[tokio::test]
async fn a_taken_path_is_refused_and_freed_when_its_listener_drops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixed.sock");
    let addr = path.to_str().unwrap();
    let t = UnixSocket::new("k");
    let l = t.bind(addr).unwrap();
    assert_eq!(l.path(), path);
    let e = t.bind(addr).unwrap_err();
    assert!(
        matches!(&e, Error::Transport(m) if m.contains("cannot listen")),
        "{e}"
    );
    drop(l);
    assert!(!path.exists());
    let e = t.connect(addr).await.unwrap_err();
    assert!(matches!(&e, Error::Transport(m) if m.contains(addr)), "{e}");
    drop(t.bind(addr).unwrap());
    assert!(matches!(t.bind(""), Err(Error::Argument(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_length_from_an_authenticated_peer_closes_only_that_connection() {
    const MAX: usize = 1024;
    let dir = tempfile::tempdir().unwrap();
    let t = UnixSocket::new("k").max_frame_len(MAX);
    let mut l = t.bind(&dir_addr(&dir)).unwrap();
    let addr = l.path().to_str().unwrap().to_string();
    // A raw stream that completes a genuine handshake, then claims a frame over the limit.
    let raw = async {
        let mut s = UnixStream::connect(&addr).await.unwrap();
        let hello = Hello::new(Role::Client, Bytes::new());
        let mut dec = FrameDecoder::default();
        handshake::perform(
            &mut s,
            &mut dec,
            &Cookie::from("k"),
            Side::Initiator,
            &hello,
            &addr,
        )
        .await
        .unwrap();
        s.write_all(&((MAX as u32) + 1).to_le_bytes())
            .await
            .unwrap();
        s
    };
    let (mut s, server) = tokio::join!(raw, dagger_core::TransportListener::accept(&mut l));
    let mut server = server.unwrap();
    let e = server.receiver.recv().await.unwrap_err();
    assert!(
        matches!(&e, Error::Protocol(m) if m.contains("exceeds")),
        "{e}"
    );
    // The server shut the socket down: the raw peer sees the end.
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).await.unwrap(), 0);
    // The listener goes on serving.
    let (c, a) = tokio::join!(
        t.connect(&addr),
        dagger_core::TransportListener::accept(&mut l)
    );
    let (mut c, mut a) = (c.unwrap(), a.unwrap());
    c.sender
        .send(Bytes::from_static(b"still here"))
        .await
        .unwrap();
    assert_eq!(
        a.receiver.recv().await.unwrap().as_deref(),
        Some(&b"still here"[..])
    );
}
