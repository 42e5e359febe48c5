//! [`ShardedStore`]: values in a fixed number of in-memory shards.

use crate::encoding::{decode, encode, encode_prefix};
use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

type Shard = RwLock<BTreeMap<Vec<u8>, Bytes>>;

/// A [`ChunkStore`] that keeps values in memory, spread over `n` shards by a hash of the
/// encoded key, so that writers of different keys rarely wait for each other.
///
/// A put swaps in the whole new value under its shard's lock, so a concurrent reader sees
/// the old value or the new one, never a mix. Values are `Bytes`: a get hands out a
/// reference-counted view, not a copy.
///
/// ```
/// use custom_store::ShardedStore;
/// use dagger_core::{ChunkStore, Error, StoreKey};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = ShardedStore::new(8);
/// let k = StoreKey::new("x/y").unwrap();
/// assert!(matches!(store.get(&k).await, Err(Error::NotFound(m)) if m.contains("x/y")));
/// store.put(&k, bytes::Bytes::from_static(b"1")).await.unwrap();
/// store.delete(&k).await.unwrap();
/// store.delete(&k).await.unwrap(); // deleting a missing key is fine
/// assert_eq!(store.len(), 0);
/// # });
/// ```
#[derive(Debug)]
pub struct ShardedStore {
    shards: Vec<Shard>,
}

impl ShardedStore {
    /// A store with `shards` shards (at least one).
    pub fn new(shards: usize) -> Self {
        Self {
            shards: (0..shards.max(1)).map(|_| Shard::default()).collect(),
        }
    }

    /// How many values the store holds.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values each shard holds (to see the spread).
    pub fn shard_sizes(&self) -> Vec<usize> {
        self.shards.iter().map(|s| read(s).len()).collect()
    }

    fn shard(&self, encoded: &[u8]) -> &Shard {
        // FNV-1a: small, stable across runs and platforms, good enough to spread keys.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in encoded {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        &self.shards[(h % self.shards.len() as u64) as usize]
    }
}

// A lock is poisoned only if a thread panicked while holding it; every critical section
// here is a single map operation that leaves the map consistent, so the data is still good.
fn read(s: &Shard) -> std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Bytes>> {
    s.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(s: &Shard) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Vec<u8>, Bytes>> {
    s.write().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl ChunkStore for ShardedStore {
    fn location(&self) -> String {
        format!("sharded-memory://{}", self.shards.len())
    }

    async fn put(&self, key: &StoreKey, value: Bytes) -> Result<()> {
        let k = encode(key);
        write(self.shard(&k)).insert(k, value);
        Ok(())
    }

    async fn get(&self, key: &StoreKey) -> Result<Bytes> {
        let k = encode(key);
        read(self.shard(&k))
            .get(&k)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("{key} in {}", self.location())))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let k = encode(key);
        write(self.shard(&k)).remove(&k);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoreKey>> {
        let Some(p) = encode_prefix(prefix) else {
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        for shard in &self.shards {
            let map = read(shard);
            // Keys with the prefix are one contiguous run of the sorted map, starting at it.
            for (k, _) in map
                .range(p.clone()..)
                .take_while(|(k, _)| k.starts_with(&p))
            {
                keys.push(decode(k)?);
            }
        }
        // Encoded order is not key order (see `encoding`), and shards interleave.
        keys.sort();
        Ok(keys)
    }
}
