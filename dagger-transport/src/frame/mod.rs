//! Length-prefixed frames: the wire format under every message.
//!
//! A frame on the wire is a 4-byte little-endian length `n` followed by `n` payload bytes.
//! There is no other framing: the handshake, postcard messages and raw numeric buffers are
//! all frame payloads. A receiver enforces a maximum payload length (by default
//! [`DEFAULT_MAX_FRAME_LEN`]) *before* it allocates anything for the frame, so a peer cannot
//! make this process reserve gigabytes with four bytes.
//!
//! [`FrameDecoder`] is a push parser: it takes byte chunks of any size, as they come off a
//! socket, and yields whole frames. It never panics on any input; what is wrong with a
//! stream is an [`Error::Protocol`] that says what (an oversized length, a stream that ended
//! inside a frame), after which the decoder stays failed.
//!
//! ```
//! use dagger_transport::frame::{encode_frame, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
//! let mut wire = encode_frame(b"hello", DEFAULT_MAX_FRAME_LEN).unwrap().to_vec();
//! wire.extend_from_slice(&encode_frame(b"", DEFAULT_MAX_FRAME_LEN).unwrap());
//! let mut dec = FrameDecoder::new(DEFAULT_MAX_FRAME_LEN);
//! dec.push(&wire[..3]); // half a header: nothing yet
//! assert_eq!(dec.next_frame().unwrap(), None);
//! dec.push(&wire[3..]);
//! assert_eq!(&dec.next_frame().unwrap().unwrap()[..], b"hello");
//! assert_eq!(&dec.next_frame().unwrap().unwrap()[..], b"");
//! assert!(dec.finish().is_ok()); // the stream ended on a frame boundary
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use dagger_core::{Error, Result};

#[cfg(test)]
mod test;

/// Bytes in the length prefix of every frame.
pub const LEN_PREFIX: usize = 4;

/// The default largest payload a receiver accepts: 256 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 256 << 20;

/// The largest maximum a decoder can be configured with: what a `u32` length can say.
pub const ABSOLUTE_MAX_FRAME_LEN: usize = u32::MAX as usize;

/// Smallest read a decoder asks the socket for, so small frames are read many at a time.
const MIN_READ: usize = 16 << 10;
/// Largest single growth of the read buffer, so a claimed-but-unsent large frame costs
/// memory only as its bytes actually arrive.
const MAX_GROWTH: usize = 4 << 20;

/// Checks a payload length against `max_len` and returns it as the wire's `u32`.
///
/// # Errors
/// [`Error::Protocol`] when `len` is above `max_len` (or above what a `u32` can say).
pub fn check_len(len: usize, max_len: usize) -> Result<u32> {
    let max = max_len.min(ABSOLUTE_MAX_FRAME_LEN);
    if len > max {
        return Err(Error::Protocol(format!(
            "frame of {len} bytes exceeds the maximum frame size of {max} bytes"
        )));
    }
    // ok: len <= max <= u32::MAX was checked just above.
    Ok(len as u32)
}

/// Appends one frame (length prefix and payload) to `buf`.
///
/// ```
/// use bytes::BytesMut;
/// use dagger_transport::frame::encode_frame_into;
/// let mut buf = BytesMut::new();
/// encode_frame_into(&mut buf, b"ab", 16).unwrap();
/// assert_eq!(&buf[..], &[2, 0, 0, 0, b'a', b'b']);
/// assert!(encode_frame_into(&mut buf, &[0; 17], 16).is_err());
/// ```
///
/// # Errors
/// [`Error::Protocol`] when the payload is longer than `max_len`; `buf` is then unchanged.
pub fn encode_frame_into(buf: &mut BytesMut, payload: &[u8], max_len: usize) -> Result<()> {
    let len = check_len(payload.len(), max_len)?;
    buf.reserve(LEN_PREFIX + payload.len());
    buf.put_u32_le(len);
    buf.put_slice(payload);
    Ok(())
}

/// Encodes one frame (length prefix and payload) into a new buffer.
///
/// # Errors
/// [`Error::Protocol`] when the payload is longer than `max_len`.
pub fn encode_frame(payload: &[u8], max_len: usize) -> Result<Bytes> {
    let mut buf = BytesMut::with_capacity(LEN_PREFIX + payload.len());
    encode_frame_into(&mut buf, payload, max_len)?;
    Ok(buf.freeze())
}

/// A streaming frame parser: push bytes in, take whole frames out.
///
/// Frames come out as [`Bytes`] that share the decoder's read buffer, so a burst of small
/// frames costs one buffer and no copies. See the [module docs](self) for an example.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    max_len: usize,
    failed: Option<Error>,
}

impl Default for FrameDecoder {
    /// A decoder with the [`DEFAULT_MAX_FRAME_LEN`].
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder that rejects payloads longer than `max_len` bytes (capped at
    /// [`ABSOLUTE_MAX_FRAME_LEN`]).
    pub fn new(max_len: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_len: max_len.min(ABSOLUTE_MAX_FRAME_LEN),
            failed: None,
        }
    }

    /// The largest payload this decoder accepts.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Changes the largest payload accepted from now on (the handshake runs with a small
    /// limit, then the connection switches to the configured one without losing bytes
    /// already buffered).
    pub fn set_max_len(&mut self, max_len: usize) {
        self.max_len = max_len.min(ABSOLUTE_MAX_FRAME_LEN);
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether the stream was found malformed (every later call returns that error).
    pub fn is_failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Appends bytes received from the peer.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the next frame's declared length exceeds the maximum. The
    /// decoder is then failed: this and every later call returns the same error.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(len) = self.peek_len() else {
            return Ok(None);
        };
        if len > self.max_len {
            let e = Error::Protocol(format!(
                "frame length {len} exceeds the maximum frame size of {} bytes",
                self.max_len
            ));
            self.fail(e.clone());
            return Err(e);
        }
        if self.buf.len() < LEN_PREFIX + len {
            return Ok(None);
        }
        self.buf.advance(LEN_PREFIX);
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// Declares the end of the stream.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the stream ended inside a frame (a truncated header or
    /// payload), or if the decoder had already failed.
    pub fn finish(&self) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match (self.buf.len(), self.peek_len()) {
            (0, _) => Ok(()),
            (have, None) => Err(Error::Protocol(format!(
                "stream truncated inside a frame header: {have} of {LEN_PREFIX} length bytes arrived"
            ))),
            (have, Some(len)) => Err(Error::Protocol(format!(
                "stream truncated inside a frame: header says {len} payload bytes, {} arrived",
                have - LEN_PREFIX
            ))),
        }
    }

    /// The buffer a reader should append socket bytes to, with room reserved for the next
    /// read (enough for the frame in progress, within limits).
    pub(crate) fn read_target(&mut self) -> &mut BytesMut {
        let want = match self.peek_len() {
            Some(len) if len <= self.max_len => (LEN_PREFIX + len).saturating_sub(self.buf.len()),
            _ => 0,
        };
        let target = want.clamp(MIN_READ, MAX_GROWTH);
        if self.buf.capacity() - self.buf.len() < target {
            self.buf.reserve(target);
        }
        &mut self.buf
    }

    /// Marks the stream failed with `e` and drops what was buffered.
    pub(crate) fn fail(&mut self, e: Error) {
        self.buf = BytesMut::new();
        self.failed = Some(e);
    }

    fn peek_len(&self) -> Option<usize> {
        let h: [u8; LEN_PREFIX] = self.buf.get(..LEN_PREFIX)?.try_into().ok()?;
        Some(u32::from_le_bytes(h) as usize)
    }
}
