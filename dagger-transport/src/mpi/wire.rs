//! What travels between ranks: the MPI tag of each message (a connection id and a kind),
//! batches of small frames, and `mpi://` addresses. Pure functions, testable without MPI.

use bytes::{BufMut, Bytes, BytesMut};
use dagger_core::{Error, Result};

/// The address prefix of MPI listeners: `mpi://<rank>` or `mpi://<rank>/<port>`.
pub const MPI_SCHEME: &str = "mpi://";

/// Bits of the tag that hold the kind; the rest hold a connection id or a listener port.
const KIND_BITS: u32 = 3;
/// The largest id a tag holds. MPI promises tags up to 32767 only, but OpenMPI's ob1 and
/// UCX layers give at least 2^23 - 1, which leaves 2^20 ids per process.
pub(crate) const MAX_ID: u32 = (1 << 20) - 1;

/// What a message is. The tag's id is the receiver's connection id, except for `Connect`
/// (the receiver's listener port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One frame: the message is the frame's bytes (received straight into its buffer).
    Data = 0,
    /// Several small frames, each `u32` little-endian length then bytes.
    Batch = 1,
    /// The peer's sending half is gone: no frame follows.
    Eof = 2,
    /// The peer's receiving half is gone: stop sending (and no frame follows).
    Reset = 3,
    /// Open a connection; the payload is the initiator's connection id.
    Connect = 4,
    /// The listener accepted; the payload is the acceptor's connection id.
    Accept = 5,
    /// No listener, or it is gone; the payload is the reason (UTF-8).
    Refuse = 6,
}

/// The tag of a message of `kind` for `id`.
pub(crate) fn tag(id: u32, kind: Kind) -> i32 {
    ((id << KIND_BITS) | kind as u32) as i32
}

/// The id and kind a received tag names.
///
/// # Errors
/// [`Error::Protocol`] for a negative tag or an unknown kind.
pub(crate) fn parse_tag(tag: i32) -> Result<(u32, Kind)> {
    let t = u32::try_from(tag).map_err(|_| Error::Protocol(format!("negative MPI tag {tag}")))?;
    let kind = match t & ((1 << KIND_BITS) - 1) {
        0 => Kind::Data,
        1 => Kind::Batch,
        2 => Kind::Eof,
        3 => Kind::Reset,
        4 => Kind::Connect,
        5 => Kind::Accept,
        6 => Kind::Refuse,
        k => return Err(Error::Protocol(format!("unknown MPI message kind {k}"))),
    };
    Ok((t >> KIND_BITS, kind))
}

/// A `u32` payload (a connection id).
pub(crate) fn encode_id(id: u32) -> Bytes {
    Bytes::copy_from_slice(&id.to_le_bytes())
}

/// Parses a `u32` payload.
///
/// # Errors
/// [`Error::Protocol`] unless the payload is exactly 4 bytes.
pub(crate) fn parse_id(b: &[u8]) -> Result<u32> {
    let a: [u8; 4] = b
        .try_into()
        .map_err(|_| Error::Protocol(format!("an MPI id payload of {} bytes, not 4", b.len())))?;
    Ok(u32::from_le_bytes(a))
}

/// Frames up to this size are copied into a batch; larger ones go as their own message
/// straight from their buffer.
pub(crate) const BATCH_FRAME_MAX: usize = 8 << 10;

/// Appends one frame to a batch buffer.
pub(crate) fn push_batch(buf: &mut BytesMut, frame: &[u8]) {
    buf.put_u32_le(frame.len() as u32);
    buf.put_slice(frame);
}

/// The frames of a batch, as slices of it (no copy).
///
/// # Errors
/// [`Error::Protocol`] when a length runs past the end, or a frame is above `max_len`.
pub(crate) fn split_batch(b: &Bytes, max_len: usize) -> Result<Vec<Bytes>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        let len = b
            .get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| Error::Protocol("an MPI batch cut inside a length".into()))?
            as usize;
        if len > max_len {
            return Err(Error::Protocol(format!(
                "a frame of {len} bytes in an MPI batch, above the limit of {max_len}"
            )));
        }
        let end = at + 4 + len;
        if end > b.len() {
            return Err(Error::Protocol(format!(
                "an MPI batch frame of {len} bytes runs past the batch's {} bytes",
                b.len()
            )));
        }
        out.push(b.slice(at + 4..end));
        at = end;
    }
    Ok(out)
}

/// Where a connection goes: a rank and a listener port there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Addr {
    pub rank: i32,
    pub port: u32,
}

impl Addr {
    /// The printed form, `mpi://<rank>/<port>` (`mpi://<rank>` for port 0).
    pub(crate) fn to_url(self) -> String {
        if self.port == 0 {
            format!("{MPI_SCHEME}{}", self.rank)
        } else {
            format!("{MPI_SCHEME}{}/{}", self.rank, self.port)
        }
    }
}

/// Parses `mpi://<rank>[/<port>]`; `Ok(None)` for `mpi://` or `mpi://*` (a fresh port
/// on this rank, when listening).
///
/// # Errors
/// [`Error::Argument`] for anything else.
pub(crate) fn parse_addr(addr: &str) -> Result<Option<Addr>> {
    let bad = || {
        Error::Argument(format!(
            "MPI address {addr:?} is not mpi://<rank> or mpi://<rank>/<port>"
        ))
    };
    let rest = addr.strip_prefix(MPI_SCHEME).ok_or_else(bad)?;
    if rest.is_empty() || rest == "*" {
        return Ok(None);
    }
    let (rank, port) = match rest.split_once('/') {
        Some((r, p)) => (r, p.parse::<u32>().map_err(|_| bad())?),
        None => (rest, 0),
    };
    let rank = rank.parse::<i32>().map_err(|_| bad())?;
    if rank < 0 || port > MAX_ID {
        return Err(bad());
    }
    Ok(Some(Addr { rank, port }))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn tags_round_trip_and_garbage_is_an_error() {
        for kind in [
            Kind::Data,
            Kind::Batch,
            Kind::Eof,
            Kind::Connect,
            Kind::Refuse,
        ] {
            assert_eq!(parse_tag(tag(MAX_ID, kind)).unwrap(), (MAX_ID, kind)); // ok: test
        }
        assert!(matches!(parse_tag(-1), Err(Error::Protocol(_))));
        assert!(matches!(parse_tag(7), Err(Error::Protocol(_))));
        assert!(matches!(parse_id(&[1, 2, 3]), Err(Error::Protocol(_))));
    }

    #[test]
    fn batches_split_without_copy_and_reject_truncation() {
        let mut b = BytesMut::new();
        for f in [&b""[..], b"a", b"hello"] {
            push_batch(&mut b, f);
        }
        let b = b.freeze();
        let got = split_batch(&b, 100).unwrap(); // ok: test
        assert_eq!(
            got,
            vec![Bytes::new(), Bytes::from("a"), Bytes::from("hello")]
        );
        for cut in 1..b.len() {
            let r = split_batch(&b.slice(..cut), 100);
            assert!(r.is_err() || cut == 4 || cut == 9, "cut at {cut}");
        }
        assert!(matches!(split_batch(&b, 2), Err(Error::Protocol(_))));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr("mpi://3").unwrap(), // ok: test
            Some(Addr { rank: 3, port: 0 })
        );
        assert_eq!(
            parse_addr("mpi://3/9").unwrap(), // ok: test
            Some(Addr { rank: 3, port: 9 })
        );
        assert_eq!(parse_addr("mpi://").unwrap(), None); // ok: test
        for bad in [
            "127.0.0.1:0",
            "mpi://x",
            "mpi://-1",
            "mpi://1/y",
            "mpi://1/2/3",
        ] {
            assert!(matches!(parse_addr(bad), Err(Error::Argument(_))), "{bad}");
        }
        assert_eq!(Addr { rank: 2, port: 5 }.to_url(), "mpi://2/5");
    }
}
