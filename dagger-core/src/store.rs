//! The [`ChunkStore`] trait: bytes at rest, by key.
//!
//! Backends live in `dagger-storage` (memory, local disk, `object_store`); a third party adds
//! one by implementing this trait and proves it with `dagger-storage`'s conformance suite.

use crate::error::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt;

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

/// Where a worker keeps the encoded results it owns (and copies it fetched), by chunk id.
/// The scheduler's default keeps them in memory; `dagger-storage`'s pool keeps them under a
/// memory limit and spills the least recently used to a [`ChunkStore`].
pub trait ResultStore: Send + Sync + fmt::Debug {
    /// Keeps `bytes` as chunk `id`.
    fn put(&self, id: crate::ChunkId, bytes: Bytes) -> Result<()>;
    /// The bytes of chunk `id`; [`Error::NotFound`] if it is not here.
    fn get(&self, id: crate::ChunkId) -> Result<Bytes>;
    /// Forgets chunk `id` (and deletes any spilled copy). Missing ids are not an error.
    fn remove(&self, id: crate::ChunkId) -> Result<()>;
    /// What is held.
    fn stats(&self) -> ResultStats;
}
