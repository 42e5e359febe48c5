//! The integration tests of dagger-shard, in one binary (one module per former test file).

#[path = "main/common.rs"]
mod common;
#[path = "main/mutable.rs"]
mod mutable;
#[path = "main/shard.rs"]
mod shard;
