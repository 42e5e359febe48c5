//! What every backend's `list` shares: the ordering and prefix rule of
//! [`ChunkStore::list`](dagger_core::ChunkStore::list).

use dagger_core::StoreKey;

/// Sorts and filters keys by a plain string prefix, as [`dagger_core::ChunkStore::list`] requires.
pub(super) fn finish_listing(mut keys: Vec<StoreKey>, prefix: &str) -> Vec<StoreKey> {
    keys.retain(|k| k.as_str().starts_with(prefix));
    keys.sort();
    keys.dedup();
    keys
}
