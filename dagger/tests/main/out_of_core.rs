//! Out of core on real worker processes (started by re-executing this test binary on the
//! ignored test `worker_entry`): `A + Aᵀ` through `save`/`load` with the workers' results in
//! a spilling pool whose memory limit is several times smaller than the data. The answer
//! must equal the same seeded computation in this process alone, the pools must have
//! spilled, and no pool may ever have held more than its limit in memory.
//!
//! Each test runs alone in its own process ([`crate::alone`]): it asserts that the driver's
//! process-wide live and peak block bytes stay at zero while workers compute, which any
//! other test's arrays in the same process would break.

use dagger::array::{ArithOp, Blocks, DArray};
use dagger::memory::WorkerPeaks;
use dagger::Context;
use std::path::PathBuf;
use std::time::Duration;

/// 1200² f64 = 11.5 MB of A in 16 blocks of 720 KB.
const N: usize = 1200;
const B: usize = 300;
const SEED: u64 = 11;
/// Each worker's pool limit: 2 MiB, under a fifth of A.
const LIMIT: u64 = 2 << 20;

/// A temporary directory removed on drop (also when the test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("dagger-ooc-test-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use crate::harness::cluster_builder;

fn cluster(workers: usize, spill: &std::path::Path) -> Context {
    cluster_builder(workers)
        .threads(1)
        .worker_threads(2)
        .worker_memory_limit(LIMIT)
        .worker_spill_dir(spill)
        .build()
}

fn a_plus_at_through_the_pool(workers: usize) {
    let dir = TempDir::new(&format!("w{workers}"));
    let spill = dir.0.join("spill");
    std::fs::create_dir_all(&spill).unwrap();
    let ctx = cluster(workers, &spill);
    let peaks = WorkerPeaks::watch(&ctx, Duration::from_millis(5));
    let part = Blocks::new([B, B]).unwrap();
    let a = DArray::<f64>::rand_seeded(&part, &[N, N], SEED).unwrap();

    // A held on the workers as computed blocks: 11.5 MB through 2 MiB pools must spill.
    let held = a.compute(&ctx).unwrap();
    let stats: Vec<_> = ctx
        .other_workers()
        .into_iter()
        .map(|w| ctx.worker_stats(w).unwrap())
        .collect();
    let spilled: u64 = stats.iter().map(|s| s.spilled_bytes).sum();
    assert!(spilled > 0, "nothing spilled: {stats:?}");
    for s in &stats {
        assert!(s.peak_memory_bytes <= LIMIT, "over the limit: {s:?}");
    }
    // The background watch saw the same: every worker process, its pool's peak within the
    // limit, spilling, and (read from /proc while it lived) its resident peak.
    let seen = peaks.finish();
    assert_eq!(
        seen.iter().map(|p| p.worker).collect::<Vec<_>>(),
        ctx.other_workers()
    );
    for p in &seen {
        assert_eq!(Some(p.pid), ctx.worker_pid(p.worker), "{p:?}");
        assert!(p.pool_peak > 0 && p.pool_peak <= LIMIT, "{p:?}");
        assert!(
            cfg!(not(target_os = "linux")) || p.peak_rss > p.pool_peak,
            "{p:?}"
        );
    }
    assert!(
        seen.iter().map(|p| p.max_spilled).sum::<u64>() > 0,
        "{seen:?}"
    );

    // Out of core: save A, load it, A + Aᵀ, save that, read it back.
    let (a_path, s_path) = (dir.0.join("A"), dir.0.join("ApAt"));
    let saved = held.save(&a_path).collect(&ctx).unwrap();
    assert_eq!(saved.blocks.len(), (N / B) * (N / B));
    drop(held);
    let loaded = DArray::<f64>::load(&a_path).unwrap();

    // Loading reads every block on a worker and keeps it there: none is owned by the
    // driver, and the workers hold all of A between them.
    let on_workers = loaded.compute(&ctx).unwrap();
    let chunks = on_workers.chunks().unwrap();
    assert_eq!(chunks.len(), (N / B) * (N / B));
    for c in chunks {
        assert_ne!(
            c.owner(),
            ctx.worker_id(),
            "a loaded block is in the driver"
        );
    }
    let held_bytes: u64 = ctx
        .other_workers()
        .into_iter()
        .map(|w| ctx.worker_chunks(w).unwrap().1)
        .sum();
    assert!(
        held_bytes >= (N * N * 8) as u64,
        "workers hold {held_bytes} B"
    );
    drop(on_workers);

    // Load and save run on the workers: copying A through them, the driver never holds a
    // block (it reads and writes only the metadata files).
    let base = dagger::array::mem::live_bytes();
    dagger::array::mem::reset_peak();
    let copy = DArray::<f64>::load(&a_path)
        .unwrap()
        .save(dir.0.join("A2"))
        .collect(&ctx)
        .unwrap();
    assert_eq!(copy.blocks, saved.blocks);
    let driver_peak = dagger::array::mem::peak_bytes() - base;
    assert_eq!(driver_peak, 0, "the driver held {driver_peak} B of blocks");

    // On a view of the context restricted to the workers, every block task of A + Aᵀ runs
    // there too (save's metadata step still runs in the driver): the driver holds no block.
    let wctx = ctx.with_workers(&ctx.other_workers()).unwrap();
    loaded
        .arith(&loaded.transpose().unwrap(), ArithOp::Add)
        .unwrap()
        .save(&s_path)
        .collect(&wctx)
        .unwrap();
    let driver_peak = dagger::array::mem::peak_bytes() - base;
    assert_eq!(
        driver_peak, 0,
        "A + Aᵀ: the driver held {driver_peak} B of blocks"
    );
    // `compute` leaves the blocks where they were made: it learns whether one failed from
    // a small check beside it, never by moving the block to the driver.
    let computed = loaded
        .arith(&loaded.transpose().unwrap(), ArithOp::Add)
        .unwrap()
        .compute(&wctx)
        .unwrap();
    let driver_peak = dagger::array::mem::peak_bytes() - base;
    assert_eq!(
        driver_peak, 0,
        "compute: the driver held {driver_peak} B of blocks"
    );
    let got = DArray::<f64>::load(&s_path)
        .unwrap()
        .collect_dense(&ctx)
        .unwrap();
    assert_eq!(computed.collect_dense(&ctx).unwrap(), got);

    // The same seeded array computed in this process alone.
    let local = Context::builder().threads(2).build();
    let want_a = a.collect_dense(&local).unwrap();
    let want = &want_a + &want_a.t();
    assert_eq!(got, want);
    // A read back from disk is A.
    assert_eq!(
        DArray::<f64>::load(&a_path)
            .unwrap()
            .collect_dense(&ctx)
            .unwrap(),
        want_a
    );
    // No pool ever held more than its limit in memory, through the whole pipeline.
    for w in ctx.other_workers() {
        let s = ctx.worker_stats(w).unwrap();
        assert!(
            s.peak_memory_bytes <= LIMIT,
            "worker {w:?} over the limit: {s:?}"
        );
    }
}

#[test]
fn a_plus_at_on_one_worker_through_a_2mib_pool() {
    if crate::alone::rerun(
        module_path!(),
        "a_plus_at_on_one_worker_through_a_2mib_pool",
    ) {
        return;
    }
    a_plus_at_through_the_pool(1);
}

#[test]
fn a_plus_at_on_two_workers_through_2mib_pools() {
    if crate::alone::rerun(
        module_path!(),
        "a_plus_at_on_two_workers_through_2mib_pools",
    ) {
        return;
    }
    a_plus_at_through_the_pool(2);
}
