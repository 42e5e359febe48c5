use super::*;
use crate::codec::{Postcard, RawLe};
use crate::store::MemoryStore;

fn pool(mem: u64, disk: u64, policy: Policy) -> MemoryPool {
    MemoryPool::new(StorageConfig {
        memory_limit: Some(mem),
        disk_limit: Some(disk),
        policy,
        ..Default::default()
    })
    .unwrap()
}

/// A value whose declared size is `size`; its content records the size for checking.
fn put(p: &MemoryPool, id: u64, size: u64) {
    p.put_value(ChunkId(id), vec![id as u8; size as usize], size, RawLe)
        .unwrap();
}

fn ids(v: &[u64]) -> Vec<ChunkId> {
    v.iter().map(|i| ChunkId(*i)).collect()
}

/// Reference: behaviours.md H60 (MemPool's SimpleRecencyAllocator).
#[test]
fn h60_recency_allocator_lru() {
    let p = pool(80, 80_000, Policy::Lru);
    put(&p, 1, 16);
    put(&p, 2, 24);
    put(&p, 3, 40);
    // All fit, most recent first: r3, r2, r1.
    assert_eq!(p.resident(), ids(&[3, 2, 1]));
    assert!(p.spilled().is_empty());
    // A 16 B ref does not fit: LRU evicts r1, the least recent.
    put(&p, 4, 16);
    assert_eq!(p.resident(), ids(&[4, 3, 2]));
    assert_eq!(p.spilled(), ids(&[1]));
    // Reading an in-memory ref moves it to the most recent position.
    assert_eq!(p.get_value::<Vec<u8>>(ChunkId(2)).unwrap().len(), 24);
    assert_eq!(p.resident(), ids(&[2, 4, 3]));
    // Reading the on-disk r1 promotes it and evicts the least recent (r3, 40 B).
    assert_eq!(*p.get_value::<Vec<u8>>(ChunkId(1)).unwrap(), vec![1u8; 16]);
    assert_eq!(p.resident(), ids(&[1, 2, 4]));
    assert_eq!(p.spilled(), ids(&[3]));
    let s = p.stats();
    assert_eq!((s.memory_bytes, s.read_backs, s.evictions), (56, 1, 2));
    assert!(s.peak_memory_bytes <= 80);
}

/// Reference: behaviours.md H60, MRU variant.
#[test]
fn h60_recency_allocator_mru() {
    let p = pool(80, 80_000, Policy::Mru);
    put(&p, 1, 16);
    put(&p, 2, 24);
    put(&p, 3, 40);
    assert_eq!(p.resident(), ids(&[3, 2, 1]));
    // MRU evicts r3, the most recent.
    put(&p, 4, 16);
    assert_eq!(p.resident(), ids(&[4, 2, 1]));
    assert_eq!(p.spilled(), ids(&[3]));
    // Reading an in-memory ref moves it to the most recent position.
    p.get(ChunkId(1)).unwrap();
    assert_eq!(p.resident(), ids(&[1, 4, 2]));
    // Reading r3 (40 B) back: 56 + 40 > 80, so MRU evicts r1, the most recent other ref.
    assert_eq!(*p.get_value::<Vec<u8>>(ChunkId(3)).unwrap(), vec![3u8; 40]);
    assert_eq!(p.resident(), ids(&[3, 4, 2]));
    assert_eq!(p.spilled(), ids(&[1]));
    assert!(p.stats().peak_memory_bytes <= 80);
}

/// Reference: behaviours.md H60, invalid policy/limits.
#[test]
fn invalid_policy_and_limits_are_argument_errors() {
    assert!(matches!("LFU".parse::<Policy>(), Err(Error::Argument(_))));
    for cfg in [
        StorageConfig {
            memory_limit: Some(0),
            ..Default::default()
        },
        StorageConfig {
            disk_limit: Some(0),
            ..Default::default()
        },
        StorageConfig {
            spill_dir: Some("/tmp/x".into()),
            store: Some("memory://".into()),
            ..Default::default()
        },
    ] {
        assert!(matches!(MemoryPool::new(cfg), Err(Error::Argument(_))));
    }
    assert!(matches!(
        MemoryPool::new(StorageConfig {
            store: Some("s4://x".into()),
            ..Default::default()
        }),
        Err(Error::Argument(_))
    ));
}

#[test]
fn value_larger_than_memory_goes_straight_to_disk() {
    let p = pool(100, 10_000, Policy::Lru);
    put(&p, 1, 50);
    put(&p, 2, 500);
    assert_eq!(p.resident(), ids(&[1]));
    assert_eq!(p.spilled(), ids(&[2]));
    // Reading it back hands it out but keeps it on disk; c1 stays.
    assert_eq!(p.get_value::<Vec<u8>>(ChunkId(2)).unwrap().len(), 500);
    assert_eq!(p.resident(), ids(&[1]));
    let s = p.stats();
    assert_eq!(s.peak_memory_bytes, 50);
    assert_eq!(s.spills, 1);
}

#[test]
fn exceeding_memory_and_disk_is_an_error_naming_sizes() {
    // Chunk files of 40 B payloads are ~74 bytes; the disk holds one.
    let p = pool(50, 100, Policy::Lru);
    put(&p, 1, 40);
    put(&p, 2, 40); // spills c1
    let err = p
        .put_value(ChunkId(3), vec![3u8; 40], 40, RawLe)
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("memory limit 50") && msg.contains("disk limit 100"),
        "{msg}"
    );
    // Nothing was lost.
    assert_eq!(p.get_value::<Vec<u8>>(ChunkId(1)).unwrap().len(), 40);
    let too_big = p
        .put_value(ChunkId(4), vec![0u8; 400], 400, RawLe)
        .unwrap_err();
    assert!(too_big.to_string().contains("disk limit 100"), "{too_big}");
    assert!(!p.contains(ChunkId(4)));
}

#[test]
fn clean_copies_make_room_on_disk() {
    // Memory holds two 40 B values, the disk two chunk files (~73 B each).
    let p = pool(100, 150, Policy::Lru);
    put(&p, 1, 40);
    put(&p, 2, 40);
    put(&p, 3, 40); // c1 -> disk
    p.get(ChunkId(1)).unwrap(); // c1 back with a clean copy kept; c2 -> disk
    assert_eq!(p.spilled(), ids(&[2]));
    let before = p.stats();
    // c3 must spill, but the disk is full: c1's redundant copy is deleted to make room.
    put(&p, 4, 40);
    assert_eq!(p.resident(), ids(&[4, 1]));
    assert_eq!(p.spilled(), ids(&[2, 3]));
    let after = p.stats();
    assert!(
        after.disk_bytes <= 150 && after.disk_bytes == before.disk_bytes,
        "{after:?}"
    );
    // Evicting c1 again now needs a write, and still fits.
    for id in [1, 2, 3, 4] {
        assert_eq!(
            *p.get_value::<Vec<u8>>(ChunkId(id)).unwrap(),
            vec![id as u8; 40]
        );
    }
}

#[test]
fn pinned_values_are_never_spilled() {
    let p = pool(100, 10_000, Policy::Lru);
    p.put(
        ChunkId(1),
        Arc::new(std::cell::Cell::new(5u8).get()),
        60,
        None,
    )
    .unwrap();
    put(&p, 2, 30);
    put(&p, 3, 30); // must evict c2, not the pinned c1
    assert_eq!(p.spilled(), ids(&[2]));
    let err = p.put(ChunkId(4), Arc::new(()), 50, None).unwrap_err();
    assert!(err.to_string().contains("pinned"), "{err}");
    let err = p.put(ChunkId(5), Arc::new(()), 500, None).unwrap_err();
    assert!(err.to_string().contains("pinned"), "{err}");
}

#[test]
fn remove_deletes_the_spilled_file() {
    let p = pool(10, 10_000, Policy::Lru);
    put(&p, 1, 8);
    put(&p, 2, 8);
    let store = p.store().clone();
    let files = |s: &Arc<dyn ChunkStore>| {
        let s = s.clone();
        super::io::run(async move { s.list("spill/").await }).unwrap()
    };
    assert_eq!(files(&store).len(), 1);
    assert!(p.remove(ChunkId(1)).unwrap());
    assert!(files(&store).is_empty());
    assert!(!p.remove(ChunkId(1)).unwrap());
    assert!(matches!(p.get(ChunkId(1)), Err(Error::NotFound(m)) if m.contains("c1")));
    assert_eq!(p.stats().disk_bytes, 0);
}

#[test]
fn temp_dir_is_deleted_on_drop() {
    let p = pool(10, 10_000, Policy::Lru);
    put(&p, 1, 8);
    put(&p, 2, 8);
    let loc = p.store().location();
    let dir = std::path::PathBuf::from(loc.trim_start_matches("file://"));
    assert!(dir.is_dir());
    drop(p);
    assert!(!dir.exists());
}

#[test]
fn user_spill_dir_is_kept_but_emptied_of_our_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = MemoryPool::new(StorageConfig {
        memory_limit: Some(10),
        spill_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    put(&p, 1, 8);
    put(&p, 2, 8);
    drop(p);
    assert!(dir.path().is_dir());
    let store = DiskStore::new(dir.path()).unwrap();
    let left = super::io::run(async move { store.list("").await }).unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn corrupt_spill_file_is_an_error_naming_the_chunk() {
    let store = Arc::new(MemoryStore::new());
    let p = MemoryPool::with_store(
        StorageConfig {
            memory_limit: Some(10),
            ..Default::default()
        },
        store.clone(),
    )
    .unwrap();
    put(&p, 7, 8);
    put(&p, 8, 8); // c7 -> store
    let s = store.clone();
    let keys = super::io::run(async move { s.list("spill/").await }).unwrap();
    assert_eq!(keys.len(), 1);
    let (s, k) = (store.clone(), keys[0].clone());
    super::io::run(async move {
        let mut b = s.get(&k).await?.to_vec();
        let last = b.len() - 1;
        b[last] ^= 1;
        s.put(&k, b.into()).await
    })
    .unwrap();
    match p.get(ChunkId(7)) {
        Err(Error::Corrupt { what, .. }) => assert!(what.contains("c7"), "{what}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn get_value_of_the_wrong_type_is_an_argument_error() {
    let p = MemoryPool::new(StorageConfig::default()).unwrap();
    p.put_value(ChunkId(1), "s".to_string(), 1, Postcard)
        .unwrap();
    assert!(matches!(
        p.get_value::<u32>(ChunkId(1)),
        Err(Error::Argument(_))
    ));
}

#[test]
fn replacing_a_value_keeps_accounting_straight() {
    let p = pool(100, 10_000, Policy::Lru);
    put(&p, 1, 60);
    put(&p, 1, 30);
    assert_eq!(p.stats().memory_bytes, 30);
    assert_eq!(p.get_value::<Vec<u8>>(ChunkId(1)).unwrap().len(), 30);
}

#[test]
fn works_from_inside_a_tokio_runtime() {
    // The scheduler may call the pool from a thread that runs a runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = pool(10, 10_000, Policy::Lru);
        put(&p, 1, 8);
        put(&p, 2, 8);
        assert_eq!(p.get_value::<Vec<u8>>(ChunkId(1)).unwrap().len(), 8);
        drop(p);
    });
}

/// More live data than the memory limit: 200 values of 1 MiB through a 16 MiB pool.
#[test]
fn more_data_than_memory_round_trips_within_the_limit() {
    const MIB: u64 = 1 << 20;
    let p = pool(16 * MIB, 400 * MIB, Policy::Lru);
    for i in 0..200u64 {
        let v: Vec<u32> = (0..(MIB / 4) as u32)
            .map(|j| j ^ (i as u32 * 7919))
            .collect();
        p.put_value(ChunkId(i), v, MIB, RawLe).unwrap();
    }
    for i in (0..200u64).rev() {
        let v = p.get_value::<Vec<u32>>(ChunkId(i)).unwrap();
        assert_eq!(v.len() as u64, MIB / 4);
        assert!(
            v.iter()
                .enumerate()
                .all(|(j, x)| *x == j as u32 ^ (i as u32 * 7919)),
            "value {i}"
        );
    }
    let s = p.stats();
    assert!(
        s.peak_memory_bytes <= 16 * MIB,
        "peak {} > limit",
        s.peak_memory_bytes
    );
    assert_eq!(s.peak_memory_bytes, 16 * MIB);
    assert!(s.spills >= 184 && s.read_backs >= 184, "{s:?}");
    assert_eq!(s.resident_values + s.spilled_values, 200);
}

#[test]
fn concurrent_threads_share_a_pool() {
    let p = Arc::new(pool(4096, 1 << 20, Policy::Lru));
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let p = p.clone();
            scope.spawn(move || {
                for i in 0..50u64 {
                    let id = t * 1000 + i;
                    p.put_value(ChunkId(id), vec![(id % 251) as u8; 256], 256, RawLe)
                        .unwrap();
                    let back = p.get_value::<Vec<u8>>(ChunkId(id / 2 * 2)).unwrap();
                    assert_eq!(back[0], ((id / 2 * 2) % 251) as u8);
                }
            });
        }
    });
    assert!(p.stats().peak_memory_bytes <= 4096);
}

/// The streaming disk path (raw arrays in a local spill directory) detects damage too.
#[test]
fn corrupt_or_truncated_spill_file_on_disk_is_an_error_naming_the_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let p = MemoryPool::new(StorageConfig {
        memory_limit: Some(1000),
        spill_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    for id in 1..=3 {
        p.put_value(ChunkId(id), vec![id as f64; 100], 800, RawLe)
            .unwrap();
    }
    // c1 and c2 are spilled; find their files.
    let file_of = |id: u64| {
        let store = DiskStore::new(dir.path()).unwrap();
        let keys = super::io::run(async move { store.list("spill/").await }).unwrap();
        let key = keys
            .into_iter()
            .find(|k| k.as_str().ends_with(&format!("/c{id}")))
            .unwrap();
        dir.path().join(key.as_str())
    };
    let f1 = file_of(1);
    let mut bytes = std::fs::read(&f1).unwrap();
    bytes[500] ^= 0x20;
    std::fs::write(&f1, &bytes).unwrap();
    match p.get(ChunkId(1)) {
        Err(Error::Corrupt { what, detail }) => {
            assert!(what.contains("c1") && what.contains("file://"), "{what}");
            assert!(detail.contains("checksum"), "{detail}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let f2 = file_of(2);
    let bytes = std::fs::read(&f2).unwrap();
    std::fs::write(&f2, &bytes[..bytes.len() - 9]).unwrap();
    assert!(matches!(p.get(ChunkId(2)), Err(Error::Corrupt { what, .. }) if what.contains("c2")));
    // The intact value is still there.
    assert_eq!(p.get_value::<Vec<f64>>(ChunkId(3)).unwrap()[0], 3.0);
}

/// Values written by the streaming path and by the general path are the same file format.
#[test]
fn raw_and_general_paths_agree_on_the_format() {
    let raw = SpillCodec::new::<Vec<i32>, _>(RawLe);
    assert!(raw.raw().is_some());
    assert!(SpillCodec::new::<Box<[f32]>, _>(RawLe).raw().is_some());
    assert!(SpillCodec::new::<Vec<i32>, _>(Postcard).raw().is_none());
    let v: Vec<i32> = (0..1000).collect();
    let via_raw = (raw.raw().unwrap().bytes)(&v).unwrap().to_vec();
    let via_codec = raw.encode(&v).unwrap();
    assert_eq!(via_raw, via_codec.to_vec());
}

/// Byte arrays take the no-zeroing read path; damage is still caught there.
#[test]
fn byte_array_spill_files_are_checked_too() {
    let dir = tempfile::tempdir().unwrap();
    let p = MemoryPool::new(StorageConfig {
        memory_limit: Some(100),
        spill_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    put(&p, 1, 100);
    put(&p, 2, 100); // c1 -> disk
    assert_eq!(*p.get_value::<Vec<u8>>(ChunkId(1)).unwrap(), vec![1u8; 100]); // c2 -> disk
    let store = DiskStore::new(dir.path()).unwrap();
    let keys = super::io::run(async move { store.list("spill/").await }).unwrap();
    let k2 = keys.iter().find(|k| k.as_str().ends_with("/c2")).unwrap();
    let path = dir.path().join(k2.as_str());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[60] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(p.get(ChunkId(2)), Err(Error::Corrupt { what, .. }) if what.contains("c2")));
}

/// Large values, raw or encoded, reach the disk in the aligned layout, no copy in between,
/// and come back intact; the disk accounting matches the files.
#[test]
fn large_values_spill_in_the_aligned_layout_by_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let p = MemoryPool::new(StorageConfig {
        memory_limit: Some(1 << 20),
        spill_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let raw: Vec<f64> = (0..100_000).map(f64::from).collect();
    let general: Vec<u64> = (0..100_000).collect();
    p.put_value(ChunkId(1), raw.clone(), 800_000, RawLe)
        .unwrap();
    p.put_value(ChunkId(2), general.clone(), 800_000, Postcard)
        .unwrap(); // c1 -> disk
    p.shrink_to(0).unwrap(); // c2 -> disk
    let store = DiskStore::new(dir.path()).unwrap();
    let keys = super::io::run(async move { store.list("spill/").await }).unwrap();
    let mut on_disk = 0;
    for k in &keys {
        let bytes = std::fs::read(dir.path().join(k.as_str())).unwrap();
        assert_eq!(
            u16::from_le_bytes([bytes[8], bytes[9]]),
            crate::chunk_file::VERSION_ALIGNED
        );
        on_disk += bytes.len() as u64;
    }
    assert_eq!(keys.len(), 2);
    assert_eq!(p.stats().disk_bytes, on_disk);
    assert_eq!(*p.get_value::<Vec<f64>>(ChunkId(1)).unwrap(), raw);
    assert_eq!(*p.get_value::<Vec<u64>>(ChunkId(2)).unwrap(), general);
}
