//! # custom-store
//!
//! A `dagger_core::ChunkStore` written outside dagger-rs, the way a third party would: it
//! depends only on `dagger-core` (the trait) and, to prove itself, on `dagger-storage`'s
//! `conformance` suite. Nothing in dagger-rs knows about it.
//!
//! | item | what it is |
//! | --- | --- |
//! | [`ShardedStore`] | the store: a fixed number of in-memory shards, each a sorted map |
//! | [`encoding`] | its own key encoding: how a `StoreKey` becomes the bytes a shard keys by |
//!
//! ```
//! use custom_store::ShardedStore;
//! use dagger_core::{ChunkStore, StoreKey};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = ShardedStore::new(4);
//! let key = StoreKey::new("chunks/c1").unwrap();
//! store.put(&key, bytes::Bytes::from_static(b"hello")).await.unwrap();
//! assert_eq!(&store.get(&key).await.unwrap()[..], b"hello");
//! assert_eq!(store.list("chunks/").await.unwrap(), vec![key]);
//! # });
//! ```
#![warn(missing_docs)]

pub mod encoding;
mod store;

pub use store::ShardedStore;
