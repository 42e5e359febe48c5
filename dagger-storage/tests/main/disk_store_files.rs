//! DiskStore specifics: atomic writes leave no temp files, foreign files are not keys,
//! and list prefixes cannot walk out of the root.

use dagger_core::{ChunkStore, Error, StoreKey};
use dagger_storage::DiskStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_leave_only_the_final_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::new(dir.path()).unwrap();
    let k = StoreKey::new("a/b/c1").unwrap();
    for i in 0..10u8 {
        store.put(&k, vec![i; 1000].into()).await.unwrap();
    }
    let names: Vec<_> = std::fs::read_dir(dir.path().join("a/b"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["c1".to_string()]);
    assert_eq!(store.get(&k).await.unwrap(), vec![9u8; 1000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_temp_and_foreign_files_are_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::new(dir.path()).unwrap();
    store
        .put(&StoreKey::new("x/k").unwrap(), "v".into())
        .await
        .unwrap();
    std::fs::write(dir.path().join("x/k~tmp.1.2"), "half").unwrap();
    std::fs::write(dir.path().join("x/with space"), "foreign").unwrap();
    assert_eq!(
        store.list("x/").await.unwrap(),
        vec![StoreKey::new("x/k").unwrap()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_prefix_cannot_escape_the_root() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret"), "s").unwrap();
    let store = DiskStore::new(outer.path().join("root")).unwrap();
    assert!(store.list("../").await.unwrap().is_empty());
    assert!(store.list("/etc/").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_in_the_way_is_not_found_or_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = DiskStore::new(dir.path()).unwrap();
    store
        .put(&StoreKey::new("d/inner").unwrap(), "v".into())
        .await
        .unwrap();
    let e = store.get(&StoreKey::new("d").unwrap()).await.unwrap_err();
    assert!(
        matches!(e, Error::NotFound(ref m) if m.contains('d')),
        "{e:?}"
    );
    // A key below an existing file cannot be written; the error names the key.
    let e = store
        .put(&StoreKey::new("d/inner/x").unwrap(), "v".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("d/inner/x"), "{e}");
}
