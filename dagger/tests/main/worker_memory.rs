//! A worker's memory as the facade reports it: results kept in a spilling pool
//! (`PoolResults`) and the folding of sampled worker peaks (`merge_peaks`).

use bytes::Bytes;
use dagger::ids::{ChunkId, WorkerId};
use dagger::memory::{merge_peaks, peak_rss, WorkerPeak};
use dagger::remote::live_value;
use dagger::storage::{PoolResults, ResultStore, StorageConfig};
use dagger::{Error, ResultStats};

fn peak(w: u32, rss: u64, pool: u64, spilled: u64) -> WorkerPeak {
    WorkerPeak {
        worker: WorkerId(w),
        pid: 100 + w,
        peak_rss: rss,
        pool_peak: pool,
        max_spilled: spilled,
    }
}

#[test]
fn merging_keeps_each_workers_maxima() {
    let mut seen = vec![peak(2, 10, 5, 0)];
    merge_peaks(&mut seen, vec![peak(2, 8, 7, 3), peak(3, 1, 1, 1)]);
    merge_peaks(&mut seen, vec![peak(2, 9, 6, 1)]);
    assert_eq!(seen, vec![peak(2, 10, 7, 3), peak(3, 1, 1, 1)]);
}

#[test]
fn an_unreadable_process_has_no_peak() {
    // No process has this id (above the kernel's pid limit).
    assert_eq!(peak_rss(u32::MAX), 0);
}

fn limited(bytes: u64) -> PoolResults {
    PoolResults::new(StorageConfig {
        memory_limit: Some(bytes),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn live_values_spill_under_the_limit_and_come_back_live() {
    let r = limited(100_000);
    // Raw numbers (spilled as raw bytes) and a general serde type (through postcard).
    for i in 0..6u64 {
        r.put_value(ChunkId(i), live_value(vec![i as f64; 5_000]))
            .unwrap();
        r.put_value(
            ChunkId(100 + i),
            live_value(vec![(i, format!("s{i}")); 2_000]),
        )
        .unwrap();
    }
    let s = r.stats();
    assert!(
        s.spilled_bytes > 0 && s.peak_memory_bytes <= 100_000,
        "{s:?}"
    );
    assert_eq!(s.chunks, 12);
    for i in 0..6u64 {
        let v = r.get_value(ChunkId(i)).unwrap().unwrap();
        assert_eq!(v.downcast_ref::<Vec<f64>>().unwrap()[4_999], i as f64);
        // Bytes for others are the wire (postcard) encoding, whatever the spill format.
        assert_eq!(r.get(ChunkId(i)).unwrap(), v.encode().unwrap());
        let w = r.get_value(ChunkId(100 + i)).unwrap().unwrap();
        let w = w.downcast_ref::<Vec<(u64, String)>>().unwrap();
        assert_eq!(w[1_999], (i, format!("s{i}")));
    }
    assert!(r.stats().peak_memory_bytes <= 100_000);
    for i in 0..6u64 {
        r.remove(ChunkId(i)).unwrap();
        r.remove(ChunkId(100 + i)).unwrap();
    }
    assert_eq!(
        r.stats(),
        ResultStats {
            peak_memory_bytes: r.stats().peak_memory_bytes,
            ..Default::default()
        }
    );
}

#[test]
fn bytes_and_live_values_share_one_store() {
    let r = limited(1 << 20);
    r.put(ChunkId(1), Bytes::from_static(b"\x03abc")).unwrap();
    r.put_value(ChunkId(2), live_value("abc".to_string()))
        .unwrap();
    assert!(r.get_value(ChunkId(1)).unwrap().is_none(), "held as bytes");
    assert_eq!(r.get(ChunkId(1)).unwrap(), r.get(ChunkId(2)).unwrap());
    // Replacing a live value by bytes forgets its codec.
    r.put(ChunkId(2), Bytes::from_static(b"xyz")).unwrap();
    assert!(r.get_value(ChunkId(2)).unwrap().is_none());
    assert_eq!(&r.get(ChunkId(2)).unwrap()[..], b"xyz");
    assert!(matches!(r.get(ChunkId(3)), Err(Error::NotFound(_))));
    assert!(r.get_value(ChunkId(3)).unwrap().is_none());
}
