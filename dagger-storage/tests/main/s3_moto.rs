//! The conformance suite against the real `object_store` S3 client, pointed at a moto server.
//!
//! Needs the `s3` feature and `DAGGER_TEST_S3_ENDPOINT` (e.g. `http://127.0.0.1:5123`):
//!
//! ```text
//! export DAGGER_TEST_S3_ENDPOINT=$(scripts/dagger-storage/moto.sh start)
//! cargo test -p dagger-storage --features s3 --test main s3_moto
//! scripts/dagger-storage/moto.sh stop
//! ```
//!
//! Without the endpoint the test prints why it skipped and passes.

use dagger_core::{ChunkId, ChunkStore};
use dagger_storage::object_store::aws::AmazonS3Builder;
use dagger_storage::{
    conformance, open_store, MemoryPool, ObjectStoreBackend, RawLe, StorageConfig,
};
use std::sync::Arc;

fn endpoint() -> Option<String> {
    match std::env::var("DAGGER_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e.trim_end_matches('/').to_string()),
        _ => {
            eprintln!("skipped: DAGGER_TEST_S3_ENDPOINT not set (start moto with scripts/dagger-storage/moto.sh start)");
            None
        }
    }
}

/// Creates `bucket` on the moto server.
fn create_bucket(endpoint: &str, bucket: &str) {
    dagger_storage::conformance::create_test_bucket(endpoint, bucket)
        .expect("creating the test bucket");
}

fn bucket_name(tag: &str) -> String {
    format!("dagger-test-{tag}-{}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_conforms_against_moto() {
    let Some(ep) = endpoint() else { return };
    let bucket = bucket_name("conf");
    create_bucket(&ep, &bucket);
    let s3 = AmazonS3Builder::new()
        .with_endpoint(&ep)
        .with_allow_http(true)
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    let store = ObjectStoreBackend::new(Arc::new(s3), format!("s3://{bucket}"))
        .with_prefix("suite")
        .unwrap();
    if let Err(f) = conformance::run(&store).await {
        panic!("{f} on {}", store.location());
    }
}

#[test]
fn open_store_and_pool_spill_to_s3() {
    let Some(ep) = endpoint() else { return };
    let bucket = bucket_name("pool");
    create_bucket(&ep, &bucket);
    // open_store reads the S3 client's settings from the AWS_* environment. This is the
    // only test in this binary that touches the environment.
    for (k, v) in [
        ("AWS_ENDPOINT", ep.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ] {
        // SAFETY: set_var is unsound only next to a C-level getenv on another thread. The
        // tests of this binary that may run meanwhile read the environment (and spawn
        // processes) only through std, which takes the lock set_var takes; so does
        // object_store, which reads these settings with std::env::var.
        unsafe { std::env::set_var(k, v) };
    }
    let location = format!("s3://{bucket}/spill-prefix");
    let store = open_store(&location).unwrap();
    assert_eq!(store.location(), location);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let opts = conformance::Options {
        large_value_bytes: 4 << 20,
        ..Default::default()
    };
    rt.block_on(async { conformance::run_with(store.as_ref(), &opts).await })
        .unwrap();

    let pool = MemoryPool::new(StorageConfig {
        memory_limit: Some(3000),
        store: Some(location.clone()),
        ..Default::default()
    })
    .unwrap();
    for i in 0..10u64 {
        pool.put_value(ChunkId(i), vec![i; 125], 1000, RawLe)
            .unwrap();
    }
    assert_eq!(pool.spilled().len(), 7);
    for i in 0..10u64 {
        assert_eq!(
            *pool.get_value::<Vec<u64>>(ChunkId(i)).unwrap(),
            vec![i; 125]
        );
    }
    assert!(pool.stats().peak_memory_bytes <= 3000);
    let s = pool.store().clone();
    drop(pool);
    // The pool deletes its own objects on drop.
    let left = rt.block_on(async move { s.list("spill/").await }).unwrap();
    assert!(left.is_empty(), "{left:?}");
    let _: &dyn ChunkStore = store.as_ref();
}
