//! # dagger-shard
//!
//! dagger-rs pinned mutable state: mutable and Shard.
//! This crate is being filled by its own issue; see the workspace README for its role.
#![warn(missing_docs)]
