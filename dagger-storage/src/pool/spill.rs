//! [`SpillCodec`]: how the pool turns a type-erased value into bytes and back.

use bytes::Bytes;
use dagger_core::{Codec, Error, Result};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A live value in the pool: shared, type-erased, never serialized while resident.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

type EncodeFn = dyn Fn(&(dyn Any + Send + Sync)) -> Result<Bytes> + Send + Sync;
type DecodeFn = dyn Fn(&[u8]) -> Result<AnyValue> + Send + Sync;

/// Encodes a type-erased value for spilling and decodes it back.
///
/// Build one from any [`Codec<T>`] with [`SpillCodec::new`]; share it (`Arc`) between all
/// values of a type. A value put into the pool without a `SpillCodec` is pinned in memory.
///
/// # Examples
///
/// ```
/// use dagger_storage::{SpillCodec, Postcard};
/// use std::sync::Arc;
/// let codec = SpillCodec::new::<String, _>(Postcard);
/// let bytes = codec.encode(&"hi".to_string()).unwrap();
/// let back = codec.decode(&bytes).unwrap();
/// assert_eq!(back.downcast_ref::<String>().unwrap(), "hi");
/// assert!(codec.encode(&5u32).is_err()); // not a String
/// ```
pub struct SpillCodec {
    name: &'static str,
    type_name: &'static str,
    encode: Box<EncodeFn>,
    decode: Box<DecodeFn>,
}

impl SpillCodec {
    /// A spill codec for values of type `T`, through `codec`.
    pub fn new<T, C>(codec: C) -> Self
    where
        T: Send + Sync + 'static,
        C: Codec<T> + 'static,
    {
        let codec = Arc::new(codec);
        let dec = codec.clone();
        let type_name = std::any::type_name::<T>();
        Self {
            name: codec.name(),
            type_name,
            encode: Box::new(move |v| match v.downcast_ref::<T>() {
                Some(t) => codec.encode(t),
                None => Err(Error::Codec(format!(
                    "spill codec for {type_name} was given a value of another type"
                ))),
            }),
            decode: Box::new(move |b| dec.decode(b).map(|t| Arc::new(t) as AnyValue)),
        }
    }

    /// A spill codec from two functions, for values no [`Codec`] covers.
    pub fn from_fns(
        name: &'static str,
        encode: impl Fn(&(dyn Any + Send + Sync)) -> Result<Bytes> + Send + Sync + 'static,
        decode: impl Fn(&[u8]) -> Result<AnyValue> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            type_name: "(custom)",
            encode: Box::new(encode),
            decode: Box::new(decode),
        }
    }

    /// The codec name recorded in the chunk file.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The Rust type this codec handles, for messages.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Encodes a value.
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] if the value is of another type or the codec fails.
    pub fn encode(&self, value: &(dyn Any + Send + Sync)) -> Result<Bytes> {
        (self.encode)(value)
    }

    /// Decodes bytes into a value.
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] if the bytes are malformed.
    pub fn decode(&self, bytes: &[u8]) -> Result<AnyValue> {
        (self.decode)(bytes)
    }
}

impl fmt::Debug for SpillCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpillCodec")
            .field("name", &self.name)
            .field("type", &self.type_name)
            .finish()
    }
}
