//! The checkpoint file: one task's encoded result, with what it was computed from and a
//! checksum, so a damaged, truncated or foreign file is refused, never decoded into a wrong
//! result. Layout (integers little-endian):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `b"DGRCKPT1"` |
//! | 8 | 2 | format version (1) |
//! | 10 | 32 | the [`LineageKey`] it was stored under |
//! | 42 | 2 | length `n` of the code tag |
//! | 44 | n | code tag (UTF-8) |
//! | 44+n | 2 | length `m` of the result's type name |
//! | 46+n | m | type name (UTF-8) |
//! | 46+n+m | 8 | payload length `p` |
//! | 54+n+m | p | payload (the result, postcard) |
//! | 54+n+m+p | 4 | CRC-32 of every byte before it |
//!
//! The key, tag and type are checked against what the reader expects, so a checkpoint is
//! used only by the task that wrote it: same lineage, same code tag, same result type.

use crate::lineage_key::LineageKey;
use std::fmt;

/// The file's first bytes.
pub const MAGIC: &[u8; 8] = b"DGRCKPT1";
/// The format version written.
pub const VERSION: u16 = 1;
/// Bytes of a file around its tag, type name and payload.
const FIXED: usize = 8 + 2 + 32 + 2 + 2 + 8 + 4;

/// Why a checkpoint file was not used. Every one is reported as a warning and the task is
/// computed again; none fails the run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Shorter than its header or than the lengths it declares.
    Truncated {
        /// The file's length.
        len: usize,
    },
    /// Does not start with [`MAGIC`]: not a checkpoint file.
    BadMagic,
    /// Written by a format version this build does not read.
    Version(u16),
    /// The CRC-32 trailer does not match the bytes (damaged on disk or in transit).
    Checksum {
        /// The CRC the file carries.
        stored: u32,
        /// The CRC of the bytes read.
        computed: u32,
    },
    /// Stored under another lineage key (a file copied or renamed by hand).
    OtherKey,
    /// Written under another code tag: another version of the function.
    OtherTag(String),
    /// Holds another result type.
    OtherType(String),
    /// A header string that is not UTF-8.
    NotUtf8,
    /// The payload does not decode as the result type.
    Decode(String),
    /// The store could not be read (other than the file being absent).
    Store(String),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Truncated { len } => write!(f, "truncated ({len} bytes)"),
            CheckpointError::BadMagic => f.write_str("not a checkpoint file (bad magic)"),
            CheckpointError::Version(v) => write!(f, "unsupported format version {v}"),
            CheckpointError::Checksum { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:08x}, computed {computed:08x})"
            ),
            CheckpointError::OtherKey => f.write_str("stored under another lineage key"),
            CheckpointError::OtherTag(t) => write!(f, "written under code tag {t:?}"),
            CheckpointError::OtherType(t) => write!(f, "holds another type ({t})"),
            CheckpointError::NotUtf8 => f.write_str("a header string is not UTF-8"),
            CheckpointError::Decode(e) => write!(f, "payload does not decode: {e}"),
            CheckpointError::Store(e) => write!(f, "store error: {e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

/// What a checkpoint file says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointHeader {
    /// The lineage key it was stored under.
    pub key: LineageKey,
    /// The code tag of the run that wrote it.
    pub tag: String,
    /// The result's Rust type name.
    pub type_name: String,
}

/// Wraps `payload`, the encoded result of the task with `key`, in a checkpoint file.
///
/// Strings longer than 65 535 bytes are cut at that length (a tag or a type name never is
/// that long; the cut keeps the encoder total).
///
/// ```
/// use dagger_sched::checkpoint::{decode_file, encode_file, LineageKey};
/// let key = LineageKey([7; 32]);
/// let file = encode_file(&key, "v1", "u64", b"\x2a");
/// let (header, payload) = decode_file(&file).unwrap();
/// assert_eq!((header.key, header.tag.as_str(), payload), (key, "v1", &b"\x2a"[..]));
/// ```
pub fn encode_file(key: &LineageKey, tag: &str, type_name: &str, payload: &[u8]) -> Vec<u8> {
    let cut = |s: &str| -> Vec<u8> { s.as_bytes()[..s.len().min(u16::MAX as usize)].to_vec() };
    let (tag, ty) = (cut(tag), cut(type_name));
    let mut out = Vec::with_capacity(FIXED + tag.len() + ty.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&key.0);
    for s in [&tag, &ty] {
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s);
    }
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A cursor that never reads past the end: every short read is [`CheckpointError::Truncated`].
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CheckpointError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(CheckpointError::Truncated {
            len: self.bytes.len(),
        })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CheckpointError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn string(&mut self) -> Result<String, CheckpointError> {
        let n = u16::from_le_bytes(self.array()?) as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| CheckpointError::NotUtf8)
    }
}

/// Reads a checkpoint file: its header and payload, after checking magic, version, lengths
/// and checksum. Any bytes at all give `Ok` or a [`CheckpointError`], never a panic.
///
/// # Errors
///
/// [`CheckpointError::Truncated`], [`BadMagic`](CheckpointError::BadMagic),
/// [`Version`](CheckpointError::Version), [`Checksum`](CheckpointError::Checksum) or
/// [`NotUtf8`](CheckpointError::NotUtf8).
pub fn decode_file(bytes: &[u8]) -> Result<(CheckpointHeader, &[u8]), CheckpointError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len())? != MAGIC {
        return Err(CheckpointError::BadMagic);
    }
    let version = u16::from_le_bytes(r.array()?);
    if version != VERSION {
        return Err(CheckpointError::Version(version));
    }
    // The checksum first: a damaged length must not send the reader astray.
    let body = bytes
        .len()
        .checked_sub(4)
        .ok_or(CheckpointError::Truncated { len: bytes.len() })?;
    if body < FIXED - 4 {
        return Err(CheckpointError::Truncated { len: bytes.len() });
    }
    let mut stored = [0u8; 4];
    stored.copy_from_slice(&bytes[body..]);
    let stored = u32::from_le_bytes(stored);
    let computed = crc32fast::hash(&bytes[..body]);
    if stored != computed {
        return Err(CheckpointError::Checksum { stored, computed });
    }
    let key = LineageKey(r.array()?);
    let tag = r.string()?;
    let type_name = r.string()?;
    let p = u64::from_le_bytes(r.array()?);
    let p = usize::try_from(p).map_err(|_| CheckpointError::Truncated { len: bytes.len() })?;
    let payload = r.take(p)?;
    if r.at != body {
        // Declared lengths and the file's length disagree.
        return Err(CheckpointError::Truncated { len: bytes.len() });
    }
    Ok((
        CheckpointHeader {
            key,
            tag,
            type_name,
        },
        payload,
    ))
}

/// [`decode_file`], then checks that the file is the one expected: stored under `key`, by
/// code tag `tag`, holding a `type_name`.
///
/// # Errors
///
/// Those of [`decode_file`], and [`CheckpointError::OtherKey`],
/// [`OtherTag`](CheckpointError::OtherTag) or [`OtherType`](CheckpointError::OtherType).
pub fn check_file<'a>(
    bytes: &'a [u8],
    key: &LineageKey,
    tag: &str,
    type_name: &str,
) -> Result<&'a [u8], CheckpointError> {
    let (h, payload) = decode_file(bytes)?;
    if h.key != *key {
        return Err(CheckpointError::OtherKey);
    }
    if h.tag != tag {
        return Err(CheckpointError::OtherTag(h.tag));
    }
    if h.type_name != type_name {
        return Err(CheckpointError::OtherType(h.type_name));
    }
    Ok(payload)
}
