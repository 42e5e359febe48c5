//! A conformance suite every [`Transport`] can run: ours (`Tcp`, `InProcess`) or a third
//! party's.
//!
//! Each function checks one behaviour of the [`Transport`] contract and panics (like an
//! `assert!`) when it does not hold, so it is meant to be called from a test. Each listens
//! on its own fresh address (`listen_addr`, e.g. `127.0.0.1:0` or `inproc://`).
//!
//! ```
//! use dagger_transport::{conformance, InProcess};
//! # fn main() -> std::io::Result<()> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let t = InProcess::new("c");
//! conformance::frames_round_trip(&t, "inproc://").await;
//! conformance::wrong_cookie_is_refused(&t, &InProcess::new("other"), "inproc://").await;
//! # });
//! # Ok(()) }
//! ```

use bytes::Bytes;
use dagger_core::{Connection, Error, Transport};

/// Connects a client to a fresh listener of `t` and returns (client, server).
///
/// # Panics
/// When listening, connecting or accepting fails.
pub async fn pair(t: &dyn Transport, listen_addr: &str) -> (Connection, Connection) {
    let mut l = t.listen(listen_addr).await.expect("listen"); // ok: a conformance check, failing loudly is its job
    let addr = l.local_addr();
    let (c, s) = tokio::join!(t.connect(&addr), l.accept());
    (c.expect("connect"), s.expect("accept")) // ok: a conformance check, failing loudly is its job
}

/// Frames of every size class arrive intact and in order, both ways, and `send_many`
/// keeps order within and across batches.
///
/// # Panics
/// When a frame is lost, reordered or changed.
pub async fn frames_round_trip(t: &dyn Transport, listen_addr: &str) {
    let (mut c, mut s) = pair(t, listen_addr).await;
    let sizes = [0usize, 1, 3, 4, 5, 100, 65_536, 1 << 20];
    let frames: Vec<Bytes> = sizes
        .iter()
        .map(|&n| Bytes::from((0..n).map(|i| (i * 7 + n) as u8).collect::<Vec<_>>()))
        .collect();
    let send = async {
        for f in &frames {
            c.sender.send(f.clone()).await.expect("send"); // ok: a conformance check, failing loudly is its job
        }
        c.sender.send_many(frames.clone()).await.expect("send_many"); // ok: a conformance check, failing loudly is its job
        c.sender
            .send_many(Vec::new())
            .await
            .expect("empty send_many"); // ok: a conformance check, failing loudly is its job
    };
    let recv = async {
        let mut got = Vec::new();
        for _ in 0..2 * frames.len() {
            got.push(s.receiver.recv().await.expect("recv").expect("a frame")); // ok: a conformance check, failing loudly is its job
        }
        got
    };
    let ((), got) = tokio::join!(send, recv);
    let want: Vec<Bytes> = frames.iter().chain(frames.iter()).cloned().collect();
    assert_eq!(got, want, "frames changed or reordered");
    // And back the other way.
    s.sender
        .send(Bytes::from_static(b"reply"))
        .await
        .expect("reply"); // ok: a conformance check, failing loudly is its job
    assert_eq!(
        c.receiver.recv().await.expect("recv reply").as_deref(), // ok: a conformance check, failing loudly is its job
        Some(&b"reply"[..])
    );
}

/// A client with another cookie is refused with [`Error::Auth`] on both sides, and the
/// same listener then serves a client with the right cookie.
///
/// # Panics
/// When the wrong client gets in, or the right one is refused afterwards.
pub async fn wrong_cookie_is_refused(
    good: &dyn Transport,
    wrong: &dyn Transport,
    listen_addr: &str,
) {
    let mut l = good.listen(listen_addr).await.expect("listen"); // ok: a conformance check, failing loudly is its job
    let addr = l.local_addr();
    let (bad, refused) = tokio::join!(wrong.connect(&addr), l.accept());
    assert!(
        matches!(bad, Err(Error::Auth(_))),
        "wrong-cookie client got {bad:?}"
    );
    assert!(
        matches!(refused, Err(Error::Auth(_))),
        "listener got {refused:?}"
    );
    let (ok, accepted) = tokio::join!(good.connect(&addr), l.accept());
    let (mut ok, mut accepted) = (
        ok.expect("good client"), // ok: a conformance check, failing loudly is its job
        accepted.expect("accept after a refusal"), // ok: a conformance check, failing loudly is its job
    );
    ok.sender
        .send(Bytes::from_static(b"in"))
        .await
        .expect("send"); // ok: a conformance check, failing loudly is its job
    assert_eq!(
        accepted.receiver.recv().await.expect("recv").as_deref(), // ok: a conformance check, failing loudly is its job
        Some(&b"in"[..])
    );
}

/// A frame above `max_frame_len` is refused by the sender with [`Error::Protocol`], and
/// the connection stays usable. `t` must be configured with that maximum.
///
/// # Panics
/// When the oversized frame is sent, or the connection breaks.
pub async fn oversized_send_is_refused(t: &dyn Transport, max_frame_len: usize, listen_addr: &str) {
    let (mut c, mut s) = pair(t, listen_addr).await;
    let big = Bytes::from(vec![0u8; max_frame_len + 1]);
    let r = c.sender.send(big.clone()).await;
    assert!(
        matches!(r, Err(Error::Protocol(_))),
        "oversized send gave {r:?}"
    );
    let r = c
        .sender
        .send_many(vec![Bytes::from_static(b"x"), big])
        .await;
    assert!(
        matches!(r, Err(Error::Protocol(_))),
        "oversized batch gave {r:?}"
    );
    c.sender
        .send(Bytes::from(vec![1u8; max_frame_len]))
        .await
        .expect("a frame of exactly the maximum"); // ok: a conformance check, failing loudly is its job
    assert_eq!(
        s.receiver.recv().await.expect("recv").map(|f| f.len()), // ok: a conformance check, failing loudly is its job
        Some(max_frame_len)
    );
}

/// When one side drops its connection, the other sees a clean end (`Ok(None)`) after the
/// frames sent before, and a later send fails instead of hanging.
///
/// # Panics
/// When the end of the stream is not seen, or a send to a dead peer succeeds forever.
pub async fn peer_drop_ends_stream(t: &dyn Transport, listen_addr: &str) {
    let (mut c, mut s) = pair(t, listen_addr).await;
    c.sender
        .send_many(vec![
            Bytes::from_static(b"last"),
            Bytes::from_static(b"words"),
        ])
        .await
        .expect("send"); // ok: a conformance check, failing loudly is its job
    drop(c);
    assert_eq!(
        s.receiver.recv().await.expect("recv").as_deref(), // ok: a conformance check, failing loudly is its job
        Some(&b"last"[..])
    );
    assert_eq!(
        s.receiver.recv().await.expect("recv").as_deref(), // ok: a conformance check, failing loudly is its job
        Some(&b"words"[..])
    );
    assert_eq!(s.receiver.recv().await.expect("end of stream"), None); // ok: a conformance check, failing loudly is its job
    assert_eq!(s.receiver.recv().await.expect("still the end"), None); // ok: a conformance check, failing loudly is its job
                                                                       // The first send may land in a kernel buffer; within a few, the broken pipe shows.
    let mut failed = false;
    for _ in 0..100 {
        if s.sender.send(Bytes::from(vec![0u8; 1024])).await.is_err() {
            failed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(failed, "sending to a dropped peer kept succeeding");
}

/// Runs every check above that needs only one transport configuration.
///
/// # Panics
/// As the checks it runs.
pub async fn run_all(t: &dyn Transport, wrong_cookie: &dyn Transport, listen_addr: &str) {
    frames_round_trip(t, listen_addr).await;
    wrong_cookie_is_refused(t, wrong_cookie, listen_addr).await;
    peer_drop_ends_stream(t, listen_addr).await;
}
