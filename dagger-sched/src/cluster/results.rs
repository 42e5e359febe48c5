//! Where a worker keeps the results it owns: a [`ResultStore`], in memory by default; the
//! `dagger` facade installs `dagger-storage`'s spilling pool when a memory limit is set.

use bytes::Bytes;
use dagger_core::{ChunkId, Error, LiveValue, Result, ResultStats, ResultStore};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One held result: bytes, or a live value encoded only when bytes are asked for.
#[derive(Debug)]
enum Held {
    Bytes(Bytes),
    Live(LiveValue),
}

impl Held {
    fn size(&self) -> u64 {
        match self {
            Held::Bytes(b) => b.len() as u64,
            Held::Live(v) => v.size,
        }
    }
}

/// Keyed by chunk ids (task counters): one insert and one remove a task.
type IdMap<V> = HashMap<ChunkId, V, std::hash::BuildHasherDefault<crate::id_hash::IdHasher>>;

#[derive(Debug, Default)]
struct Map {
    held: IdMap<Held>,
    bytes: u64,
    peak: u64,
}

impl Map {
    fn insert(&mut self, id: ChunkId, h: Held) {
        let n = h.size();
        if let Some(old) = self.held.insert(id, h) {
            self.bytes -= old.size();
        }
        self.bytes += n;
        self.peak = self.peak.max(self.bytes);
    }
}

/// Results in a hash map, never spilled. Live values stay unserialized; memory is counted
/// by their estimated [`size`](LiveValue::size).
///
/// ```
/// use dagger_core::{ChunkId, ResultStore};
/// let r = dagger_sched::MemoryResults::default();
/// r.put_value(ChunkId(1), dagger_sched::live_value(vec![1u8, 2])).unwrap();
/// let v = r.get_value(ChunkId(1)).unwrap().unwrap();
/// assert_eq!(v.downcast_ref::<Vec<u8>>(), Some(&vec![1, 2])); // the value itself
/// assert_eq!(&r.get(ChunkId(1)).unwrap()[..], &[2, 1, 2]); // encoded when asked
/// ```
#[derive(Debug, Default)]
pub struct MemoryResults {
    map: Mutex<Map>,
}

impl ResultStore for MemoryResults {
    fn put(&self, id: ChunkId, bytes: Bytes) -> Result<()> {
        self.map.lock().insert(id, Held::Bytes(bytes));
        Ok(())
    }

    fn put_value(&self, id: ChunkId, value: LiveValue) -> Result<()> {
        self.map.lock().insert(id, Held::Live(value));
        Ok(())
    }

    fn get(&self, id: ChunkId) -> Result<Bytes> {
        // Clone out under the lock, encode outside it (a big value takes a while).
        let live = match self.map.lock().held.get(&id) {
            Some(Held::Bytes(b)) => return Ok(b.clone()),
            Some(Held::Live(v)) => v.clone(),
            None => return Err(Error::NotFound(format!("chunk {id}"))),
        };
        live.encode()
    }

    fn get_value(&self, id: ChunkId) -> Result<Option<LiveValue>> {
        Ok(match self.map.lock().held.get(&id) {
            Some(Held::Live(v)) => Some(v.clone()),
            _ => None,
        })
    }

    fn contains(&self, id: ChunkId) -> bool {
        self.map.lock().held.contains_key(&id)
    }

    fn remove(&self, id: ChunkId) -> Result<()> {
        let mut g = self.map.lock();
        if let Some(old) = g.held.remove(&id) {
            g.bytes -= old.size();
        }
        Ok(())
    }

    fn stats(&self) -> ResultStats {
        let g = self.map.lock();
        ResultStats {
            chunks: g.held.len() as u64,
            memory_bytes: g.bytes,
            peak_memory_bytes: g.peak,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_values_are_counted_by_size_and_encoded_on_demand() {
        let r = MemoryResults::default();
        r.put(ChunkId(1), Bytes::from_static(b"abcd")).unwrap();
        r.put_value(ChunkId(2), crate::cluster::live::live_value(vec![7u32; 10]))
            .unwrap();
        let s = r.stats();
        assert_eq!((s.chunks, s.memory_bytes), (2, 4 + 24 + 40));
        assert!(r.get_value(ChunkId(1)).unwrap().is_none());
        let v = r.get_value(ChunkId(2)).unwrap().unwrap();
        assert_eq!(v.downcast_ref::<Vec<u32>>(), Some(&vec![7; 10]));
        assert_eq!(
            &r.get(ChunkId(2)).unwrap()[..],
            &[10, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]
        );
        // Replacing and removing keep the count right.
        r.put_value(ChunkId(1), crate::cluster::live::live_value(vec![0u8; 100]))
            .unwrap();
        assert_eq!(r.stats().memory_bytes, 124 + 64);
        r.remove(ChunkId(1)).unwrap();
        r.remove(ChunkId(2)).unwrap();
        r.remove(ChunkId(2)).unwrap();
        let s = r.stats();
        assert_eq!((s.chunks, s.memory_bytes, s.peak_memory_bytes), (0, 0, 188));
        assert!(matches!(r.get(ChunkId(2)), Err(Error::NotFound(_))));
    }
}
