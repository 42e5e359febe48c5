//! The conformance suite every [`Transport`] runs — ours (`Tcp`, `InProcess`) or a third
//! party's.
//!
//! Enable the `conformance` feature and call [`run_all`] from a test, inside a tokio runtime
//! with timers on. Each check is also a public function, so a transport that cannot meet one
//! can run the others. A check returns a [`Failure`] naming itself and what went wrong; it
//! never panics. Each check listens on `listen_addr` afresh, so that address must give a new
//! listener every time (`127.0.0.1:0`, `inproc://`, a directory for a Unix socket
//! transport that creates a fresh socket in it).
//!
//! ```
//! use dagger_transport::{conformance, InProcess};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (good, wrong) = (InProcess::new("c"), InProcess::new("other"));
//! let limited = InProcess::new("c").max_frame_len(1000);
//! let suite = conformance::Subjects {
//!     transport: &good,
//!     wrong_cookie: &wrong,
//!     limited: &limited,
//!     max_frame_len: 1000,
//!     listen_addr: "inproc://",
//! };
//! conformance::run_all(&suite).await.unwrap();
//! // Or one check at a time:
//! conformance::frames_round_trip(&good, "inproc://").await.unwrap();
//! # });
//! ```

use bytes::Bytes;
use dagger_core::{Connection, Error, Transport};
use std::fmt;
use std::time::Duration;

/// A failed check: which one, and what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The check's name (the name of its function in this module).
    pub check: &'static str,
    /// What was expected and what happened.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check `{}` failed: {}",
            self.check, self.detail
        )
    }
}

impl std::error::Error for Failure {}

/// The result of one check.
pub type CheckResult = Result<(), Failure>;

/// What [`run_all`] exercises: the transport under test, configured three ways, and where
/// to listen.
#[derive(Clone, Copy, Debug)]
pub struct Subjects<'a> {
    /// The transport under test.
    pub transport: &'a dyn Transport,
    /// The same kind of transport with another cookie, for [`wrong_cookie_is_refused`].
    pub wrong_cookie: &'a dyn Transport,
    /// The transport under test configured with [`max_frame_len`](Self::max_frame_len), for
    /// [`oversized_send_is_refused`].
    pub limited: &'a dyn Transport,
    /// The largest frame `limited` sends (keep it small: the check sends one that long).
    pub max_frame_len: usize,
    /// An address each listen turns into a fresh listener (`127.0.0.1:0`, `inproc://`).
    pub listen_addr: &'a str,
}

/// Runs every check.
///
/// # Errors
///
/// The first [`Failure`], naming its check.
pub async fn run_all(s: &Subjects<'_>) -> CheckResult {
    pair(s.transport, s.listen_addr).await?;
    frames_round_trip(s.transport, s.listen_addr).await?;
    wrong_cookie_is_refused(s.transport, s.wrong_cookie, s.listen_addr).await?;
    oversized_send_is_refused(s.limited, s.max_frame_len, s.listen_addr).await?;
    peer_drop_ends_stream(s.transport, s.listen_addr).await
}

fn fail(check: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        check,
        detail: detail.into(),
    }
}

/// Turns a transport error into a failure of `check` that says which step failed.
fn step<T>(check: &'static str, what: &str, r: dagger_core::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| fail(check, format!("{what}: {e}")))
}

/// The next frame on `conn`, where the check expects one.
async fn next_frame(check: &'static str, conn: &mut Connection) -> Result<Bytes, Failure> {
    step(check, "recv", conn.receiver.recv().await)?
        .ok_or_else(|| fail(check, "the stream ended where a frame was expected"))
}

/// Checks that `got` is the frame `want`.
fn expect_frame(check: &'static str, got: &[u8], want: &[u8]) -> CheckResult {
    if got == want {
        Ok(())
    } else {
        Err(fail(
            check,
            format!("expected the frame {want:?}, got {} bytes", got.len()),
        ))
    }
}

async fn connect_pair(
    check: &'static str,
    t: &dyn Transport,
    listen_addr: &str,
) -> Result<(Connection, Connection), Failure> {
    let mut l = step(check, "listen", t.listen(listen_addr).await)?;
    let addr = l.local_addr();
    let (c, s) = tokio::join!(t.connect(&addr), l.accept());
    Ok((step(check, "connect", c)?, step(check, "accept", s)?))
}

/// Connects a client to a fresh listener of `t` and returns (client, server).
///
/// # Errors
///
/// A [`Failure`] when listening, connecting or accepting fails.
pub async fn pair(
    t: &dyn Transport,
    listen_addr: &str,
) -> Result<(Connection, Connection), Failure> {
    connect_pair("pair", t, listen_addr).await
}

/// Frames of every size class arrive intact and in order, both ways, and `send_many`
/// keeps order within and across batches.
///
/// # Errors
///
/// A [`Failure`] when a frame is lost, reordered or changed.
pub async fn frames_round_trip(t: &dyn Transport, listen_addr: &str) -> CheckResult {
    const C: &str = "frames_round_trip";
    let (mut c, mut s) = connect_pair(C, t, listen_addr).await?;
    let sizes = [0usize, 1, 3, 4, 5, 100, 65_536, 1 << 20];
    let frames: Vec<Bytes> = sizes
        .iter()
        .map(|&n| Bytes::from((0..n).map(|i| (i * 7 + n) as u8).collect::<Vec<_>>()))
        .collect();
    let send = async {
        for f in &frames {
            step(C, "send", c.sender.send(f.clone()).await)?;
        }
        step(C, "send_many", c.sender.send_many(frames.clone()).await)?;
        step(C, "empty send_many", c.sender.send_many(Vec::new()).await)
    };
    let recv = async {
        let mut got = Vec::new();
        for _ in 0..2 * frames.len() {
            got.push(next_frame(C, &mut s).await?);
        }
        Ok(got)
    };
    let (sent, got) = tokio::join!(send, recv);
    sent?;
    let got = got?;
    let want: Vec<Bytes> = frames.iter().chain(frames.iter()).cloned().collect();
    if got != want {
        let got_lens: Vec<usize> = got.iter().map(Bytes::len).collect();
        let want_lens: Vec<usize> = want.iter().map(Bytes::len).collect();
        return Err(fail(
            C,
            format!("frames changed or reordered: sent lengths {want_lens:?}, got {got_lens:?}"),
        ));
    }
    // And back the other way.
    step(
        C,
        "reply",
        s.sender.send(Bytes::from_static(b"reply")).await,
    )?;
    expect_frame(C, &next_frame(C, &mut c).await?, b"reply")
}

/// A client with another cookie is refused with [`Error::Auth`] on both sides, and the
/// same listener then serves a client with the right cookie.
///
/// # Errors
///
/// A [`Failure`] when the wrong client gets in, or the right one is refused afterwards.
pub async fn wrong_cookie_is_refused(
    good: &dyn Transport,
    wrong: &dyn Transport,
    listen_addr: &str,
) -> CheckResult {
    const C: &str = "wrong_cookie_is_refused";
    let mut l = step(C, "listen", good.listen(listen_addr).await)?;
    let addr = l.local_addr();
    let (bad, refused) = tokio::join!(wrong.connect(&addr), l.accept());
    if !matches!(bad, Err(Error::Auth(_))) {
        return Err(fail(
            C,
            format!("the wrong-cookie client got {bad:?}, expected Error::Auth"),
        ));
    }
    if !matches!(refused, Err(Error::Auth(_))) {
        return Err(fail(
            C,
            format!("the listener got {refused:?} for a wrong cookie, expected Error::Auth"),
        ));
    }
    let (ok, accepted) = tokio::join!(good.connect(&addr), l.accept());
    let mut ok = step(C, "connect with the right cookie", ok)?;
    let mut accepted = step(C, "accept after a refusal", accepted)?;
    step(C, "send", ok.sender.send(Bytes::from_static(b"in")).await)?;
    expect_frame(C, &next_frame(C, &mut accepted).await?, b"in")
}

/// A frame above `max_frame_len` is refused by the sender with [`Error::Protocol`], alone or
/// in a batch, and the connection stays usable. `t` must be configured with that maximum.
///
/// # Errors
///
/// A [`Failure`] when the oversized frame is sent, or the connection breaks.
pub async fn oversized_send_is_refused(
    t: &dyn Transport,
    max_frame_len: usize,
    listen_addr: &str,
) -> CheckResult {
    const C: &str = "oversized_send_is_refused";
    let (mut c, mut s) = connect_pair(C, t, listen_addr).await?;
    let big = Bytes::from(vec![0u8; max_frame_len + 1]);
    let r = c.sender.send(big.clone()).await;
    if !matches!(r, Err(Error::Protocol(_))) {
        return Err(fail(
            C,
            format!("a send of {} bytes gave {r:?}", max_frame_len + 1),
        ));
    }
    let r = c
        .sender
        .send_many(vec![Bytes::from_static(b"x"), big])
        .await;
    if !matches!(r, Err(Error::Protocol(_))) {
        return Err(fail(
            C,
            format!("a batch with an oversized frame gave {r:?}"),
        ));
    }
    let max = Bytes::from(vec![1u8; max_frame_len]);
    step(
        C,
        "a frame of exactly the maximum",
        c.sender.send(max.clone()).await,
    )?;
    // The refused batch must have left nothing behind: the next frame is this one.
    expect_frame(C, &next_frame(C, &mut s).await?, &max)
}

/// When one side drops its connection, the other sees a clean end (`Ok(None)`) after the
/// frames sent before, and a later send fails instead of succeeding forever.
///
/// # Errors
///
/// A [`Failure`] when the end of the stream is not seen, or a send to a dead peer keeps
/// succeeding.
pub async fn peer_drop_ends_stream(t: &dyn Transport, listen_addr: &str) -> CheckResult {
    const C: &str = "peer_drop_ends_stream";
    let (mut c, mut s) = connect_pair(C, t, listen_addr).await?;
    let last = vec![Bytes::from_static(b"last"), Bytes::from_static(b"words")];
    step(C, "send", c.sender.send_many(last).await)?;
    drop(c);
    expect_frame(C, &next_frame(C, &mut s).await?, b"last")?;
    expect_frame(C, &next_frame(C, &mut s).await?, b"words")?;
    for when in ["after the peer dropped", "a second time"] {
        let end = step(C, "recv", s.receiver.recv().await)?;
        if let Some(f) = end {
            return Err(fail(
                C,
                format!(
                    "expected the end of the stream {when}, got a frame of {} bytes",
                    f.len()
                ),
            ));
        }
    }
    // The first send may land in a kernel buffer; within a few, the broken pipe shows.
    for _ in 0..100 {
        if s.sender.send(Bytes::from(vec![0u8; 1024])).await.is_err() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(fail(C, "sending to a dropped peer kept succeeding"))
}
