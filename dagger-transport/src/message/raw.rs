//! Raw numeric buffers: plain numbers as little-endian bytes, no per-element encoding.
//!
//! Layout of a raw frame payload ([`RAW_HEADER_LEN`] = 16 bytes of header, then the data):
//!
//! | bytes | what |
//! | --- | --- |
//! | 0..4 | [`RAW_MAGIC`] `"DRAW"` |
//! | 4 | element type code ([`RawElement::CODE`]) |
//! | 5 | element size in bytes |
//! | 6..8 | reserved, zero |
//! | 8..16 | element count, `u64` little-endian |
//! | 16.. | the elements, little-endian |
//!
//! The header is 16 bytes so that the data stays 8-byte aligned inside an aligned buffer.

use bytes::{BufMut, Bytes, BytesMut};
use dagger_core::{Error, Result};

/// The first bytes of a raw numeric frame payload.
pub const RAW_MAGIC: [u8; 4] = *b"DRAW";
/// Bytes of header before the data of a raw frame.
pub const RAW_HEADER_LEN: usize = 16;

mod sealed {
    pub trait Sealed {}
}

/// A plain number type that can travel as raw little-endian bytes.
///
/// Implemented for `u8`, `i8`, `u16`, `i16`, `u32`, `i32`, `u64`, `i64`, `f32` and `f64`;
/// sealed, because each type's [`CODE`](Self::CODE) is part of the wire format.
pub trait RawElement: bytemuck::Pod + sealed::Sealed {
    /// The element type code written in the header.
    const CODE: u8;
    /// The type's name, for error messages.
    const NAME: &'static str;
    /// Converts between native and little-endian byte order (an involution).
    fn swap_to_le(self) -> Self;
}

macro_rules! raw_int {
    ($($t:ty => $code:expr),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl RawElement for $t {
            const CODE: u8 = $code;
            const NAME: &'static str = stringify!($t);
            fn swap_to_le(self) -> Self { self.to_le() }
        }
    )*};
}
raw_int!(u8 => 1, i8 => 2, u16 => 3, i16 => 4, u32 => 5, i32 => 6, u64 => 7, i64 => 8);

macro_rules! raw_float {
    ($($t:ty => $code:expr),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl RawElement for $t {
            const CODE: u8 = $code;
            const NAME: &'static str = stringify!($t);
            fn swap_to_le(self) -> Self { <$t>::from_bits(self.to_bits().to_le()) }
        }
    )*};
}
raw_float!(f32 => 9, f64 => 10);

fn code_name(code: u8) -> &'static str {
    match code {
        1 => "u8",
        2 => "i8",
        3 => "u16",
        4 => "i16",
        5 => "u32",
        6 => "i32",
        7 => "u64",
        8 => "i64",
        9 => "f32",
        10 => "f64",
        _ => "unknown",
    }
}

/// The header of a raw frame, for a receiver that must look before it decodes.
///
/// ```
/// use dagger_transport::message::{encode_raw_f64, RawHeader};
/// let h = RawHeader::parse(&encode_raw_f64(&[1.0, 2.0])).unwrap();
/// assert_eq!((h.elem_name, h.elem_size, h.count), ("f64", 8, 2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawHeader {
    /// The element type code.
    pub elem_code: u8,
    /// The element type's name (`"unknown"` for a code this build does not know).
    pub elem_name: &'static str,
    /// Bytes per element.
    pub elem_size: u8,
    /// Number of elements.
    pub count: u64,
}

impl RawHeader {
    /// Parses the header of a raw frame payload and checks the data length against it.
    ///
    /// # Errors
    /// [`Error::Protocol`] when the bytes are not a raw frame (too short, bad magic) or when
    /// the header's count does not match the data that follows.
    pub fn parse(b: &[u8]) -> Result<RawHeader> {
        let h: &[u8; RAW_HEADER_LEN] = b
            .get(..RAW_HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| {
                Error::Protocol(format!(
                    "raw frame of {} bytes is shorter than its header",
                    b.len()
                ))
            })?;
        if h[..4] != RAW_MAGIC {
            return Err(Error::Protocol(format!(
                "raw frame has bad magic {:02x?}",
                &h[..4]
            )));
        }
        let (elem_code, elem_size) = (h[4], h[5]);
        let count = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        let data = (b.len() - RAW_HEADER_LEN) as u64;
        if count.checked_mul(u64::from(elem_size)) != Some(data) {
            return Err(Error::Protocol(format!(
                "raw frame header says {count} elements of {elem_size} bytes but {data} data bytes follow"
            )));
        }
        Ok(RawHeader {
            elem_code,
            elem_name: code_name(elem_code),
            elem_size,
            count,
        })
    }
}

/// Encodes plain numbers as a raw frame payload.
///
/// ```
/// use dagger_transport::message::{decode_raw, encode_raw};
/// let b = encode_raw(&[1i32, -2, 3]);
/// assert_eq!(b.len(), 16 + 12);
/// assert_eq!(decode_raw::<i32>(&b).unwrap(), vec![1, -2, 3]);
/// assert!(decode_raw::<u32>(&b).is_err()); // the header says i32
/// ```
pub fn encode_raw<T: RawElement>(values: &[T]) -> Bytes {
    let size = std::mem::size_of::<T>();
    let mut b = BytesMut::with_capacity(RAW_HEADER_LEN + std::mem::size_of_val(values));
    b.put_slice(&RAW_MAGIC);
    b.put_u8(T::CODE);
    // ok: every RawElement is at most 8 bytes.
    b.put_u8(size as u8);
    b.put_u16_le(0);
    b.put_u64_le(values.len() as u64);
    if cfg!(target_endian = "little") {
        b.put_slice(bytemuck::cast_slice(values));
    } else {
        for v in values {
            b.put_slice(bytemuck::bytes_of(&v.swap_to_le()));
        }
    }
    b.freeze()
}

/// Decodes a raw frame payload of `T`s.
///
/// # Errors
/// [`Error::Codec`] when the frame holds another element type (the message names both);
/// [`Error::Protocol`] when it is not a well-formed raw frame.
pub fn decode_raw<T: RawElement>(b: &[u8]) -> Result<Vec<T>> {
    let h = RawHeader::parse(b)?;
    if h.elem_code != T::CODE || usize::from(h.elem_size) != std::mem::size_of::<T>() {
        return Err(Error::Codec(format!(
            "raw frame holds {} ({}-byte elements), expected {}",
            h.elem_name,
            h.elem_size,
            T::NAME
        )));
    }
    let data = &b[RAW_HEADER_LEN..];
    // The length was checked against the header, so this allocation is bounded by the
    // bytes actually received.
    let mut out = vec![T::zeroed(); data.len() / std::mem::size_of::<T>()];
    bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(data);
    if cfg!(target_endian = "big") {
        for v in &mut out {
            *v = v.swap_to_le();
        }
    }
    Ok(out)
}

/// [`encode_raw`] for `f64`.
pub fn encode_raw_f64(values: &[f64]) -> Bytes {
    encode_raw(values)
}

/// [`decode_raw`] for `f64`.
///
/// # Errors
/// As [`decode_raw`].
pub fn decode_raw_f64(b: &[u8]) -> Result<Vec<f64>> {
    decode_raw(b)
}

/// [`encode_raw`] for `f32`.
pub fn encode_raw_f32(values: &[f32]) -> Bytes {
    encode_raw(values)
}

/// [`decode_raw`] for `f32`.
///
/// # Errors
/// As [`decode_raw`].
pub fn decode_raw_f32(b: &[u8]) -> Result<Vec<f32>> {
    decode_raw(b)
}
