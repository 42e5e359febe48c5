//! [`ChunkStore`](dagger_core::ChunkStore) backends and [`open_store`].
//!
//! | backend | keeps bytes | notes |
//! | --- | --- | --- |
//! | [`MemoryStore`] | in a map in this process | the embedded default; lost on exit |
//! | [`DiskStore`] | one file per key under a directory | writes are atomic (temp file + rename) |
//! | [`ObjectStoreBackend`] | in any [`object_store::ObjectStore`] | in-memory and local always; S3/GCS/Azure by feature |
//!
//! Every backend passes the `conformance` suite. A store error on read fails the task that
//! needed the value and leaves the worker serving.

mod disk;
mod listing;
mod memory;
mod object;
mod open;

pub use disk::DiskStore;
pub use memory::MemoryStore;
pub use object::ObjectStoreBackend;
pub use open::open_store;
