//! The checksummed chunk-file format: how a chunk's encoded bytes sit in a store.
//!
//! A store, a disk or a network can hand back damaged bytes; a chunk file makes sure that
//! is reported as [`Error::Corrupt`] naming the chunk and the file, never decoded into
//! wrong data. Layout (all integers little-endian):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `b"DGRCHUNK"` |
//! | 8 | 2 | format version (currently 1) |
//! | 10 | 2 | length `n` of the codec name |
//! | 12 | n | codec name (UTF-8), e.g. `postcard`, `raw-le-f64` |
//! | 12+n | 8 | payload length `p` |
//! | 20+n | p | payload |
//! | 20+n+p | 4 | CRC-32 of every byte before it |
//!
//! Version 2 (the aligned layout, which the pool streams large values to a local disk in)
//! differs only in what comes between the payload length and the payload: a pad length `q`
//! (2 bytes) and `q` zero bytes, chosen so the payload starts at a multiple of 4 096 bytes.
//! The kernel copies page-aligned writes into the page cache about twice as fast as
//! unaligned ones, so this is what lets a spill run at the speed of a plain file write.
//! [`encode_chunk_file`] writes version 1; both versions are read everywhere.
//!
//! The CRC is a trailer so that a file can be written in one streaming pass (the pool
//! writes large raw arrays straight from the value's memory, checksumming each block while
//! it is in cache) and read the same way.
//!
//! Because the CRC covers the header too, any single flipped bit anywhere in the file is
//! detected (CRC-32 catches every single-bit error; a flip inside the CRC field itself makes
//! the stored and computed values differ).

use bytes::{BufMut, Bytes, BytesMut};
use dagger_core::{Error, Result};
use layout::{header_bytes, Layout, FIXED_HEADER, PAD_FIELD};

mod layout;
pub use layout::{MAGIC, VERSION, VERSION_ALIGNED};

/// The header of a decoded chunk file.
///
/// ```
/// use dagger_storage::{encode_chunk_file, decode_chunk_file};
/// let file = encode_chunk_file("postcard", b"hello").unwrap();
/// let (header, payload) = decode_chunk_file("chunk c1", &file).unwrap();
/// assert_eq!(header.codec, "postcard");
/// assert_eq!(header.payload_len, 5);
/// assert_eq!(&payload[..], b"hello");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkFileHeader {
    /// Format version of the file.
    pub version: u16,
    /// Name of the codec that produced the payload ([`dagger_core::Codec::name`]).
    pub codec: String,
    /// Length of the payload in bytes.
    pub payload_len: u64,
    /// CRC-32 over the header and the payload (the file's trailer).
    pub crc32: u32,
}

/// The number of bytes a chunk file for `codec_name` and `payload_len` bytes of payload takes
/// in the compact layout (version 1, as [`encode_chunk_file`] writes it).
pub fn chunk_file_len(codec_name: &str, payload_len: usize) -> usize {
    FIXED_HEADER + codec_name.len() + payload_len
}

/// Wraps `payload`, produced by the codec named `codec_name`, in a chunk file.
///
/// # Errors
///
/// [`Error::Argument`] if the codec name is longer than 65 535 bytes.
///
/// # Examples
///
/// ```
/// let file = dagger_storage::encode_chunk_file("raw-le-u8", &[1, 2, 3]).unwrap();
/// assert_eq!(&file[..8], b"DGRCHUNK");
/// ```
pub fn encode_chunk_file(codec_name: &str, payload: &[u8]) -> Result<Bytes> {
    let name_len = u16::try_from(codec_name.len()).map_err(|_| {
        Error::Argument(format!(
            "codec name of {} bytes is too long for a chunk file",
            codec_name.len()
        ))
    })?;
    let mut buf = BytesMut::with_capacity(chunk_file_len(codec_name, payload.len()));
    buf.put_slice(&header_bytes(
        Layout::COMPACT,
        name_len,
        codec_name,
        payload.len() as u64,
    ));
    buf.put_slice(payload);
    let crc = crc32fast::hash(&buf);
    buf.put_u32_le(crc);
    Ok(buf.freeze())
}

/// Checks and unwraps a chunk file; `what` names the chunk and file for error messages.
///
/// The payload is a zero-copy slice of `bytes`.
///
/// # Errors
///
/// [`Error::Corrupt`] with `what` and the reason (bad magic, unknown version, truncated
/// header, length mismatch, checksum mismatch, codec name not UTF-8).
///
/// # Examples
///
/// ```
/// use dagger_core::Error;
/// let file = dagger_storage::encode_chunk_file("postcard", b"data").unwrap();
/// let mut bad = file.to_vec();
/// bad[30] ^= 0x10;
/// let err = dagger_storage::decode_chunk_file("chunk c7 (spill/c7)", &bad.into()).unwrap_err();
/// assert!(matches!(err, Error::Corrupt { ref what, .. } if what == "chunk c7 (spill/c7)"));
/// ```
pub fn decode_chunk_file(what: &str, bytes: &Bytes) -> Result<(ChunkFileHeader, Bytes)> {
    let corrupt = |detail: String| Error::Corrupt {
        what: what.to_string(),
        detail,
    };
    if bytes.len() < FIXED_HEADER {
        return Err(corrupt(format!(
            "file of {} bytes is shorter than a chunk-file header ({FIXED_HEADER} bytes)",
            bytes.len()
        )));
    }
    if bytes[..8] != MAGIC {
        return Err(corrupt("not a chunk file (bad magic)".into()));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION && version != VERSION_ALIGNED {
        return Err(corrupt(format!(
            "unsupported chunk-file version {version} (this build reads {VERSION} and {VERSION_ALIGNED})"
        )));
    }
    let aligned = version == VERSION_ALIGNED;
    let name_len = usize::from(u16::from_le_bytes([bytes[10], bytes[11]]));
    // The header up to the pad (if any): what must be there to read the lengths.
    let fixed_len = FIXED_HEADER + name_len + if aligned { PAD_FIELD } else { 0 };
    if bytes.len() < fixed_len {
        return Err(corrupt(format!(
            "truncated header: codec name of {name_len} bytes but only {} bytes in the file",
            bytes.len()
        )));
    }
    let name_end = 12 + name_len;
    let codec = std::str::from_utf8(&bytes[12..name_end])
        .map_err(|_| corrupt("codec name is not UTF-8".into()))?
        .to_string();
    let payload_len = read_u64(&bytes[name_end..name_end + 8]);
    let pad = if aligned {
        usize::from(u16::from_le_bytes([
            bytes[name_end + 8],
            bytes[name_end + 9],
        ]))
    } else {
        0
    };
    let header_len = fixed_len + pad;
    if bytes.len() < header_len {
        return Err(corrupt(format!(
            "truncated header: a pad of {pad} bytes but only {} bytes in the file",
            bytes.len()
        )));
    }
    let payload_start = header_len - 4;
    let actual = (bytes.len() - header_len) as u64;
    if payload_len != actual {
        return Err(corrupt(format!(
            "header says {payload_len} payload bytes but the file holds {actual} (truncated or damaged)"
        )));
    }
    let crc_at = bytes.len() - 4;
    let stored_crc = read_u32(&bytes[crc_at..]);
    let computed = crc32fast::hash(&bytes[..crc_at]);
    if computed != stored_crc {
        return Err(corrupt(format!(
            "checksum mismatch: stored crc32 {stored_crc:#010x}, computed {computed:#010x}"
        )));
    }
    let header = ChunkFileHeader {
        version,
        codec,
        payload_len,
        crc32: stored_crc,
    };
    Ok((header, bytes.slice(payload_start..crc_at)))
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_le_bytes(a)
}

fn read_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    u32::from_le_bytes(a)
}

mod stream;
pub(crate) use stream::{streamed_file_len, write_chunk_file_to, StreamDecoder};

#[cfg(test)]
mod test;
