//! Worker results kept in `dagger-storage`'s [`MemoryPool`]: in memory up to a limit, the
//! least recently used spilled to disk (or any `ChunkStore`) beyond it.

use bytes::Bytes;
use dagger_core::{ChunkId, Error, Result, ResultStats, ResultStore};
use dagger_storage::{MemoryPool, SpillCodec, StorageConfig};
use std::sync::Arc;

/// A [`ResultStore`] over a spilling [`MemoryPool`].
///
/// ```
/// use dagger::{PoolResults, ResultStore, ChunkId};
/// use dagger::storage::StorageConfig;
/// let r = PoolResults::new(StorageConfig { memory_limit: Some(1 << 20), ..Default::default() }).unwrap();
/// for i in 0..4 {
///     r.put(ChunkId(i), vec![i as u8; 512 << 10].into()).unwrap();   // 2 MiB through a 1 MiB limit
/// }
/// assert!(r.stats().spilled_bytes > 0 && r.stats().peak_memory_bytes <= 1 << 20);
/// assert_eq!(r.get(ChunkId(0)).unwrap()[0], 0);
/// ```
#[derive(Debug)]
pub struct PoolResults {
    pool: MemoryPool,
    codec: Arc<SpillCodec>,
}

impl PoolResults {
    /// A store with this configuration.
    pub fn new(config: StorageConfig) -> Result<Self> {
        let codec = SpillCodec::from_fns(
            "bytes",
            |v| {
                v.downcast_ref::<Bytes>()
                    .cloned()
                    .ok_or_else(|| Error::Codec("a worker result that is not bytes".into()))
            },
            |b| Ok(Arc::new(Bytes::copy_from_slice(b))),
        );
        Ok(PoolResults {
            pool: MemoryPool::new(config)?,
            codec: Arc::new(codec),
        })
    }

    /// The configuration from the environment a worker was started with:
    /// `DAGGER_MEMORY_LIMIT` (bytes), `DAGGER_DISK_LIMIT`, `DAGGER_SPILL_DIR`, `DAGGER_STORE`.
    pub fn config_from_env() -> Result<StorageConfig> {
        let num = |k: &str| -> Result<Option<u64>> {
            match std::env::var(k) {
                Ok(v) => v
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::Argument(format!("{k}={v:?} is not a number of bytes"))),
                Err(_) => Ok(None),
            }
        };
        Ok(StorageConfig {
            memory_limit: num("DAGGER_MEMORY_LIMIT")?,
            disk_limit: num("DAGGER_DISK_LIMIT")?,
            spill_dir: std::env::var_os("DAGGER_SPILL_DIR").map(Into::into),
            store: std::env::var("DAGGER_STORE").ok(),
            ..Default::default()
        })
    }
}

impl ResultStore for PoolResults {
    fn put(&self, id: ChunkId, bytes: Bytes) -> Result<()> {
        let size = bytes.len() as u64;
        self.pool
            .put(id, Arc::new(bytes), size, Some(self.codec.clone()))
    }

    fn get(&self, id: ChunkId) -> Result<Bytes> {
        self.pool.get_value::<Bytes>(id).map(|b| (*b).clone())
    }

    fn remove(&self, id: ChunkId) -> Result<()> {
        self.pool.remove(id).map(|_| ())
    }

    fn stats(&self) -> ResultStats {
        let s = self.pool.stats();
        ResultStats {
            chunks: (s.resident_values + s.spilled_values) as u64,
            memory_bytes: s.memory_bytes,
            peak_memory_bytes: s.peak_memory_bytes,
            spilled_bytes: s.disk_bytes,
        }
    }
}
