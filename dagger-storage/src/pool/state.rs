//! The pool's bookkeeping without any I/O: slots, recency order and byte accounting.

use super::config::Policy;
use super::spill::{AnyValue, SpillCodec};
use super::stats::PoolStats;
use dagger_core::ChunkId;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One value of the pool.
pub(super) struct Slot {
    /// The live value, when resident.
    pub(super) value: Option<AnyValue>,
    /// Declared size in memory.
    pub(super) size: u64,
    /// How to spill it; `None` pins it in memory.
    pub(super) codec: Option<Arc<SpillCodec>>,
    /// Length of its chunk file, when an up-to-date copy is in the store.
    pub(super) file_len: Option<u64>,
    /// Its key in `recency`, when resident.
    pub(super) tick: u64,
}

/// Everything behind the pool's lock.
#[derive(Default)]
pub(super) struct State {
    pub(super) slots: HashMap<ChunkId, Slot>,
    /// Resident values by last use: smallest tick = least recently used.
    pub(super) recency: BTreeMap<u64, ChunkId>,
    next_tick: u64,
    pub(super) stats: PoolStats,
}

impl State {
    /// Marks `id` (resident) as just used.
    pub(super) fn touch(&mut self, id: ChunkId) {
        let tick = self.bump();
        if let Some(slot) = self.slots.get_mut(&id) {
            if slot.value.is_some() {
                self.recency.remove(&slot.tick);
                slot.tick = tick;
                self.recency.insert(tick, id);
            }
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    /// Makes `value` resident for `id` as the most recently used value, accounting its size.
    pub(super) fn make_resident(&mut self, id: ChunkId, value: AnyValue) {
        let tick = self.bump();
        if let Some(slot) = self.slots.get_mut(&id) {
            if slot.value.is_none() {
                self.stats.memory_bytes += slot.size;
                self.stats.peak_memory_bytes =
                    self.stats.peak_memory_bytes.max(self.stats.memory_bytes);
            } else {
                self.recency.remove(&slot.tick);
            }
            slot.value = Some(value);
            slot.tick = tick;
            self.recency.insert(tick, id);
        }
    }

    /// Drops `id`'s value from memory (its file must already hold it).
    pub(super) fn make_nonresident(&mut self, id: ChunkId) {
        if let Some(slot) = self.slots.get_mut(&id) {
            if slot.value.take().is_some() {
                self.recency.remove(&slot.tick);
                self.stats.memory_bytes -= slot.size;
            }
        }
    }

    /// Records that `id` now has a chunk file of `len` bytes in the store.
    pub(super) fn file_written(&mut self, id: ChunkId, len: u64) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.file_len = Some(len);
            self.stats.disk_bytes += len;
            self.stats.peak_disk_bytes = self.stats.peak_disk_bytes.max(self.stats.disk_bytes);
            self.stats.spills += 1;
            self.stats.spilled_bytes += len;
        }
    }

    /// Records that `id`'s chunk file is gone.
    pub(super) fn file_deleted(&mut self, id: ChunkId) {
        if let Some(slot) = self.slots.get_mut(&id) {
            if let Some(len) = slot.file_len.take() {
                self.stats.disk_bytes -= len;
            }
        }
    }

    /// The resident, spillable value to evict next under `policy`, never `except`.
    pub(super) fn victim(&self, policy: Policy, except: Option<ChunkId>) -> Option<ChunkId> {
        let spillable = |id: &&ChunkId| {
            Some(**id) != except && self.slots.get(id).is_some_and(|s| s.codec.is_some())
        };
        match policy {
            Policy::Lru => self.recency.values().find(spillable).copied(),
            Policy::Mru => self.recency.values().rev().find(spillable).copied(),
        }
    }

    /// A resident value whose chunk file is a redundant clean copy, to free disk space.
    pub(super) fn redundant_file(&self) -> Option<ChunkId> {
        // Prefer the most recently used: it is the least likely to be evicted again soon.
        self.recency
            .values()
            .rev()
            .find(|id| self.slots.get(id).is_some_and(|s| s.file_len.is_some()))
            .copied()
    }

    /// Bytes of resident values that cannot be spilled.
    pub(super) fn pinned_bytes(&self) -> u64 {
        self.slots
            .values()
            .filter(|s| s.value.is_some() && s.codec.is_none())
            .map(|s| s.size)
            .sum()
    }

    /// Forgets `id`, returning its slot (its file, if any, is still to be deleted).
    pub(super) fn remove(&mut self, id: ChunkId) -> Option<Slot> {
        self.make_nonresident(id);
        if let Some(len) = self.slots.get(&id).and_then(|s| s.file_len) {
            self.stats.disk_bytes -= len;
        }
        self.slots.remove(&id)
    }

    /// The accounting now.
    pub(super) fn snapshot(&self) -> PoolStats {
        let mut stats = self.stats.clone();
        stats.resident_values = self.recency.len();
        stats.spilled_values = self.slots.len() - self.recency.len();
        stats
    }

    /// Ids of resident values, most recently used first.
    pub(super) fn resident_order(&self) -> Vec<ChunkId> {
        self.recency.values().rev().copied().collect()
    }
}
