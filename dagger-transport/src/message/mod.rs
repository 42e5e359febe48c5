//! Frame payloads: serde messages in postcard, and raw buffers of plain numbers.
//!
//! A transport moves opaque frames; these helpers turn values into frame payloads and back.
//! Decoding bytes from a peer never panics: it is [`Error::Codec`] (the bytes are not a
//! `T`) or [`Error::Protocol`] (bytes left over after a `T`), and the message names `T`.
//!
//! ```
//! use dagger_transport::message::{decode_message, encode_message};
//! use serde::{Deserialize, Serialize};
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! enum ToWorker { Run { task: u64, args: Vec<u8> }, Shutdown }
//! let frame = encode_message(&ToWorker::Run { task: 7, args: vec![1, 2] }).unwrap();
//! assert_eq!(decode_message::<ToWorker>(&frame).unwrap(), ToWorker::Run { task: 7, args: vec![1, 2] });
//! let err = decode_message::<ToWorker>(&[9, 9, 9]).unwrap_err();
//! assert!(err.to_string().contains("ToWorker"));
//! ```

mod raw;

#[cfg(test)]
mod test;

pub use raw::{
    decode_raw, decode_raw_f32, decode_raw_f64, encode_raw, encode_raw_f32, encode_raw_f64,
    RawElement, RawHeader, RAW_HEADER_LEN, RAW_MAGIC,
};

use bytes::Bytes;
use dagger_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes `value` with postcard into a frame payload.
///
/// # Errors
/// [`Error::Codec`] when serde refuses the value (e.g. a map with non-string keys is fine,
/// but a type whose `Serialize` impl fails is not); the message names the type.
pub fn encode_message<T: Serialize + ?Sized>(value: &T) -> Result<Bytes> {
    postcard::to_allocvec(value)
        .map(Bytes::from)
        .map_err(|e| Error::Codec(format!("cannot encode {}: {e}", std::any::type_name::<T>())))
}

/// Decodes a frame payload made by [`encode_message`].
///
/// # Errors
/// [`Error::Codec`] when the bytes are not a valid `T`; [`Error::Protocol`] when a valid
/// `T` is followed by extra bytes (the peer and this process disagree on the message type).
/// Both messages name `T`.
pub fn decode_message<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let name = std::any::type_name::<T>();
    let (value, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|e| {
        Error::Codec(format!(
            "cannot decode {name} from {} bytes: {e}",
            bytes.len()
        ))
    })?;
    if !rest.is_empty() {
        return Err(Error::Protocol(format!(
            "{} trailing bytes after a {name} message of {} bytes",
            rest.len(),
            bytes.len() - rest.len()
        )));
    }
    Ok(value)
}
