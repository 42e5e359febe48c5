//! A [`ChunkStore`] in a map, so doc examples and tests of checkpoints need no directory
//! (the `dagger-storage` crate, which has the real stores, sits beside this one).

use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use parking_lot::Mutex;
use std::collections::BTreeMap;

/// Keys to bytes in memory.
#[derive(Debug, Default)]
pub struct MapStore(pub Mutex<BTreeMap<StoreKey, Bytes>>);

#[async_trait]
impl ChunkStore for MapStore {
    fn location(&self) -> String {
        "memory://checkpoint-test".into()
    }
    async fn put(&self, key: &StoreKey, value: Bytes) -> Result<()> {
        self.0.lock().insert(key.clone(), value);
        Ok(())
    }
    async fn get(&self, key: &StoreKey) -> Result<Bytes> {
        self.0
            .lock()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::NotFound(key.to_string()))
    }
    async fn delete(&self, key: &StoreKey) -> Result<()> {
        self.0.lock().remove(key);
        Ok(())
    }
    async fn list(&self, prefix: &str) -> Result<Vec<StoreKey>> {
        Ok(self
            .0
            .lock()
            .keys()
            .filter(|k| k.as_str().starts_with(prefix))
            .cloned()
            .collect())
    }
}
