//! The per-worker [`MemoryPool`]: live values in memory, spilled to a store under pressure.
//!
//! Values stay unserialized while resident (an `Arc<dyn Any + Send + Sync>`). Each carries
//! a declared size and, unless pinned, a [`SpillCodec`]. The pool keeps the sum of resident
//! sizes under the memory limit:
//!
//! 1. `put` of a value that fits evicts resident values by [`Policy`] until it fits, writing
//!    each victim to the store as a checksummed chunk file (unless an up-to-date copy is
//!    already there), then makes the new value resident as the most recently used;
//! 2. `put` of a value larger than the memory limit writes it straight to the store;
//! 3. `get` of a resident value moves it to the most recently used position; `get` of a
//!    spilled value reads and checks its file, decodes it, and promotes it (evicting by
//!    policy); its file is kept as a clean copy, so evicting it again costs no write;
//! 4. when the disk limit would be exceeded, clean copies of resident values are deleted
//!    first; if that is not enough the operation fails naming both limits and usages;
//! 5. `remove` drops the value and deletes its file.
//!
//! This is the recency allocator of MemPool.jl (`SimpleRecencyAllocator`), with the same
//! LRU/MRU semantics (reference behaviour H60). Store I/O runs on a small shared tokio
//! runtime (see `io.rs`); it happens under the pool's lock, so a spill briefly blocks other
//! calls on the same pool.

mod config;
pub(crate) mod io;
mod spill;
mod state;
mod stats;

pub use config::{Policy, StorageConfig};
pub use spill::{AnyValue, SpillCodec};
pub use stats::PoolStats;

use crate::chunk_file::{
    decode_chunk_file, encode_chunk_file, streamed_file_len, write_chunk_file_to, StreamDecoder,
};
use crate::store::{open_store, DiskStore};
use dagger_core::{ChunkId, ChunkStore, Codec, Error, Result, StoreKey};
use parking_lot::Mutex;
use state::{Slot, State};
use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Makes the store keys of pools in one process distinct.
static POOL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A worker's pool of live values, spilling to a [`ChunkStore`] under a memory limit.
///
/// The API is synchronous (the scheduler's threads are not async) and thread-safe.
///
/// # Examples
///
/// ```
/// use dagger_storage::{MemoryPool, StorageConfig, Policy, Postcard};
/// use dagger_core::ChunkId;
/// # fn main() -> dagger_core::Result<()> {
/// let pool = MemoryPool::new(StorageConfig {
///     memory_limit: Some(100),
///     policy: Policy::Lru,
///     ..Default::default()
/// })?;
/// pool.put_value(ChunkId(1), "first".to_string(), 60, Postcard)?;
/// pool.put_value(ChunkId(2), "second".to_string(), 60, Postcard)?; // evicts c1
/// assert!(!pool.is_resident(ChunkId(1)));
/// assert_eq!(*pool.get_value::<String>(ChunkId(1))?, "first"); // read back, evicts c2
/// assert_eq!(pool.resident(), vec![ChunkId(1)]);
/// pool.remove(ChunkId(2))?; // deletes its spilled file
/// assert_eq!(pool.stats().spilled_values, 0);
/// # Ok(()) }
/// ```
pub struct MemoryPool {
    state: Mutex<State>,
    store: Arc<dyn ChunkStore>,
    policy: Policy,
    memory_limit: Option<u64>,
    disk_limit: Option<u64>,
    /// Store keys are `<key_prefix>/c<id>`.
    key_prefix: String,
    /// Whether to delete this pool's files from the store on drop (not needed for a temp
    /// directory, which goes as a whole).
    cleanup_on_drop: bool,
    /// The store again, when it is a local [`DiskStore`] this pool opened: raw arrays are
    /// then streamed to and from its files directly (see `write_file`, `read_file`).
    disk: Option<DiskStore>,
    /// The temp directory spilled files go to by default; deleted on drop.
    _temp_dir: Option<tempfile::TempDir>,
}

impl MemoryPool {
    /// A pool configured by `config`.
    ///
    /// Spilled values go to `config.store` if given, else `config.spill_dir`, else a fresh
    /// temp directory that is deleted with the pool.
    ///
    /// # Errors
    ///
    /// [`Error::Argument`] for an invalid config (see [`StorageConfig::validate`]); the
    /// errors of [`open_store`] or of creating the directory.
    pub fn new(config: StorageConfig) -> Result<Self> {
        config.validate()?;
        let (store, disk, temp_dir, cleanup): (Arc<dyn ChunkStore>, _, _, _) =
            match (&config.store, &config.spill_dir) {
                (Some(location), _) => (open_store(location)?, None, None, true),
                (None, Some(dir)) => {
                    let disk = DiskStore::new(dir)?;
                    (Arc::new(disk.clone()), Some(disk), None, true)
                }
                (None, None) => {
                    let dir = tempfile::Builder::new()
                        .prefix("dagger-spill-")
                        .tempdir()
                        .map_err(|e| Error::Io(format!("creating a spill directory: {e}")))?;
                    let disk = DiskStore::new(dir.path())?;
                    (Arc::new(disk.clone()), Some(disk), Some(dir), false)
                }
            };
        let mut pool = Self::with_store(config, store)?;
        pool.disk = disk;
        pool._temp_dir = temp_dir;
        pool.cleanup_on_drop = cleanup;
        Ok(pool)
    }

    /// A pool that spills to `store` (any backend, e.g. a third party's); `config.store`
    /// and `config.spill_dir` are ignored. The pool deletes its own files on drop.
    ///
    /// # Errors
    ///
    /// [`Error::Argument`] for invalid limits.
    pub fn with_store(config: StorageConfig, store: Arc<dyn ChunkStore>) -> Result<Self> {
        StorageConfig {
            spill_dir: None,
            store: None,
            ..config.clone()
        }
        .validate()?;
        let mut state = State::default();
        state.stats.memory_limit = config.memory_limit;
        state.stats.disk_limit = config.disk_limit;
        Ok(Self {
            state: Mutex::new(state),
            store,
            policy: config.policy,
            memory_limit: config.memory_limit,
            disk_limit: config.disk_limit,
            key_prefix: format!(
                "spill/p{}-{}",
                std::process::id(),
                POOL_COUNTER.fetch_add(1, Ordering::Relaxed)
            ),
            cleanup_on_drop: true,
            disk: None,
            _temp_dir: None,
        })
    }

    /// The store spilled values go to.
    pub fn store(&self) -> &Arc<dyn ChunkStore> {
        &self.store
    }

    /// The spill policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Adds (or replaces) the value `id`, declared to take `size` bytes in memory.
    ///
    /// With `codec: None` the value is pinned: it is never spilled, but counts against the
    /// memory limit.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] naming the sizes if neither memory (after spilling what can be
    /// spilled) nor the disk limit has room; store and codec errors of the values spilled.
    pub fn put(
        &self,
        id: ChunkId,
        value: AnyValue,
        size: u64,
        codec: Option<Arc<SpillCodec>>,
    ) -> Result<()> {
        let mut state = self.state.lock();
        if state.slots.contains_key(&id) {
            self.remove_locked(&mut state, id)?;
        }
        let too_big = self.memory_limit.is_some_and(|limit| size > limit);
        if too_big {
            let Some(codec) = codec else {
                return Err(Error::Storage(format!(
                    "cannot keep {id}: {size} bytes pinned in memory exceed the memory limit of {} bytes",
                    self.memory_limit.unwrap_or(0)
                )));
            };
            // Larger than memory: straight to the store, never counted as resident.
            state.slots.insert(
                id,
                Slot {
                    value: None,
                    size,
                    codec: Some(codec.clone()),
                    file_len: None,
                    tick: 0,
                },
            );
            if let Err(e) = self.write_file(&mut state, id, value.as_ref(), &codec) {
                state.slots.remove(&id);
                return Err(e);
            }
            return Ok(());
        }
        self.make_room(&mut state, id, size)?;
        state.slots.insert(
            id,
            Slot {
                value: None,
                size,
                codec,
                file_len: None,
                tick: 0,
            },
        );
        state.make_resident(id, value);
        Ok(())
    }

    /// Adds a value of type `T`, spillable through `codec`.
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    pub fn put_value<T, C>(&self, id: ChunkId, value: T, size: u64, codec: C) -> Result<()>
    where
        T: Send + Sync + 'static,
        C: Codec<T> + 'static,
    {
        self.put(
            id,
            Arc::new(value),
            size,
            Some(Arc::new(SpillCodec::new::<T, C>(codec))),
        )
    }

    /// The value `id`, from memory or read back from the store (and then made resident,
    /// evicting others by policy, unless it is larger than the memory limit).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] naming the id if the pool does not hold it; [`Error::Corrupt`]
    /// naming the chunk and file if its file is damaged; store and codec errors.
    pub fn get(&self, id: ChunkId) -> Result<AnyValue> {
        let mut state = self.state.lock();
        let slot = state
            .slots
            .get(&id)
            .ok_or_else(|| Error::NotFound(format!("{id} is not in the memory pool")))?;
        if let Some(value) = &slot.value {
            let value = value.clone();
            state.touch(id);
            state.stats.hits += 1;
            return Ok(value);
        }
        let size = slot.size;
        let codec = slot.codec.clone().ok_or_else(|| {
            Error::Storage(format!(
                "{id} is neither in memory nor spillable (pool bookkeeping error)"
            ))
        })?;
        // Room is made before reading, so real memory use stays near the accounted bytes.
        // If none can be made (everything else pinned, disk full), the value is still
        // handed out; it simply stays spilled.
        let fits = self.memory_limit.is_none_or(|limit| size <= limit)
            && self.make_room(&mut state, id, size).is_ok();
        let (value, file_len) = self.read_file(id, &codec)?;
        state.stats.read_backs += 1;
        state.stats.read_back_bytes += file_len;
        if fits {
            state.make_resident(id, value.clone());
        }
        Ok(value)
    }

    /// The value `id` as a `T`.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), and [`Error::Argument`] if the value is not a `T`.
    pub fn get_value<T: Send + Sync + 'static>(&self, id: ChunkId) -> Result<Arc<T>> {
        self.get(id)?.downcast::<T>().map_err(|_| {
            Error::Argument(format!(
                "{id} does not hold a {}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// Drops the value `id` from the pool and deletes its spilled file; returns whether
    /// it was there.
    ///
    /// # Errors
    ///
    /// Store errors deleting the file (the value is forgotten all the same).
    pub fn remove(&self, id: ChunkId) -> Result<bool> {
        let mut state = self.state.lock();
        if !state.slots.contains_key(&id) {
            return Ok(false);
        }
        self.remove_locked(&mut state, id)?;
        Ok(true)
    }

    /// Evicts resident values by policy until at most `bytes` are resident (pinned values
    /// stay); returns the resident bytes after. For a caller that learns of memory
    /// pressure from outside, and for benchmarks that need everything on disk.
    ///
    /// # Errors
    ///
    /// Store and codec errors of the values spilled, and the disk-limit error.
    pub fn shrink_to(&self, bytes: u64) -> Result<u64> {
        let mut state = self.state.lock();
        while state.stats.memory_bytes > bytes {
            let Some(victim) = state.victim(self.policy, None) else {
                break;
            };
            self.evict(&mut state, victim)?;
        }
        Ok(state.stats.memory_bytes)
    }

    /// Whether the pool holds `id` (in memory or spilled).
    pub fn contains(&self, id: ChunkId) -> bool {
        self.state.lock().slots.contains_key(&id)
    }

    /// Whether `id` is resident in memory.
    pub fn is_resident(&self, id: ChunkId) -> bool {
        self.state
            .lock()
            .slots
            .get(&id)
            .is_some_and(|s| s.value.is_some())
    }

    /// Ids of resident values, most recently used first.
    pub fn resident(&self) -> Vec<ChunkId> {
        self.state.lock().resident_order()
    }

    /// Ids of values held only in the store, sorted.
    pub fn spilled(&self) -> Vec<ChunkId> {
        let state = self.state.lock();
        let mut ids: Vec<ChunkId> = state
            .slots
            .iter()
            .filter(|(_, s)| s.value.is_none())
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// The declared size of `id`, if the pool holds it.
    pub fn size_of(&self, id: ChunkId) -> Option<u64> {
        self.state.lock().slots.get(&id).map(|s| s.size)
    }

    /// A snapshot of the accounting.
    pub fn stats(&self) -> PoolStats {
        self.state.lock().snapshot()
    }

    fn key_of(&self, id: ChunkId) -> Result<StoreKey> {
        StoreKey::new(format!("{}/c{}", self.key_prefix, id.get()))
    }

    /// Evicts by policy until `size` more bytes fit under the memory limit.
    fn make_room(&self, state: &mut State, id: ChunkId, size: u64) -> Result<()> {
        let Some(limit) = self.memory_limit else {
            return Ok(());
        };
        while state.stats.memory_bytes + size > limit {
            let Some(victim) = state.victim(self.policy, Some(id)) else {
                return Err(Error::Storage(format!(
                    "cannot make room for {id} ({size} bytes): memory limit {limit} bytes, \
                     {} bytes in use of which {} bytes are pinned",
                    state.stats.memory_bytes,
                    state.pinned_bytes()
                )));
            };
            self.evict(state, victim)?;
        }
        Ok(())
    }

    /// Moves a resident value to the store (writing it unless a clean copy is there).
    fn evict(&self, state: &mut State, victim: ChunkId) -> Result<()> {
        let (value, codec, has_file) = match state.slots.get(&victim) {
            Some(Slot {
                value: Some(v),
                codec: Some(c),
                file_len,
                ..
            }) => (v.clone(), c.clone(), file_len.is_some()),
            _ => return Err(Error::Storage(format!("{victim} cannot be evicted"))),
        };
        if !has_file {
            self.write_file(state, victim, value.as_ref(), &codec)?;
        }
        state.make_nonresident(victim);
        state.stats.evictions += 1;
        Ok(())
    }

    /// Encodes `value` as a chunk file and stores it as `id`'s file, within the disk limit.
    fn write_file(
        &self,
        state: &mut State,
        id: ChunkId,
        value: &(dyn Any + Send + Sync),
        codec: &SpillCodec,
    ) -> Result<()> {
        let _span = tracing::trace_span!(target: "dagger", "storage", op = "spill", chunk = %id, task = id.0).entered();
        let key = self.key_of(id)?;
        if let (Some(disk), Some(raw)) = (&self.disk, codec.raw()) {
            if let Some(bytes) = (raw.bytes)(value) {
                // Fast path: stream the value's own bytes into the file.
                return self.stream_to_disk(state, disk, id, &key, codec.name(), bytes);
            }
        }
        let payload = codec.encode(value)?;
        if let Some(disk) = &self.disk {
            // The encoded bytes go to the file as they are, not copied into a file buffer.
            return self.stream_to_disk(state, disk, id, &key, codec.name(), &payload);
        }
        let file = encode_chunk_file(codec.name(), &payload)?;
        drop(payload);
        let len = file.len() as u64;
        self.make_disk_room(state, id, len)?;
        let store = self.store.clone();
        io::run(async move { store.put(&key, file).await })?;
        state.file_written(id, len);
        Ok(())
    }

    /// Writes `payload` as `id`'s chunk file straight into the local disk store, within the
    /// disk limit.
    fn stream_to_disk(
        &self,
        state: &mut State,
        disk: &DiskStore,
        id: ChunkId,
        key: &StoreKey,
        codec_name: &str,
        payload: &[u8],
    ) -> Result<()> {
        let len = streamed_file_len(codec_name, payload.len()) as u64;
        self.make_disk_room(state, id, len)?;
        disk.put_sync_with(key, |f| write_chunk_file_to(f, codec_name, payload))?;
        state.file_written(id, len);
        Ok(())
    }

    /// Reads, checks and decodes `id`'s chunk file; returns the value and the file length.
    fn read_file(&self, id: ChunkId, codec: &SpillCodec) -> Result<(AnyValue, u64)> {
        let _span = tracing::trace_span!(target: "dagger", "storage", op = "read_back", chunk = %id, task = id.0).entered();
        let key = self.key_of(id)?;
        let what = format!("{id} ({}/{key})", self.store.location());
        let wrong_codec = |found: &str| Error::Corrupt {
            what: what.clone(),
            detail: format!("written by codec {found:?}, expected {:?}", codec.name()),
        };
        if let (Some(disk), Some(raw)) = (&self.disk, codec.raw()) {
            // Fast path: read the payload straight into the new value's memory.
            let (file, file_len) = disk.open_sync(&key)?;
            let mut dec = StreamDecoder::begin(std::io::BufReader::new(file), &what, file_len)?;
            if dec.codec != codec.name() {
                return Err(wrong_codec(&dec.codec));
            }
            let len = usize::try_from(dec.payload_len)
                .map_err(|_| Error::Storage(format!("{what}: payload too large for this host")))?;
            let value = match raw.from_bytes {
                Some(from_bytes) => from_bytes(dec.read_payload_vec()?)?,
                None => (raw.read)(len, &mut |buf| dec.read_payload(buf))?,
            };
            dec.finish()?;
            return Ok((value, file_len));
        }
        let store = self.store.clone();
        let file = io::run(async move { store.get(&key).await })?;
        let (header, payload) = decode_chunk_file(&what, &file)?;
        if header.codec != codec.name() {
            return Err(wrong_codec(&header.codec));
        }
        Ok((codec.decode(&payload)?, file.len() as u64))
    }

    /// Deletes clean copies until `len` more bytes fit under the disk limit.
    fn make_disk_room(&self, state: &mut State, id: ChunkId, len: u64) -> Result<()> {
        let Some(limit) = self.disk_limit else {
            return Ok(());
        };
        while state.stats.disk_bytes + len > limit {
            let Some(copy) = state.redundant_file() else {
                return Err(Error::Storage(format!(
                    "cannot spill {id} ({len} bytes on disk): memory limit {} bytes ({} in use) \
                     and disk limit {limit} bytes ({} in use) are both exhausted",
                    self.memory_limit
                        .map_or("none".to_string(), |m| m.to_string()),
                    state.stats.memory_bytes,
                    state.stats.disk_bytes
                )));
            };
            self.delete_file(state, copy)?;
        }
        Ok(())
    }

    fn delete_file(&self, state: &mut State, id: ChunkId) -> Result<()> {
        let key = self.key_of(id)?;
        let store = self.store.clone();
        io::run(async move { store.delete(&key).await })?;
        state.file_deleted(id);
        Ok(())
    }

    fn remove_locked(&self, state: &mut State, id: ChunkId) -> Result<()> {
        let had_file = state.slots.get(&id).is_some_and(|s| s.file_len.is_some());
        state.remove(id);
        if had_file {
            let key = self.key_of(id)?;
            let store = self.store.clone();
            io::run(async move { store.delete(&key).await })?;
        }
        Ok(())
    }
}

impl Drop for MemoryPool {
    fn drop(&mut self) {
        if !self.cleanup_on_drop {
            return;
        }
        let state = self.state.get_mut();
        let ids: Vec<ChunkId> = state
            .slots
            .iter()
            .filter(|(_, s)| s.file_len.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            // Best effort: a store that fails now cannot be reported to anyone.
            if let Ok(key) = StoreKey::new(format!("{}/c{}", self.key_prefix, id.get())) {
                let store = self.store.clone();
                let _ = io::run(async move { store.delete(&key).await });
            }
        }
    }
}

impl fmt::Debug for MemoryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPool")
            .field("store", &self.store.location())
            .field("policy", &self.policy)
            .field("memory_limit", &self.memory_limit)
            .field("disk_limit", &self.disk_limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod test;
