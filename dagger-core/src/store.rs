//! The [`ChunkStore`] trait: bytes at rest, by key.
//!
//! Backends live in `dagger-storage` (memory, local disk, `object_store`); a third party adds
//! one by implementing this trait and proves it with `dagger-storage`'s conformance suite.

use crate::error::{Error, Result};
use crate::ids::ChunkId;
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A key in a store: a relative path of `[A-Za-z0-9._-]` segments separated by `/`.
///
/// ```
/// use dagger_core::StoreKey;
/// assert!(StoreKey::new("chunks/c12").is_ok());
/// assert!(StoreKey::new("../etc/passwd").is_err());
/// assert!(StoreKey::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StoreKey(String);

impl StoreKey {
    /// Validates and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let ok_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if key.is_empty() || !key.split('/').all(ok_segment) {
            return Err(Error::Argument(format!("invalid store key {key:?}")));
        }
        Ok(Self(key))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place to keep bytes by key: memory, a local directory, an object store bucket.
#[async_trait]
pub trait ChunkStore: Send + Sync + fmt::Debug + 'static {
    /// Where this store keeps things, for messages (`"memory"`, `"file:///tmp/x"`, `"s3://b/p"`).
    fn location(&self) -> String;

    /// Stores `value` under `key`, replacing any previous value.
    async fn put(&self, key: &StoreKey, value: Bytes) -> Result<()>;

    /// The value under `key`; [`Error::NotFound`] naming the key if there is none.
    async fn get(&self, key: &StoreKey) -> Result<Bytes>;

    /// Removes `key`. Removing a missing key is not an error.
    async fn delete(&self, key: &StoreKey) -> Result<()>;

    /// The keys that start with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<StoreKey>>;
}

/// What a [`ResultStore`] holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultStats {
    /// Results held (in memory or spilled).
    pub chunks: u64,
    /// Bytes held in memory now.
    pub memory_bytes: u64,
    /// The most bytes ever held in memory at once.
    pub peak_memory_bytes: u64,
    /// Bytes spilled to storage now.
    pub spilled_bytes: u64,
}

/// A type-erased value held unserialized (shared, so a store and a task can both hold it).
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// How to turn a type-erased [`AnyValue`] of one Rust type into bytes and back: a pair of
/// monomorphized functions (the scheduler's `register!` makes one per result type).
///
/// Plain function pointers keep it `Copy` and free to pass around with every value.
#[derive(Clone, Copy)]
pub struct ValueCodec {
    /// The encoding's name, recorded beside spilled bytes (e.g. `"postcard"`).
    pub name: &'static str,
    /// The Rust type it handles, for messages.
    pub type_name: &'static str,
    /// Encodes a value of the type; a value of another type is an [`Error::Codec`].
    pub encode: fn(&(dyn Any + Send + Sync)) -> Result<Bytes>,
    /// Decodes bytes into a value of the type; malformed bytes are an [`Error::Codec`].
    pub decode: fn(&[u8]) -> Result<AnyValue>,
}

impl fmt::Debug for ValueCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValueCodec({} for {})", self.name, self.type_name)
    }
}

/// A result kept unserialized: the value, how to encode it when bytes are needed (a peer
/// asks, the driver fetches, a pool spills), and its size in memory.
///
/// `size` is an estimate of the bytes the value occupies in memory, used for memory limits
/// and placement; it is exact only for types whose deep size is known (see the scheduler's
/// size registry), and never measured by encoding a large value.
///
/// ```
/// use dagger_core::{AnyValue, Error, LiveValue, ValueCodec};
/// use std::sync::Arc;
/// fn enc(v: &(dyn std::any::Any + Send + Sync)) -> dagger_core::Result<bytes::Bytes> {
///     let n = v.downcast_ref::<u32>().ok_or_else(|| Error::Codec("not a u32".into()))?;
///     Ok(bytes::Bytes::copy_from_slice(&n.to_le_bytes()))
/// }
/// fn dec(b: &[u8]) -> dagger_core::Result<AnyValue> {
///     let a: [u8; 4] = b.try_into().map_err(|_| Error::Codec("not 4 bytes".into()))?;
///     Ok(Arc::new(u32::from_le_bytes(a)))
/// }
/// let codec = ValueCodec { name: "u32le", type_name: "u32", encode: enc, decode: dec };
/// let v = LiveValue::new(Arc::new(7u32), codec, 4);
/// let bytes = v.encode().unwrap();
/// assert_eq!(v.codec.decode_value(&bytes).unwrap().downcast_ref::<u32>(), Some(&7));
/// assert_eq!(v.downcast_ref::<u32>(), Some(&7));
/// ```
#[derive(Clone)]
pub struct LiveValue {
    /// The value.
    pub value: AnyValue,
    /// How to encode (and decode) it.
    pub codec: ValueCodec,
    /// Its estimated size in memory, in bytes.
    pub size: u64,
}

impl ValueCodec {
    /// Encodes `value` with this codec.
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] if the value is of another type or does not encode.
    pub fn encode_value(&self, value: &(dyn Any + Send + Sync)) -> Result<Bytes> {
        (self.encode)(value)
    }

    /// Decodes `bytes` with this codec.
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] if the bytes are malformed.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<AnyValue> {
        (self.decode)(bytes)
    }
}

impl LiveValue {
    /// A live value.
    pub fn new(value: AnyValue, codec: ValueCodec, size: u64) -> Self {
        LiveValue { value, codec, size }
    }

    /// Its bytes, through its codec.
    ///
    /// # Errors
    ///
    /// The codec's errors.
    pub fn encode(&self) -> Result<Bytes> {
        (self.codec.encode)(self.value.as_ref())
    }

    /// The value as a `T`, if it is one.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.value.as_ref().downcast_ref::<T>()
    }
}

impl fmt::Debug for LiveValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveValue")
            .field("codec", &self.codec)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Where a worker keeps the results it owns (and copies it fetched), by chunk id: encoded
/// bytes, or live values kept unserialized until bytes are needed.
/// The scheduler's default keeps them in memory; `dagger-storage`'s pool keeps them under a
/// memory limit and spills the least recently used to a [`ChunkStore`].
///
/// A store that only knows bytes implements the four required methods; the live-value
/// methods then default to encoding on `put_value` and never handing out live values.
pub trait ResultStore: Send + Sync + fmt::Debug {
    /// Keeps `bytes` as chunk `id`.
    fn put(&self, id: ChunkId, bytes: Bytes) -> Result<()>;
    /// The bytes of chunk `id` (encoding it if it is held live); [`Error::NotFound`] if it
    /// is not here.
    fn get(&self, id: ChunkId) -> Result<Bytes>;
    /// Forgets chunk `id` (and deletes any spilled copy). Missing ids are not an error.
    fn remove(&self, id: ChunkId) -> Result<()>;
    /// What is held.
    fn stats(&self) -> ResultStats;

    /// Keeps a live value as chunk `id`. The default encodes it and calls
    /// [`put`](Self::put); stores that can hold values unserialized override it.
    ///
    /// # Errors
    ///
    /// The codec's errors, and the store's.
    fn put_value(&self, id: ChunkId, value: LiveValue) -> Result<()> {
        self.put(id, value.encode()?)
    }

    /// Chunk `id` as a live value, if it is held as one (`Ok(None)`: held as bytes only, or
    /// not here — ask [`get`](Self::get)). The default never holds live values.
    ///
    /// # Errors
    ///
    /// Reading back a spilled value can fail (a damaged file, a store error).
    fn get_value(&self, id: ChunkId) -> Result<Option<LiveValue>> {
        let _ = id;
        Ok(None)
    }

    /// Whether chunk `id` is here. The default asks [`get`](Self::get); a store that can
    /// tell without reading (or making an error for a missing id) overrides it: a worker
    /// asks this of every task sent ahead of its input, usually for a chunk not yet made.
    fn contains(&self, id: ChunkId) -> bool {
        self.get(id).is_ok()
    }
}
