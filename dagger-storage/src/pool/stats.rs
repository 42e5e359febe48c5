//! [`PoolStats`]: what the pool holds and has done.

use serde::{Deserialize, Serialize};

/// A snapshot of a [`MemoryPool`](crate::MemoryPool)'s accounting.
///
/// Memory bytes are the sizes declared at `put`; disk bytes are chunk-file lengths.
/// `peak_memory_bytes` never exceeds the memory limit: a value larger than the limit goes
/// straight to the store without being counted as resident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Bytes of values resident in memory now.
    pub memory_bytes: u64,
    /// The most `memory_bytes` has ever been.
    pub peak_memory_bytes: u64,
    /// The configured memory limit.
    pub memory_limit: Option<u64>,
    /// Bytes of chunk files in the store now (spilled values, and clean copies of
    /// read-back values that are kept so a second eviction costs no write).
    pub disk_bytes: u64,
    /// The most `disk_bytes` has ever been.
    pub peak_disk_bytes: u64,
    /// The configured disk limit.
    pub disk_limit: Option<u64>,
    /// Values held in memory now.
    pub resident_values: usize,
    /// Values only in the store now.
    pub spilled_values: usize,
    /// Values written to the store (including values too large for memory).
    pub spills: u64,
    /// Total bytes written to the store.
    pub spilled_bytes: u64,
    /// Values dropped from memory to make room.
    pub evictions: u64,
    /// `get`s served from the store.
    pub read_backs: u64,
    /// Total bytes read from the store.
    pub read_back_bytes: u64,
    /// `get`s served from memory.
    pub hits: u64,
}
