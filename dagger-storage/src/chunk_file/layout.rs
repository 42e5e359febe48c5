//! The fixed parts of the chunk-file layout, shared by the whole-buffer codec
//! (`chunk_file.rs`) and the streaming one (`stream.rs`).

/// The first eight bytes of every chunk file.
pub const MAGIC: [u8; 8] = *b"DGRCHUNK";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes of a chunk file besides the codec name and the payload (header and CRC trailer).
pub(crate) const FIXED_HEADER: usize = 8 + 2 + 2 + 8 + 4;

/// The header bytes before the payload.
pub(crate) fn header_bytes(name_len: u16, codec_name: &str, payload_len: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(FIXED_HEADER + codec_name.len());
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&name_len.to_le_bytes());
    h.extend_from_slice(codec_name.as_bytes());
    h.extend_from_slice(&payload_len.to_le_bytes());
    h
}
