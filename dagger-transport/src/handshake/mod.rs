//! The versioned, authenticated handshake that opens every TCP connection.
//!
//! Both sides know the cluster [`Cookie`]; neither sends it. The handshake is symmetric
//! and runs in four steps, each message one [frame](crate::frame) of at most
//! [`MAX_HANDSHAKE_FRAME_LEN`] bytes:
//!
//! 1. Each side sends a [`Hello`]: the magic bytes [`MAGIC`], its [`PROTOCOL_VERSION`], its
//!    [`Role`], a fresh random 32-byte nonce and an opaque `info` payload (worker id, name,
//!    whatever the layer above wants the peer to know before the first message).
//! 2. Each side reads the peer's hello. Bad magic or a malformed hello is
//!    [`Error::Protocol`]; a different version is [`Error::Protocol`] naming both versions.
//! 3. Each side sends a proof: `HMAC-SHA256(cookie, label ‖ side ‖ peer hello ‖ own hello)`.
//!    Both hellos carry fresh nonces, so a proof cannot be replayed on another connection,
//!    and the side byte (initiator or acceptor) stops a proof from being reflected back.
//!    Because the hellos are inside the MAC, a peer's role and info are authenticated too.
//! 4. Each side checks the peer's proof in constant time. A wrong proof is [`Error::Auth`].
//!    Both sides send their proof before checking the other's, so with two different cookies
//!    *both* sides fail with [`Error::Auth`].
//!
//! The caller bounds the whole exchange with a timeout (see [`Tcp`](crate::Tcp)).
//!
//! ```
//! use dagger_transport::handshake::{Hello, Role, PROTOCOL_VERSION};
//! use bytes::Bytes;
//! let hello = Hello::new(Role::Worker, Bytes::from_static(b"worker 3"));
//! let parsed = Hello::parse(&hello.encode().unwrap()).unwrap();
//! assert_eq!(parsed, hello);
//! assert_eq!(parsed.version, PROTOCOL_VERSION);
//! assert!(Hello::parse(b"GET / HTTP/1.1\r\n").is_err());
//! ```

use crate::cookie::Cookie;
use crate::frame::{encode_frame, FrameDecoder};
use bytes::{BufMut, Bytes, BytesMut};
use dagger_core::{Error, Result};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[cfg(test)]
mod test;

/// The first bytes of every hello: "DGRH" (dagger hello).
pub const MAGIC: [u8; 4] = *b"DGRH";
/// The first bytes of every proof: "DGRP" (dagger proof).
pub const PROOF_MAGIC: [u8; 4] = *b"DGRP";
/// The wire protocol version this build speaks. Peers must speak the same one.
pub const PROTOCOL_VERSION: u16 = 1;
/// Bytes in a hello nonce.
pub const NONCE_LEN: usize = 32;
/// Bytes in a proof (an HMAC-SHA256 tag).
pub const PROOF_LEN: usize = 32;
/// Largest frame accepted while handshaking, so an unauthenticated peer cannot make this
/// process buffer much.
pub const MAX_HANDSHAKE_FRAME_LEN: usize = 64 << 10;
/// Bytes of a hello before its info payload: magic, version, role, nonce, info length.
pub const HELLO_HEADER_LEN: usize = 4 + 2 + 1 + NONCE_LEN + 4;
/// Largest `info` payload a hello can carry.
pub const MAX_INFO_LEN: usize = MAX_HANDSHAKE_FRAME_LEN - HELLO_HEADER_LEN;
/// How long a handshake may take unless configured otherwise.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Domain-separation label mixed into every proof.
const PROOF_LABEL: &[u8] = b"dagger-rs handshake proof v1";

/// What a process is in the cluster, announced in its [`Hello`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// The driver: runs the scheduler (worker 1).
    Driver,
    /// A worker process serving tasks.
    Worker,
    /// Anything else (a tool, a test, a monitoring client).
    Client,
}

impl Role {
    fn code(self) -> u8 {
        match self {
            Role::Driver => 1,
            Role::Worker => 2,
            Role::Client => 3,
        }
    }

    fn from_code(c: u8) -> Result<Role> {
        match c {
            1 => Ok(Role::Driver),
            2 => Ok(Role::Worker),
            3 => Ok(Role::Client),
            other => Err(Error::Protocol(format!(
                "unknown role code {other} in handshake hello"
            ))),
        }
    }
}

/// Which end of a connection a process is; part of every proof so that proofs cannot be
/// reflected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The side that connected.
    Initiator,
    /// The side that accepted.
    Acceptor,
}

impl Side {
    pub(crate) fn other(self) -> Side {
        match self {
            Side::Initiator => Side::Acceptor,
            Side::Acceptor => Side::Initiator,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Side::Initiator => b'I',
            Side::Acceptor => b'A',
        }
    }
}

/// The first message of each side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The sender's protocol version.
    pub version: u16,
    /// The sender's role.
    pub role: Role,
    /// A fresh random nonce (never reuse one).
    pub nonce: [u8; NONCE_LEN],
    /// An opaque payload for the layer above (at most [`MAX_INFO_LEN`] bytes).
    pub info: Bytes,
}

impl Hello {
    /// A hello of this build's version with a fresh random nonce.
    pub fn new(role: Role, info: Bytes) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        Hello {
            version: PROTOCOL_VERSION,
            role,
            nonce,
            info,
        }
    }

    /// The wire form (a frame payload).
    ///
    /// # Errors
    /// [`Error::Argument`] when `info` is longer than [`MAX_INFO_LEN`].
    pub fn encode(&self) -> Result<Bytes> {
        if self.info.len() > MAX_INFO_LEN {
            return Err(Error::Argument(format!(
                "handshake info of {} bytes exceeds the limit of {MAX_INFO_LEN}",
                self.info.len()
            )));
        }
        let mut b = BytesMut::with_capacity(HELLO_HEADER_LEN + self.info.len());
        b.put_slice(&MAGIC);
        b.put_u16_le(self.version);
        b.put_u8(self.role.code());
        b.put_slice(&self.nonce);
        // ok: bounded by MAX_INFO_LEN just above.
        b.put_u32_le(self.info.len() as u32);
        b.put_slice(&self.info);
        Ok(b.freeze())
    }

    /// Parses a hello received from a peer, checking magic and version first.
    ///
    /// # Errors
    /// [`Error::Protocol`] for anything but a well-formed hello of [`PROTOCOL_VERSION`]: bad
    /// magic, a different version (the message names both), an unknown role, a length that
    /// does not match.
    pub fn parse(b: &[u8]) -> Result<Hello> {
        let magic = b
            .get(..4)
            .ok_or_else(|| short("hello", b.len(), HELLO_HEADER_LEN))?;
        if magic != MAGIC {
            return Err(Error::Protocol(format!(
                "bad handshake magic \"{}\" (expected \"{}\"): the peer does not speak the dagger protocol",
                magic.escape_ascii(),
                MAGIC.escape_ascii()
            )));
        }
        let version = u16::from_le_bytes(take::<2>(b, 4, "hello")?);
        if version != PROTOCOL_VERSION {
            return Err(Error::Protocol(format!(
                "protocol version mismatch: the peer speaks version {version}, this process speaks version {PROTOCOL_VERSION}"
            )));
        }
        let [role] = take::<1>(b, 6, "hello")?;
        let role = Role::from_code(role)?;
        let nonce = take::<NONCE_LEN>(b, 7, "hello")?;
        let info_len = u32::from_le_bytes(take::<4>(b, 7 + NONCE_LEN, "hello")?) as usize;
        let rest = &b[HELLO_HEADER_LEN..];
        if rest.len() != info_len {
            return Err(Error::Protocol(format!(
                "handshake hello says {info_len} info bytes but carries {}",
                rest.len()
            )));
        }
        Ok(Hello {
            version,
            role,
            nonce,
            info: Bytes::copy_from_slice(rest),
        })
    }
}

fn short(what: &str, have: usize, need: usize) -> Error {
    Error::Protocol(format!(
        "handshake {what} too short: {have} bytes, need at least {need}"
    ))
}

/// `N` bytes of `b` at `at`, or a protocol error naming the message.
fn take<const N: usize>(b: &[u8], at: usize, what: &str) -> Result<[u8; N]> {
    b.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| short(what, b.len(), at + N))
}

/// The proof that `prover` knows `cookie`, bound to both encoded hellos.
pub fn compute_proof(
    cookie: &Cookie,
    prover: Side,
    verifier_hello: &[u8],
    prover_hello: &[u8],
) -> [u8; PROOF_LEN] {
    // HMAC accepts keys of any length, so new_from_slice cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(cookie.as_bytes())
        .expect("HMAC takes any key length"); // ok: infallible for HMAC, whatever the cookie
    mac.update(PROOF_LABEL);
    mac.update(&[prover.byte()]);
    // Length prefixes keep the concatenation unambiguous.
    mac.update(&(verifier_hello.len() as u64).to_le_bytes());
    mac.update(verifier_hello);
    mac.update(&(prover_hello.len() as u64).to_le_bytes());
    mac.update(prover_hello);
    mac.finalize().into_bytes().into()
}

/// The wire form of a proof (a frame payload).
pub fn encode_proof(proof: &[u8; PROOF_LEN]) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + PROOF_LEN);
    b.put_slice(&PROOF_MAGIC);
    b.put_slice(proof);
    b.freeze()
}

/// Parses a proof received from a peer.
///
/// # Errors
/// [`Error::Protocol`] when the bytes are not exactly a proof message.
pub fn parse_proof(b: &[u8]) -> Result<[u8; PROOF_LEN]> {
    if b.len() != 4 + PROOF_LEN || b[..4] != PROOF_MAGIC {
        return Err(Error::Protocol(format!(
            "malformed handshake proof: {} bytes starting {:02x?}, expected {} bytes starting {PROOF_MAGIC:02x?}",
            b.len(),
            &b[..b.len().min(4)],
            4 + PROOF_LEN
        )));
    }
    take::<PROOF_LEN>(b, 4, "proof")
}

/// Checks, in constant time, that `got` is the proof `prover` should have sent.
///
/// # Errors
/// [`Error::Auth`] when it is not (the peer does not know the cookie).
pub fn verify_proof(
    cookie: &Cookie,
    prover: Side,
    verifier_hello: &[u8],
    prover_hello: &[u8],
    got: &[u8; PROOF_LEN],
    peer: &str,
) -> Result<()> {
    let want = compute_proof(cookie, prover, verifier_hello, prover_hello);
    if bool::from(want.ct_eq(got)) {
        Ok(())
    } else {
        Err(Error::Auth(format!(
            "peer {peer} did not prove knowledge of the cluster cookie"
        )))
    }
}

/// Runs the whole handshake (steps 1–4 above) on `stream` and returns the peer's hello.
///
/// `decoder` reads the stream: on success it may already hold frames the peer sent right
/// after its proof, so the caller must keep using it (with its maximum raised from
/// [`MAX_HANDSHAKE_FRAME_LEN`] to the connection's).
///
/// # Errors
/// [`Error::Protocol`] for garbage, a version mismatch or a peer that hangs up mid-way;
/// [`Error::Auth`] for a wrong cookie; [`Error::Transport`] for I/O failures. There is no
/// timeout here: the caller wraps this future in one, or calls [`perform_within`].
pub async fn perform<S>(
    stream: &mut S,
    decoder: &mut FrameDecoder,
    cookie: &Cookie,
    side: Side,
    ours: &Hello,
    peer: &str,
) -> Result<Hello>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    decoder.set_max_len(MAX_HANDSHAKE_FRAME_LEN);
    let our_bytes = ours.encode()?;
    write_frame(stream, &our_bytes, peer).await?;
    let peer_bytes = read_frame(stream, decoder, "hello", peer).await?;
    let theirs = Hello::parse(&peer_bytes)?;
    if theirs.nonce == ours.nonce {
        return Err(Error::Protocol(format!(
            "peer {peer} echoed our handshake nonce"
        )));
    }
    let proof = compute_proof(cookie, side, &peer_bytes, &our_bytes);
    write_frame(stream, &encode_proof(&proof), peer).await?;
    let got = parse_proof(&read_frame(stream, decoder, "proof", peer).await?)?;
    verify_proof(cookie, side.other(), &our_bytes, &peer_bytes, &got, peer)?;
    Ok(theirs)
}

/// [`perform`] under `timeout`: what a transport runs on each fresh stream.
///
/// # Errors
/// As [`perform`], and [`Error::Transport`] when `timeout` passes first.
pub async fn perform_within<S>(
    timeout: Duration,
    stream: &mut S,
    decoder: &mut FrameDecoder,
    cookie: &Cookie,
    side: Side,
    ours: &Hello,
    peer: &str,
) -> Result<Hello>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let run = perform(stream, decoder, cookie, side, ours, peer);
    tokio::time::timeout(timeout, run).await.map_err(|_| {
        Error::Transport(format!("handshake with {peer} timed out after {timeout:?}"))
    })?
}

async fn write_frame<S: AsyncWrite + Unpin>(
    stream: &mut S,
    payload: &[u8],
    peer: &str,
) -> Result<()> {
    let frame = encode_frame(payload, MAX_HANDSHAKE_FRAME_LEN)?;
    stream
        .write_all(&frame)
        .await
        .map_err(|e| io_err(peer, e))?;
    stream.flush().await.map_err(|e| io_err(peer, e))
}

async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    decoder: &mut FrameDecoder,
    what: &str,
    peer: &str,
) -> Result<Bytes> {
    loop {
        if let Some(f) = decoder.next_frame()? {
            return Ok(f);
        }
        let n = stream
            .read_buf(decoder.read_target())
            .await
            .map_err(|e| io_err(peer, e))?;
        if n == 0 {
            decoder.finish()?;
            return Err(Error::Protocol(format!(
                "peer {peer} closed the connection during the handshake (before its {what})"
            )));
        }
    }
}

fn io_err(peer: &str, e: std::io::Error) -> Error {
    Error::Transport(format!("handshake with {peer}: {e}"))
}
