//! The [`Codec`] trait: turning values into bytes and back, for the wire and for storage.

use crate::error::Result;
use bytes::Bytes;

/// Encodes and decodes values of type `T`.
///
/// `dagger-storage` provides `postcard` for any serde type and a raw little-endian codec for
/// slices of plain numbers. Decoding bytes from outside must return an error, never panic.
///
/// ```
/// use dagger_core::{Codec, Error, Result};
/// use bytes::Bytes;
/// struct U32Le;
/// impl Codec<u32> for U32Le {
///     fn name(&self) -> &'static str { "u32le" }
///     fn encode(&self, v: &u32) -> Result<Bytes> { Ok(Bytes::copy_from_slice(&v.to_le_bytes())) }
///     fn decode(&self, b: &[u8]) -> Result<u32> {
///         let a: [u8; 4] = b.try_into().map_err(|_| Error::Codec(format!("{} bytes for a u32", b.len())))?;
///         Ok(u32::from_le_bytes(a))
///     }
/// }
/// assert_eq!(U32Le.decode(&U32Le.encode(&7).unwrap()).unwrap(), 7);
/// assert!(U32Le.decode(&[1, 2]).is_err());
/// ```
pub trait Codec<T>: Send + Sync {
    /// A short name, recorded beside stored bytes.
    fn name(&self) -> &'static str;
    /// Encodes a value.
    fn encode(&self, value: &T) -> Result<Bytes>;
    /// Decodes a value; malformed input is an error.
    fn decode(&self, bytes: &[u8]) -> Result<T>;
}
