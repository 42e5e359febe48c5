//! The [`Postcard`] codec for any serde type.

use bytes::Bytes;
use dagger_core::{Codec, Error, Result};
use serde::{de::DeserializeOwned, Serialize};

/// Encodes any `serde` type with [`postcard`]: compact, varint integers, no schema.
///
/// Decoding requires the whole input to be consumed, so trailing garbage is an error too.
///
/// # Examples
///
/// ```
/// use dagger_core::Codec;
/// use dagger_storage::Postcard;
/// let bytes = Postcard.encode(&(1u32, "two".to_string())).unwrap();
/// let back: (u32, String) = Postcard.decode(&bytes).unwrap();
/// assert_eq!(back, (1, "two".to_string()));
/// assert!(<Postcard as Codec<(u32, String)>>::decode(&Postcard, &[0xff]).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Postcard;

impl<T: Serialize + DeserializeOwned> Codec<T> for Postcard {
    fn name(&self) -> &'static str {
        "postcard"
    }

    fn encode(&self, value: &T) -> Result<Bytes> {
        postcard::to_stdvec(value).map(Bytes::from).map_err(|e| {
            Error::Codec(format!(
                "postcard encode of {}: {e}",
                std::any::type_name::<T>()
            ))
        })
    }

    fn decode(&self, bytes: &[u8]) -> Result<T> {
        let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| {
            Error::Codec(format!(
                "postcard decode of {} from {} bytes: {e}",
                std::any::type_name::<T>(),
                bytes.len()
            ))
        })?;
        if !rest.is_empty() {
            return Err(Error::Codec(format!(
                "postcard decode of {}: {} trailing bytes",
                std::any::type_name::<T>(),
                rest.len()
            )));
        }
        Ok(value)
    }
}
