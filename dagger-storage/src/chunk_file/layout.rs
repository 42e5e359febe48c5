//! The fixed parts of the chunk-file layout, shared by the whole-buffer codec
//! (`chunk_file.rs`) and the streaming one (`stream.rs`).

/// The first eight bytes of every chunk file.
pub const MAGIC: [u8; 8] = *b"DGRCHUNK";
/// The format version [`encode_chunk_file`](super::encode_chunk_file) writes: the compact
/// layout, payload right after the header.
pub const VERSION: u16 = 1;
/// The format version of a file whose payload starts at a multiple of 4 096 bytes (a page; a
/// pad follows the header): what the pool streams large values to a local disk as.
pub const VERSION_ALIGNED: u16 = 2;
/// Bytes of a chunk file besides the codec name and the payload (header and CRC trailer).
pub(crate) const FIXED_HEADER: usize = 8 + 2 + 2 + 8 + 4;
/// What an aligned file's header has beyond a compact one's: the pad length.
pub(crate) const PAD_FIELD: usize = 2;
/// Where an aligned file's payload may start: a page. Why: the kernel copies a write that
/// starts inside a page into the page cache at about half the speed of a page-aligned one
/// (measured on ext4: 8 MiB values behind a 29-byte header, 0.8 GB/s; behind 4 096 bytes,
/// 1.7 GB/s, as fast as `std::fs::write` of the bare bytes).
pub(crate) const ALIGN: usize = 4096;
/// Payloads from this size on are streamed in the aligned layout: its pad (under [`ALIGN`]
/// bytes) is then at most 1.6 % of the file.
pub(crate) const ALIGN_FROM: usize = 256 << 10;

/// Which layout a file takes and what that makes of its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// [`VERSION`] or [`VERSION_ALIGNED`].
    pub(crate) version: u16,
    /// Zero bytes between the header and the payload (aligned layout only).
    pub(crate) pad: u16,
}

impl Layout {
    /// The compact layout.
    pub(crate) const COMPACT: Layout = Layout {
        version: VERSION,
        pad: 0,
    };

    /// The layout the streaming writer picks for a payload of `payload_len` bytes under
    /// `codec_name`: aligned from [`ALIGN_FROM`] bytes on, compact below.
    pub(crate) fn streamed(codec_name: &str, payload_len: usize) -> Layout {
        if payload_len < ALIGN_FROM {
            return Layout::COMPACT;
        }
        let header = FIXED_HEADER - 4 + PAD_FIELD + codec_name.len();
        Layout {
            version: VERSION_ALIGNED,
            // Below ALIGN, so it fits the u16 field.
            pad: ((ALIGN - header % ALIGN) % ALIGN) as u16,
        }
    }

    /// Bytes before the payload.
    pub(crate) fn header_len(&self, codec_name_len: usize) -> usize {
        let extra = if self.version == VERSION_ALIGNED {
            PAD_FIELD + usize::from(self.pad)
        } else {
            0
        };
        FIXED_HEADER - 4 + codec_name_len + extra
    }

    /// The whole file's length.
    pub(crate) fn file_len(&self, codec_name_len: usize, payload_len: usize) -> usize {
        self.header_len(codec_name_len) + payload_len + 4
    }
}

/// The header bytes before the payload, in `layout` (the pad included).
pub(crate) fn header_bytes(
    layout: Layout,
    name_len: u16,
    codec_name: &str,
    payload_len: u64,
) -> Vec<u8> {
    let mut h = Vec::with_capacity(layout.header_len(codec_name.len()));
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&layout.version.to_le_bytes());
    h.extend_from_slice(&name_len.to_le_bytes());
    h.extend_from_slice(codec_name.as_bytes());
    h.extend_from_slice(&payload_len.to_le_bytes());
    if layout.version == VERSION_ALIGNED {
        h.extend_from_slice(&layout.pad.to_le_bytes());
        h.resize(h.len() + usize::from(layout.pad), 0);
    }
    h
}
