//! The proof that a third-party store plugs in: dagger-storage's conformance suite, plus
//! this store's own promises.

use bytes::Bytes;
use custom_store::ShardedStore;
use dagger_core::{ChunkStore, StoreKey};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let store = ShardedStore::new(16);
    if let Err(f) = dagger_storage::conformance::run(&store).await {
        panic!("{f}");
    }
    assert!(store.is_empty(), "the suite cleans up after itself");
}

#[tokio::test]
async fn one_shard_passes_too() {
    // Everything in one map: no spreading over shards hides a mistake in the range scan.
    let store = ShardedStore::new(1);
    let opts = dagger_storage::conformance::Options {
        large_value_bytes: 1 << 20,
        ..Default::default()
    };
    if let Err(f) = dagger_storage::conformance::run_with(&store, &opts).await {
        panic!("{f}");
    }
}

#[tokio::test]
async fn keys_spread_over_shards_and_list_in_key_order() {
    let store = ShardedStore::new(8);
    let names = ["d/a.b", "d/a/b", "d/a-b", "d/a_b", "d/a0"];
    for n in names {
        store
            .put(&StoreKey::new(n).unwrap(), Bytes::from(n))
            .await
            .unwrap();
    }
    let mut want: Vec<&str> = names.to_vec();
    want.sort();
    let got = store.list("d/").await.unwrap();
    assert_eq!(got.iter().map(StoreKey::as_str).collect::<Vec<_>>(), want);
    for n in names {
        assert_eq!(
            store.get(&StoreKey::new(n).unwrap()).await.unwrap(),
            Bytes::from(n)
        );
    }
    assert!(store.shard_sizes().iter().filter(|&&s| s > 0).count() > 1);
    assert!(store.list("d/\u{1f}").await.unwrap().is_empty());
}
