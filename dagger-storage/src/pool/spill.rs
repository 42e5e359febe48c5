//! [`SpillCodec`]: how the pool turns a type-erased value into bytes and back.

use crate::codec::{RawLe, RawNumber};
use bytes::Bytes;
use dagger_core::{Codec, Error, Result};
use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

/// A live value in the pool: shared, type-erased, never serialized while resident.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

type EncodeFn = dyn Fn(&(dyn Any + Send + Sync)) -> Result<Bytes> + Send + Sync;
type DecodeFn = dyn Fn(&[u8]) -> Result<AnyValue> + Send + Sync;
/// Lets a reader write a value's bytes into memory the value already owns.
type FillFn<'a> = &'a mut dyn FnMut(&mut [u8]) -> Result<()>;

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
    raw: Option<RawAccess>,
}

/// Direct access to the bytes of a value that is a plain array of numbers stored with
/// [`RawLe`] on a little-endian host, where the value's memory *is* its encoding. The pool
/// uses it to stream such values to and from a local disk with no intermediate buffer.
#[derive(Clone, Copy)]
pub(crate) struct RawAccess {
    /// The value's bytes (its encoding).
    pub(crate) bytes: for<'a> fn(&'a (dyn Any + Send + Sync)) -> Option<&'a [u8]>,
    /// Allocates a value of `len` bytes and lets `fill` write them.
    pub(crate) read: fn(usize, FillFn<'_>) -> Result<AnyValue>,
    /// For byte-sized elements: turns a byte vector into the value without copying (so
    /// the reader need not zero a buffer first).
    pub(crate) from_bytes: Option<fn(Vec<u8>) -> Result<AnyValue>>,
}

fn cast_bytes<E: RawNumber>(v: Vec<u8>) -> Result<Vec<E>> {
    bytemuck::allocation::try_cast_vec::<u8, E>(v)
        .map_err(|(e, _)| Error::Codec(format!("bytes into {}: {e:?}", E::CODEC_NAME)))
}

fn vec_from_bytes<E: RawNumber>(v: Vec<u8>) -> Result<AnyValue> {
    Ok(Arc::new(cast_bytes::<E>(v)?))
}

fn boxed_from_bytes<E: RawNumber>(v: Vec<u8>) -> Result<AnyValue> {
    Ok(Arc::new(cast_bytes::<E>(v)?.into_boxed_slice()))
}

fn vec_bytes<E: RawNumber>(v: &(dyn Any + Send + Sync)) -> Option<&[u8]> {
    v.downcast_ref::<Vec<E>>()
        .map(|v| bytemuck::cast_slice(v.as_slice()))
}

fn boxed_bytes<E: RawNumber>(v: &(dyn Any + Send + Sync)) -> Option<&[u8]> {
    v.downcast_ref::<Box<[E]>>()
        .map(|v| bytemuck::cast_slice(&v[..]))
}

fn alloc_filled<E: RawNumber>(len: usize, fill: FillFn<'_>) -> Result<Vec<E>> {
    let size = std::mem::size_of::<E>();
    #[allow(clippy::manual_is_multiple_of)] // usize::is_multiple_of is newer than our MSRV
    if len % size != 0 {
        return Err(Error::Codec(format!(
            "{len} bytes is not a whole number of {size}-byte elements for {}",
            E::CODEC_NAME
        )));
    }
    let mut v = vec![E::zeroed(); len / size];
    fill(bytemuck::cast_slice_mut(&mut v))?;
    Ok(v)
}

fn vec_read<E: RawNumber>(len: usize, fill: FillFn<'_>) -> Result<AnyValue> {
    Ok(Arc::new(alloc_filled::<E>(len, fill)?))
}

fn boxed_read<E: RawNumber>(len: usize, fill: FillFn<'_>) -> Result<AnyValue> {
    Ok(Arc::new(alloc_filled::<E>(len, fill)?.into_boxed_slice()))
}

/// The raw access for `T` stored with codec `C`, if `C` is [`RawLe`] and `T` a vector or
/// boxed slice of a [`RawNumber`].
fn raw_access<T: 'static, C: 'static>() -> Option<RawAccess> {
    if cfg!(target_endian = "big") || TypeId::of::<C>() != TypeId::of::<RawLe>() {
        return None;
    }
    macro_rules! try_types {
        ($($e:ty),*) => {$(
            if TypeId::of::<T>() == TypeId::of::<Vec<$e>>() {
                return Some(RawAccess {
                    bytes: vec_bytes::<$e>,
                    read: vec_read::<$e>,
                    from_bytes: (std::mem::align_of::<$e>() == 1).then_some(vec_from_bytes::<$e> as fn(Vec<u8>) -> Result<AnyValue>),
                });
            }
            if TypeId::of::<T>() == TypeId::of::<Box<[$e]>>() {
                return Some(RawAccess {
                    bytes: boxed_bytes::<$e>,
                    read: boxed_read::<$e>,
                    from_bytes: (std::mem::align_of::<$e>() == 1).then_some(boxed_from_bytes::<$e> as fn(Vec<u8>) -> Result<AnyValue>),
                });
            }
        )*};
    }
    try_types!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);
    None
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
            raw: raw_access::<T, C>(),
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
            raw: None,
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

    /// Direct byte access, for plain arrays of numbers under [`RawLe`].
    pub(crate) fn raw(&self) -> Option<RawAccess> {
        self.raw
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
            .field("raw", &self.raw.is_some())
            .finish()
    }
}
