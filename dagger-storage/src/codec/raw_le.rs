//! The [`RawLe`] codec: plain numbers as raw little-endian bytes.

use bytes::Bytes;
use dagger_core::{Codec, Error, Result};

/// A plain number type [`RawLe`] can store: `u8`..`u64`, `i8`..`i64`, `f32`, `f64`.
///
/// Sealed: the byte layout of each type is part of the stored format.
pub trait RawNumber: bytemuck::Pod + sealed::Sealed + Send + Sync + 'static {
    /// The codec name recorded beside the bytes, e.g. `raw-le-f64`.
    const CODEC_NAME: &'static str;
    /// Converts between native and little-endian byte order (identity on little-endian hosts).
    fn swap_le(self) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! raw_number {
    ($($t:ty => $name:literal;)*) => {$(
        impl sealed::Sealed for $t {}
        impl RawNumber for $t {
            const CODEC_NAME: &'static str = $name;
            fn swap_le(self) -> Self {
                <$t>::from_bits_le(self)
            }
        }
    )*};
}

/// `from_bits_le` for every supported type: integers swap bytes, floats swap their bit pattern.
trait FromBitsLe: Sized {
    fn from_bits_le(v: Self) -> Self;
}
macro_rules! int_le { ($($t:ty),*) => {$(impl FromBitsLe for $t { fn from_bits_le(v: Self) -> Self { <$t>::from_le(v) } })*}; }
int_le!(u8, u16, u32, u64, i8, i16, i32, i64);
impl FromBitsLe for f32 {
    fn from_bits_le(v: Self) -> Self {
        f32::from_bits(u32::from_le(v.to_bits()))
    }
}
impl FromBitsLe for f64 {
    fn from_bits_le(v: Self) -> Self {
        f64::from_bits(u64::from_le(v.to_bits()))
    }
}

raw_number! {
    u8 => "raw-le-u8";
    u16 => "raw-le-u16";
    u32 => "raw-le-u32";
    u64 => "raw-le-u64";
    i8 => "raw-le-i8";
    i16 => "raw-le-i16";
    i32 => "raw-le-i32";
    i64 => "raw-le-i64";
    f32 => "raw-le-f32";
    f64 => "raw-le-f64";
}

/// Stores `Vec<T>` / `Box<[T]>` of a [`RawNumber`] as its raw little-endian bytes.
///
/// No length prefix and no per-element work: the byte length says how many elements there
/// are, and on little-endian hosts encoding and decoding are one copy each.
///
/// # Examples
///
/// ```
/// use dagger_core::Codec;
/// use dagger_storage::RawLe;
/// let v = vec![1.5f64, -2.0];
/// let bytes = RawLe.encode(&v).unwrap();
/// assert_eq!(bytes.len(), 16);
/// assert_eq!(&bytes[..8], &1.5f64.to_le_bytes());
/// let back: Vec<f64> = RawLe.decode(&bytes).unwrap();
/// assert_eq!(back, v);
/// assert!(<RawLe as Codec<Vec<f64>>>::decode(&RawLe, &[0; 7]).is_err()); // not a whole f64
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawLe;

impl RawLe {
    /// Encodes a slice of numbers (the same bytes as [`Codec::encode`] on a `Vec`).
    pub fn encode_slice<T: RawNumber>(values: &[T]) -> Bytes {
        if cfg!(target_endian = "little") {
            Bytes::copy_from_slice(bytemuck::cast_slice(values))
        } else {
            let swapped: Vec<T> = values.iter().map(|v| v.swap_le()).collect();
            Bytes::copy_from_slice(bytemuck::cast_slice(&swapped))
        }
    }

    /// Decodes raw little-endian bytes into a vector of numbers.
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] if the length is not a whole number of elements.
    pub fn decode_vec<T: RawNumber>(bytes: &[u8]) -> Result<Vec<T>> {
        let size = std::mem::size_of::<T>();
        #[allow(clippy::manual_is_multiple_of)] // usize::is_multiple_of is newer than our MSRV
        if bytes.len() % size != 0 {
            return Err(Error::Codec(format!(
                "{} bytes is not a whole number of {}-byte elements for {}",
                bytes.len(),
                size,
                T::CODEC_NAME
            )));
        }
        // A typed, zeroed Vec is correctly aligned for T; the bytes are copied into it.
        let mut out = vec![T::zeroed(); bytes.len() / size];
        bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(bytes);
        if cfg!(target_endian = "big") {
            for v in &mut out {
                *v = v.swap_le();
            }
        }
        Ok(out)
    }
}

impl<T: RawNumber> Codec<Vec<T>> for RawLe {
    fn name(&self) -> &'static str {
        T::CODEC_NAME
    }

    fn encode(&self, value: &Vec<T>) -> Result<Bytes> {
        Ok(Self::encode_slice(value))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Vec<T>> {
        Self::decode_vec(bytes)
    }
}

impl<T: RawNumber> Codec<Box<[T]>> for RawLe {
    fn name(&self) -> &'static str {
        T::CODEC_NAME
    }

    fn encode(&self, value: &Box<[T]>) -> Result<Bytes> {
        Ok(Self::encode_slice(value))
    }

    fn decode(&self, bytes: &[u8]) -> Result<Box<[T]>> {
        Self::decode_vec(bytes).map(Vec::into_boxed_slice)
    }
}
