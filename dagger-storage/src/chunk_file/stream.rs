//! Writing and reading chunk files in one streaming pass, for large raw payloads.
//!
//! The payload moves in blocks; each block is checksummed while it is in cache, so a
//! chunk file costs about as much memory traffic as the plain bytes would. Large payloads
//! are written in the aligned layout (version 2), so that every block lands on page
//! boundaries in the file (see `layout.rs`).

use super::layout::{
    header_bytes, Layout, FIXED_HEADER, MAGIC, PAD_FIELD, VERSION, VERSION_ALIGNED,
};
use dagger_core::{Error, Result};
use std::io::{ErrorKind, Read, Write};

/// Block size for streaming: large enough for few syscalls, small enough to stay in cache.
const BLOCK: usize = 1 << 20;

/// The length of the file [`write_chunk_file_to`] writes for `payload_len` bytes under
/// `codec_name` (what the disk limit is charged before writing).
pub(crate) fn streamed_file_len(codec_name: &str, payload_len: usize) -> usize {
    Layout::streamed(codec_name, payload_len).file_len(codec_name.len(), payload_len)
}

/// Writes a whole chunk file for `payload` to `w`, straight from `payload` (no copy on this
/// side of the kernel), checksumming each block just before it is written, while it is in
/// cache; returns the bytes written. Payloads of [`ALIGN_FROM`](super::layout::ALIGN_FROM)
/// bytes and more take the aligned layout.
pub(crate) fn write_chunk_file_to(
    w: &mut impl Write,
    codec_name: &str,
    payload: &[u8],
) -> Result<u64> {
    let name_len = u16::try_from(codec_name.len()).map_err(|_| {
        Error::Argument(format!(
            "codec name of {} bytes is too long",
            codec_name.len()
        ))
    })?;
    let layout = Layout::streamed(codec_name, payload.len());
    let header = header_bytes(layout, name_len, codec_name, payload.len() as u64);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&header);
    w.write_all(&header)?;
    for block in payload.chunks(BLOCK) {
        crc.update(block);
        w.write_all(block)?;
    }
    w.write_all(&crc.finalize().to_le_bytes())?;
    Ok(layout.file_len(codec_name.len(), payload.len()) as u64)
}

/// Reads a chunk file from a stream: [`begin`](Self::begin) checks the header,
/// [`read_payload`](Self::read_payload) fills the caller's buffer, [`finish`](Self::finish)
/// checks the CRC trailer and that nothing follows.
pub(crate) struct StreamDecoder<'a, R> {
    r: R,
    what: &'a str,
    crc: crc32fast::Hasher,
    /// The codec name in the header.
    pub(crate) codec: String,
    /// The payload length in the header, already checked against the file length.
    pub(crate) payload_len: u64,
}

impl<'a, R: Read> StreamDecoder<'a, R> {
    fn corrupt(what: &str, detail: String) -> Error {
        Error::Corrupt {
            what: what.to_string(),
            detail,
        }
    }

    fn read_exact(r: &mut R, what: &str, buf: &mut [u8], part: &str) -> Result<()> {
        r.read_exact(buf).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                Self::corrupt(what, format!("file ends inside the {part} (truncated)"))
            } else {
                Error::Io(format!("reading {what}: {e}"))
            }
        })
    }

    /// Reads and checks the header of a file of `file_len` bytes.
    pub(crate) fn begin(mut r: R, what: &'a str, file_len: u64) -> Result<Self> {
        if file_len < FIXED_HEADER as u64 {
            return Err(Self::corrupt(
                what,
                format!("file of {file_len} bytes is shorter than a chunk-file header ({FIXED_HEADER} bytes)"),
            ));
        }
        let mut fixed = [0u8; 12];
        Self::read_exact(&mut r, what, &mut fixed, "header")?;
        if fixed[..8] != MAGIC {
            return Err(Self::corrupt(what, "not a chunk file (bad magic)".into()));
        }
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        if version != VERSION && version != VERSION_ALIGNED {
            return Err(Self::corrupt(
                what,
                format!("unsupported chunk-file version {version} (this build reads {VERSION} and {VERSION_ALIGNED})"),
            ));
        }
        let aligned = version == VERSION_ALIGNED;
        let name_len = usize::from(u16::from_le_bytes([fixed[10], fixed[11]]));
        let pad_field = if aligned { PAD_FIELD } else { 0 };
        let mut overhead = (FIXED_HEADER + name_len + pad_field) as u64;
        if file_len < overhead {
            return Err(Self::corrupt(
                what,
                format!("truncated header: codec name of {name_len} bytes but only {file_len} bytes in the file"),
            ));
        }
        let mut rest = vec![0u8; name_len + 8 + pad_field];
        Self::read_exact(&mut r, what, &mut rest, "header")?;
        let codec = std::str::from_utf8(&rest[..name_len])
            .map_err(|_| Self::corrupt(what, "codec name is not UTF-8".into()))?
            .to_string();
        let mut len = [0u8; 8];
        len.copy_from_slice(&rest[name_len..name_len + 8]);
        let payload_len = u64::from_le_bytes(len);
        if aligned {
            let pad = u16::from_le_bytes([rest[name_len + 8], rest[name_len + 9]]);
            overhead += u64::from(pad);
            if file_len < overhead {
                return Err(Self::corrupt(
                    what,
                    format!("truncated header: a pad of {pad} bytes but only {file_len} bytes in the file"),
                ));
            }
            // The pad is part of the checksummed header.
            rest.resize(rest.len() + usize::from(pad), 0);
            let start = name_len + 8 + pad_field;
            Self::read_exact(&mut r, what, &mut rest[start..], "header")?;
        }
        // Checked before anyone allocates payload_len bytes: a damaged length cannot ask
        // for more memory than the file has.
        if payload_len != file_len - overhead {
            return Err(Self::corrupt(
                what,
                format!(
                    "header says {payload_len} payload bytes but the file holds {} (truncated or damaged)",
                    file_len - overhead
                ),
            ));
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&fixed);
        crc.update(&rest);
        Ok(Self {
            r,
            what,
            crc,
            codec,
            payload_len,
        })
    }

    /// Fills `dst` (exactly `payload_len` bytes) with the payload.
    pub(crate) fn read_payload(&mut self, dst: &mut [u8]) -> Result<()> {
        if dst.len() as u64 != self.payload_len {
            return Err(Error::Storage(format!(
                "reading {}: buffer of {} bytes for a {}-byte payload",
                self.what,
                dst.len(),
                self.payload_len
            )));
        }
        for block in dst.chunks_mut(BLOCK) {
            Self::read_exact(&mut self.r, self.what, block, "payload")?;
            self.crc.update(block);
        }
        Ok(())
    }

    /// Reads the payload into a new byte vector, without zeroing it first.
    pub(crate) fn read_payload_vec(&mut self) -> Result<Vec<u8>> {
        let len = usize::try_from(self.payload_len).map_err(|_| {
            Error::Storage(format!("{}: payload too large for this host", self.what))
        })?;
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            let start = v.len();
            let want = (len - start).min(BLOCK) as u64;
            // read_to_end fills spare capacity without initialising it first.
            let got = (&mut self.r)
                .take(want)
                .read_to_end(&mut v)
                .map_err(|e| Error::Io(format!("reading {}: {e}", self.what)))?;
            if got == 0 {
                return Err(Self::corrupt(
                    self.what,
                    "file ends inside the payload (truncated)".into(),
                ));
            }
            self.crc.update(&v[start..]);
        }
        Ok(v)
    }

    /// Checks the CRC trailer and that the file ends there.
    pub(crate) fn finish(mut self) -> Result<()> {
        let mut trailer = [0u8; 4];
        Self::read_exact(&mut self.r, self.what, &mut trailer, "checksum")?;
        let stored = u32::from_le_bytes(trailer);
        let computed = self.crc.finalize();
        if stored != computed {
            return Err(Self::corrupt(
                self.what,
                format!(
                    "checksum mismatch: stored crc32 {stored:#010x}, computed {computed:#010x}"
                ),
            ));
        }
        let mut extra = [0u8; 1];
        match self.r.read(&mut extra) {
            Ok(0) => Ok(()),
            Ok(_) => Err(Self::corrupt(
                self.what,
                "bytes after the checksum trailer".into(),
            )),
            Err(e) => Err(Error::Io(format!("reading {}: {e}", self.what))),
        }
    }
}
