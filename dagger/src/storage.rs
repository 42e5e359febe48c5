//! Storage, in one place: the traits every store implements (from `dagger-core`: [`ChunkStore`]
//! for bytes at rest, [`ResultStore`] for a worker's results) and, with feature `disk`, the
//! stores, codecs and spilling memory pool of the `dagger-storage` crate plus the facade's
//! [`PoolResults`], a worker's results kept in that pool.
//!
//! ```
//! # #[cfg(feature = "disk")] {
//! use dagger::storage::{blocking, open_store, StoreKey};
//! let store = open_store("memory://").unwrap();
//! let key = StoreKey::new("arrays/x/0").unwrap();
//! blocking::put(&store, &key, bytes::Bytes::from_static(b"block")).unwrap();
//! assert_eq!(&blocking::get(&store, &key).unwrap()[..], b"block");
//! # }
//! ```

#[cfg(feature = "disk")]
pub(crate) mod pool_results;

pub use dagger_core::store::*;
pub use dagger_sched::MemoryResults;
#[cfg(feature = "disk")]
pub use dagger_storage::*;
#[cfg(feature = "disk")]
pub use pool_results::PoolResults;
