//! Durable runs: task results checkpointed to a store and restored by a later run of the
//! same program instead of being computed again. The scheduler's
//! [`dagger_sched::checkpoint`] (keys, file format, counters; the options are
//! [`Options::checkpoint`](crate::Options::checkpoint) and the builder's `checkpoint*`
//! methods), plus, with feature `disk`, [`store`] to open a directory or bucket for it.
//!
//! ```
//! # #[cfg(feature = "disk")] {
//! use dagger::Context;
//! dagger::register! { fn cube(x: u64) -> u64 { x * x * x } }
//! let dir = tempfile::tempdir().unwrap();
//! for run in 0..2 {
//!     let ctx = Context::builder()
//!         .threads(1)
//!         .checkpoint(dagger::checkpoint::store(dir.path().to_str().unwrap()).unwrap())
//!         .checkpoint_all(true)
//!         .build();
//!     assert_eq!(ctx.spawn_registered(CUBE, (3u64,)).fetch().unwrap(), 27);
//!     ctx.checkpoint_flush();
//!     assert_eq!(ctx.checkpoint_stats().restored, run); // the second run restores it
//! }
//! # }
//! ```

pub use dagger_sched::checkpoint::*;

/// The store at `location` for checkpoints: a directory path (created if missing; writes
/// are atomic, a temporary file renamed into place), `file:///…`, `memory://`, or with the
/// cloud features `s3://bucket/prefix` and its kin. The same as
/// [`storage::open_store`](crate::storage::open_store).
///
/// # Errors
///
/// Those of `open_store`: an unknown scheme, a directory that cannot be created.
#[cfg(feature = "disk")]
pub fn store(location: &str) -> crate::Result<std::sync::Arc<dyn dagger_core::ChunkStore>> {
    dagger_storage::open_store(location)
}
