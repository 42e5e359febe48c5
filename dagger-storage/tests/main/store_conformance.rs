//! Every backend of this crate passes the conformance suite, also behind `Arc<dyn ChunkStore>`.

use dagger_core::ChunkStore;
use dagger_storage::conformance;
use dagger_storage::{open_store, DiskStore, MemoryStore, ObjectStoreBackend};
use std::sync::Arc;

async fn check(store: &dyn ChunkStore) {
    if let Err(f) = conformance::run(store).await {
        panic!("{} on {}", f, store.location());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_conforms() {
    check(&MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    check(&DiskStore::new(dir.path().join("nested/root")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_in_memory_conforms() {
    check(&ObjectStoreBackend::in_memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_local_conforms() {
    let dir = tempfile::tempdir().unwrap();
    check(&ObjectStoreBackend::local(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_with_prefix_conforms() {
    let store = ObjectStoreBackend::in_memory()
        .with_prefix("cluster-a/run1")
        .unwrap();
    assert_eq!(store.location(), "object-memory://cluster-a/run1");
    let opts = conformance::Options {
        large_value_bytes: 1 << 20,
        ..Default::default()
    };
    conformance::run_with(&store, &opts).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opened_stores_conform_behind_arc_dyn() {
    let dir = tempfile::tempdir().unwrap();
    let file_url = format!("file://{}", dir.path().join("f").display());
    let plain = dir.path().join("p").display().to_string();
    let opts = conformance::Options {
        large_value_bytes: 1 << 20,
        ..Default::default()
    };
    for loc in ["memory://", file_url.as_str(), plain.as_str()] {
        let store: Arc<dyn ChunkStore> = open_store(loc).unwrap();
        if let Err(f) = conformance::run_with(store.as_ref(), &opts).await {
            panic!("{f} on {loc}");
        }
    }
}

#[test]
fn cloud_schemes_without_their_feature_say_so() {
    for (loc, feature) in [
        ("s3://bucket/p", "s3"),
        ("gs://bucket", "gcs"),
        ("az://c/p", "azure"),
    ] {
        let enabled = match feature {
            "s3" => cfg!(feature = "s3"),
            "gcs" => cfg!(feature = "gcs"),
            _ => cfg!(feature = "azure"),
        };
        if enabled {
            continue;
        }
        let err = open_store(loc).unwrap_err().to_string();
        assert!(
            err.contains(&format!("`{feature}` feature")),
            "{loc}: {err}"
        );
    }
    assert!(open_store("").is_err());
    assert!(open_store("file://").is_err());
    assert!(open_store("nope://x")
        .unwrap_err()
        .to_string()
        .contains("unknown store scheme"));
}

/// A third party's store that loses data fails the suite with the check named.
#[tokio::test(flavor = "current_thread")]
async fn a_broken_store_fails_naming_the_check() {
    #[derive(Debug, Default)]
    struct Forgetful(MemoryStore);
    #[async_trait::async_trait]
    impl ChunkStore for Forgetful {
        fn location(&self) -> String {
            "forgetful://".into()
        }
        async fn put(
            &self,
            key: &dagger_core::StoreKey,
            value: bytes::Bytes,
        ) -> dagger_core::Result<()> {
            // Keeps only the first write of a key: overwrites are lost.
            if self.0.get(key).await.is_err() {
                self.0.put(key, value).await?;
            }
            Ok(())
        }
        async fn get(&self, key: &dagger_core::StoreKey) -> dagger_core::Result<bytes::Bytes> {
            self.0.get(key).await
        }
        async fn delete(&self, key: &dagger_core::StoreKey) -> dagger_core::Result<()> {
            self.0.delete(key).await
        }
        async fn list(&self, prefix: &str) -> dagger_core::Result<Vec<dagger_core::StoreKey>> {
            self.0.list(prefix).await
        }
    }
    let f = conformance::run(&Forgetful::default()).await.unwrap_err();
    assert_eq!(f.check, "overwrite");
    assert!(f.to_string().contains("overwrite"));
}
