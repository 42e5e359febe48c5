//! Worker results kept in `dagger-storage`'s [`MemoryPool`]: in memory up to a limit, the
//! least recently used spilled to disk (or any `ChunkStore`) beyond it.
//!
//! Live results (a worker's own computed values) go into the pool unserialized, with a
//! spill codec made from their [`ValueCodec`]: the limit and the LRU spill apply to them
//! exactly as to bytes, and reading a spilled one back decodes it into a live value again.

use bytes::Bytes;
use dagger_core::{ChunkId, Error, LiveValue, Result, ResultStats, ResultStore, ValueCodec};
use dagger_storage::{MemoryPool, RawLe, SpillCodec, StorageConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A [`ResultStore`] over a spilling [`MemoryPool`].
///
/// ```
/// use dagger::ids::ChunkId;
/// use dagger::storage::{PoolResults, ResultStore, StorageConfig};
/// let r = PoolResults::new(StorageConfig { memory_limit: Some(1 << 20), ..Default::default() }).unwrap();
/// for i in 0..4 {
///     r.put(ChunkId(i), vec![i as u8; 512 << 10].into()).unwrap();   // 2 MiB through a 1 MiB limit
/// }
/// assert!(r.stats().spilled_bytes > 0 && r.stats().peak_memory_bytes <= 1 << 20);
/// assert_eq!(r.get(ChunkId(0)).unwrap()[0], 0);
/// // A live value: kept unserialized, spilled through its codec, decoded on the way back.
/// r.put_value(ChunkId(9), dagger::remote::live_value(vec![9u8; 900 << 10])).unwrap();
/// r.put_value(ChunkId(10), dagger::remote::live_value(vec![10u8; 900 << 10])).unwrap();
/// let back = r.get_value(ChunkId(9)).unwrap().unwrap();
/// assert_eq!(back.downcast_ref::<Vec<u8>>().map(|v| v[0]), Some(9));
/// assert!(r.stats().peak_memory_bytes <= 1 << 20);
/// ```
#[derive(Debug)]
pub struct PoolResults {
    pool: MemoryPool,
    codec: Arc<SpillCodec>,
    /// The codec of each result held live (absent: held as bytes).
    live: Mutex<HashMap<ChunkId, ValueCodec>>,
}

impl PoolResults {
    /// The live-codec table. A panic elsewhere while it was held cannot leave it
    /// inconsistent (every update is one insert or remove), so a poisoned lock is used as is.
    fn live(&self) -> MutexGuard<'_, HashMap<ChunkId, ValueCodec>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool spill codec for a live value: for a vector of plain numbers, raw little-endian
/// bytes (which the pool streams to and from a local disk with no intermediate copy);
/// otherwise the value's own codec.
fn spill_codec(v: &LiveValue) -> SpillCodec {
    macro_rules! raw {
        ($($e:ty),*) => {$(
            if v.value.is::<Vec<$e>>() {
                return SpillCodec::new::<Vec<$e>, _>(RawLe);
            }
        )*};
    }
    raw!(f64, f32, u64, i64, u32, i32, u16, i16, u8, i8);
    let c = v.codec;
    SpillCodec::from_fns(c.name, c.encode, c.decode)
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
            live: Mutex::new(HashMap::new()),
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
        self.live().remove(&id);
        self.pool
            .put(id, Arc::new(bytes), size, Some(self.codec.clone()))
    }

    fn put_value(&self, id: ChunkId, value: LiveValue) -> Result<()> {
        let codec = value.codec;
        let spill = Arc::new(spill_codec(&value));
        // Recorded first: a reader in between finds the codec and asks the pool, which
        // answers "not here" until the value is in.
        self.live().insert(id, codec);
        let put = self.pool.put(id, value.value, value.size, Some(spill));
        if put.is_err() {
            self.live().remove(&id);
        }
        put
    }

    fn get(&self, id: ChunkId) -> Result<Bytes> {
        let live = self.live().get(&id).copied();
        match live {
            Some(codec) => codec.encode_value(self.pool.get(id)?.as_ref()),
            None => self.pool.get_value::<Bytes>(id).map(|b| (*b).clone()),
        }
    }

    fn get_value(&self, id: ChunkId) -> Result<Option<LiveValue>> {
        let Some(codec) = self.live().get(&id).copied() else {
            return Ok(None);
        };
        let value = self.pool.get(id)?;
        let size = self.pool.size_of(id).unwrap_or(0);
        Ok(Some(LiveValue::new(value, codec, size)))
    }

    fn remove(&self, id: ChunkId) -> Result<()> {
        self.live().remove(&id);
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
