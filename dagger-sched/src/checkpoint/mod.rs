//! Durable runs: checkpoint task results to a [`ChunkStore`](dagger_core::ChunkStore) and
//! restore them in a later run instead of computing them again (the reference's
//! `checkpoint`/`restore` options, §1.15, made automatic).
//!
//! A context gets a checkpoint store with
//! [`ContextBuilder::checkpoint`](crate::ContextBuilder::checkpoint) (any store: a
//! directory, an object store bucket). Then:
//!
//! 1. A task is checkpointed when its options say so ([`Options::checkpoint`]), or when they
//!    say nothing and the context's default is on
//!    ([`ContextBuilder::checkpoint_all`](crate::ContextBuilder::checkpoint_all)). This
//!    applies to registered functions (`spawn_registered`, `delayed_registered`, and so
//!    every DArray kernel) and to closures spawned with
//!    [`Context::spawn_checkpointed`](crate::Context::spawn_checkpointed), which names them.
//!    An unnamed closure (`spawn`) has no stable identity and is never checkpointed.
//! 2. Its key is a [`LineageKey`]: a hash of the function's name, the context's code tag
//!    ([`ContextBuilder::checkpoint_tag`](crate::ContextBuilder::checkpoint_tag)) and each
//!    argument's key (a plain value's encoding, a handle's task key). Keys come from lineage,
//!    not task ids, so the same program builds the same keys in every run. A plain value's
//!    key is only as stable as its encoding: a `HashMap` or `HashSet` argument encodes in
//!    its iteration order, which is random in each process, so it gets another key in every
//!    run and is never restored. Pass a `BTreeMap`/`BTreeSet` or a sorted `Vec` instead. A task with an
//!    argument that has no key (a handle to an unnamed closure's task) is not checkpointed
//!    and counted as [`CheckpointStats::keyless`].
//! 3. At spawn, the store is asked for the key. A usable file (same key, code tag and
//!    result type, checksum intact) gives a finished task at once: the function does not
//!    run. A damaged, truncated or foreign file is a [`CheckpointWarning`] (and a `tracing`
//!    warning) and the task is computed, never failed. A checkpoint of another code tag
//!    has another key, so it is never found.
//! 4. When a computed task succeeds, its result is encoded (postcard) into a checkpoint
//!    file (see [`encode_file`]) and put into the store atomically, off the task's path;
//!    [`Context::checkpoint_flush`](crate::Context::checkpoint_flush) waits for the writes;
//!    dropping the context waits (up to 30 s) for those already handed to the store.
//!
//! The driver writes every checkpoint, so a result computed on a worker travels to the
//! driver once (small results already do, with their completion notice).
//!
//! [`Options::checkpoint`]: dagger_core::Options::checkpoint
//!
//! ```
//! use dagger_sched::{Context, Options};
//! dagger_sched::register! { fn double(x: u64) -> u64 { x * 2 } }
//! # let store: std::sync::Arc<dyn dagger_core::ChunkStore> = std::sync::Arc::new(dagger_sched::checkpoint::testing::MapStore::default());
//! let run = |store| {
//!     let ctx = Context::builder().threads(1).checkpoint(store).checkpoint_all(true).build();
//!     let a = ctx.spawn_registered(DOUBLE, (21u64,));
//!     let b = ctx.spawn_registered(DOUBLE, (&a,));
//!     let v = b.fetch().unwrap();
//!     ctx.checkpoint_flush();
//!     (v, ctx.checkpoint_stats())
//! };
//! let (v, first) = run(store.clone());
//! assert_eq!((v, first.computed, first.written), (84, 2, 2));
//! let (v, again) = run(store);
//! assert_eq!((v, again.restored, again.computed), (84, 2, 0));
//! ```

// Bottom to top.
// The file format: header, payload, checksum; typed errors.
mod file;
// The context's store, code tag, counters and writes.
pub(crate) mod io;
// A store in a map, for doc examples and tests.
#[doc(hidden)]
pub mod testing;

pub use crate::lineage_key::{KeyHasher, LineageKey};
pub use file::{
    check_file, decode_file, encode_file, CheckpointError, CheckpointHeader, MAGIC, VERSION,
};
pub use io::{store_key, CheckpointStats, CheckpointWarning, PREFIX};

#[cfg(test)]
mod test;
