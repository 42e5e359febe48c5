//! Where a worker keeps the results it owns: a [`ResultStore`], in memory by default; the
//! `dagger` facade installs `dagger-storage`'s spilling pool when a memory limit is set.

use bytes::Bytes;
use dagger_core::{ChunkId, Error, Result, ResultStats, ResultStore};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Results in a hash map, never spilled.
#[derive(Debug, Default)]
pub struct MemoryResults {
    map: Mutex<(HashMap<ChunkId, Bytes>, u64, u64)>,
}

impl ResultStore for MemoryResults {
    fn put(&self, id: ChunkId, bytes: Bytes) -> Result<()> {
        let mut g = self.map.lock();
        let n = bytes.len() as u64;
        if let Some(old) = g.0.insert(id, bytes) {
            g.1 -= old.len() as u64;
        }
        g.1 += n;
        g.2 = g.2.max(g.1);
        Ok(())
    }

    fn get(&self, id: ChunkId) -> Result<Bytes> {
        self.map
            .lock()
            .0
            .get(&id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("chunk {id}")))
    }

    fn remove(&self, id: ChunkId) -> Result<()> {
        let mut g = self.map.lock();
        if let Some(old) = g.0.remove(&id) {
            g.1 -= old.len() as u64;
        }
        Ok(())
    }

    fn stats(&self) -> ResultStats {
        let g = self.map.lock();
        ResultStats {
            chunks: g.0.len() as u64,
            memory_bytes: g.1,
            peak_memory_bytes: g.2,
            spilled_bytes: 0,
        }
    }
}

/// Makes a worker's result store.
pub type ResultStoreFactory = Arc<dyn Fn() -> Result<Arc<dyn ResultStore>> + Send + Sync>;

static FACTORY: OnceLock<ResultStoreFactory> = OnceLock::new();

/// Sets how worker processes keep their results (first call wins; default: [`MemoryResults`]).
pub fn set_result_store_factory(f: ResultStoreFactory) {
    let _ = FACTORY.set(f);
}

pub(crate) fn new_result_store() -> Result<Arc<dyn ResultStore>> {
    match FACTORY.get() {
        Some(f) => f(),
        None => Ok(Arc::new(MemoryResults::default())),
    }
}
