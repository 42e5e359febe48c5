//! # dagger-storage
//!
//! Bytes at rest and values under memory pressure for dagger-rs.
//!
//! - [`store`]: backends of [`dagger_core::ChunkStore`] — [`MemoryStore`], [`DiskStore`]
//!   (a local directory, atomic writes) and [`ObjectStoreBackend`] (any
//!   [`object_store::ObjectStore`]: in-memory and local file system always; S3, GCS and Azure
//!   behind the `s3`, `gcs` and `azure` features) — and [`open_store`], which picks one from a
//!   location such as `"memory://"`, `"file:///tmp/x"` or `"s3://bucket/prefix"`.
//! - [`codec`]: [`dagger_core::Codec`] implementations — [`Postcard`] for any serde type and
//!   [`RawLe`] for vectors of plain numbers (raw little-endian bytes, no per-element encoding).
//! - [`chunk_file`]: the checksummed file format every stored chunk is wrapped in, so that a
//!   damaged file is an [`Error::Corrupt`](dagger_core::Error::Corrupt), never wrong data.
//! - [`pool`]: the per-worker [`MemoryPool`] of live values, which spills the least (or most)
//!   recently used ones to a store under a memory limit and reads them back on demand;
//!   configured by [`StorageConfig`].
//! - `conformance` (feature `conformance`): the suite every `ChunkStore` — ours or a third
//!   party's — runs to prove it behaves.
//! - [`bench`](mod@bench): the `storage` benchmark suite printed by `cargo xtask bench storage`.
//!
//! # Examples
//!
//! ```
//! use dagger_storage::{MemoryPool, StorageConfig, RawLe};
//! use dagger_core::ChunkId;
//! # fn main() -> dagger_core::Result<()> {
//! let pool = MemoryPool::new(StorageConfig { memory_limit: Some(1024), ..Default::default() })?;
//! pool.put_value(ChunkId(1), vec![1.0f64; 100], 800, RawLe)?;
//! pool.put_value(ChunkId(2), vec![2.0f64; 100], 800, RawLe)?; // spills chunk 1 to disk
//! assert_eq!(pool.get_value::<Vec<f64>>(ChunkId(1))?[0], 1.0); // read back transparently
//! assert!(pool.stats().peak_memory_bytes <= 1024);
//! # Ok(()) }
//! ```
// Bottom to top: each module imports only from the ones listed before it.
// Values to bytes: `Postcard`, `RawLe`.
pub mod codec;
// The checksummed file every stored chunk is wrapped in.
pub mod chunk_file;
// `ChunkStore` backends and `open_store`.
pub mod store;
// The spilling memory pool (uses codecs, chunk files and stores).
pub mod pool;
// The suite every `ChunkStore` runs to prove it behaves.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
// The `storage` benchmark suite.
pub mod bench;

/// The `object_store` crate this one builds on, so callers can configure clients (e.g.
/// `AmazonS3Builder`) with the exact version [`ObjectStoreBackend`] wraps.
pub use object_store;

pub use chunk_file::{decode_chunk_file, encode_chunk_file, ChunkFileHeader};
pub use codec::{Postcard, RawLe, RawNumber};
pub use pool::{MemoryPool, Policy, PoolStats, SpillCodec, StorageConfig};
pub use store::{open_store, DiskStore, MemoryStore, ObjectStoreBackend};

/// Synchronous access to any [`ChunkStore`](dagger_core::ChunkStore), for callers on plain
/// threads (the scheduler's executor threads are not async): the futures run on a small
/// shared tokio runtime and the caller waits.
///
/// ```
/// use dagger_core::StoreKey;
/// let store = dagger_storage::open_store("memory://").unwrap();
/// let key = StoreKey::new("a/b").unwrap();
/// dagger_storage::blocking::put(&store, &key, bytes::Bytes::from_static(b"hi")).unwrap();
/// assert_eq!(&dagger_storage::blocking::get(&store, &key).unwrap()[..], b"hi");
/// ```
pub mod blocking {
    use bytes::Bytes;
    use dagger_core::{ChunkStore, Result, StoreKey};
    use std::sync::Arc;

    /// Stores `value` under `key`, waiting for it.
    pub fn put(store: &Arc<dyn ChunkStore>, key: &StoreKey, value: Bytes) -> Result<()> {
        let (store, key) = (store.clone(), key.clone());
        crate::pool::io::run(async move { store.put(&key, value).await })
    }

    /// The value under `key`, waiting for it.
    pub fn get(store: &Arc<dyn ChunkStore>, key: &StoreKey) -> Result<Bytes> {
        let (store, key) = (store.clone(), key.clone());
        crate::pool::io::run(async move { store.get(&key).await })
    }
}
