//! [`MemoryStore`]: bytes in a map in this process.

use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use parking_lot::RwLock;
use std::collections::BTreeMap;

/// A store that keeps values in memory, in a sorted map. Cloning values is cheap ([`Bytes`]).
///
/// # Examples
///
/// ```
/// use dagger_core::{ChunkStore, StoreKey};
/// use dagger_storage::MemoryStore;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let key = StoreKey::new("chunks/c1").unwrap();
/// store.put(&key, "hello".into()).await.unwrap();
/// assert_eq!(store.get(&key).await.unwrap(), "hello");
/// assert_eq!(store.list("chunks/").await.unwrap(), vec![key]);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RwLock<BTreeMap<StoreKey, Bytes>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ChunkStore for MemoryStore {
    fn location(&self) -> String {
        "memory://".into()
    }

    async fn put(&self, key: &StoreKey, value: Bytes) -> Result<()> {
        self.map.write().insert(key.clone(), value);
        Ok(())
    }

    async fn get(&self, key: &StoreKey) -> Result<Bytes> {
        self.map
            .read()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("{key} in memory://")))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        self.map.write().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoreKey>> {
        // BTreeMap iterates in key order, so the result is already sorted.
        let map = self.map.read();
        Ok(map
            .range(..)
            .map(|(k, _)| k)
            .filter(|k| k.as_str().starts_with(prefix))
            .cloned()
            .collect())
    }
}
