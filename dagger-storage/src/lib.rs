//! # dagger-storage
//!
//! dagger-rs ChunkStore backends, codecs and the spilling memory pool.
//! This crate is being filled by its own issue; see the workspace README for its role.
#![warn(missing_docs)]
