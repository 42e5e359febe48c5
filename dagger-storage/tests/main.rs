//! The integration tests of dagger-storage, in one binary (one module per former test file).

#[path = "main/disk_store_files.rs"]
mod disk_store_files;
// Against a moto S3 server: `cargo test -p dagger-storage --features s3 --test main s3_moto`
// with `DAGGER_TEST_S3_ENDPOINT` set (skips itself without it).
#[cfg(feature = "s3")]
#[path = "main/s3_moto.rs"]
mod s3_moto;
#[path = "main/store_conformance.rs"]
mod store_conformance;
