//! The `storage` benchmark suite: pool spill and read-back throughput beside plain `std::fs`.
//!
//! `cargo xtask bench storage` calls [`bench_storage`] and prints each line. Both systems
//! move the same bytes through the same temp directory in the same run, interleaved rep by
//! rep (which one goes first alternating), so their ratio is meaningful on a noisy machine.

use crate::codec::RawLe;
use crate::pool::{MemoryPool, Policy, SpillCodec, StorageConfig};
use dagger_core::{ChunkId, Error, Result};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// Runs the suite; `quick` shrinks it for a smoke run. One JSON object per measurement,
/// with `workload`, `system`, `params`, `median_s`, `min_s`, `max_s`, `reps`, `mb_per_s`.
///
/// Workloads: `spill_write` (values put into a pool whose memory limit holds one value, so
/// every other value is encoded, checksummed and written) against `std::fs::write` of the
/// same bytes; `spill_read` (every value read back and checked through `get`) against
/// `std::fs::read`.
///
/// A failure (disk full, say) is reported as a line with an `error` key, not a panic.
pub fn bench_storage(quick: bool) -> Vec<Value> {
    match run(quick) {
        Ok(lines) => lines,
        Err(e) => vec![json!({ "workload": "storage", "error": e.to_string() })],
    }
}

struct Samples {
    spill_write: Vec<f64>,
    spill_read: Vec<f64>,
    fs_write: Vec<f64>,
    fs_read: Vec<f64>,
}

fn run(quick: bool) -> Result<Vec<Value>> {
    let value_bytes: usize = 8 << 20;
    let total: usize = if quick { 64 << 20 } else { 256 << 20 };
    let reps = if quick { 3 } else { 5 };
    let n = total / value_bytes;
    // One resident value: the last one put stays in memory, the other n-1 are spilled.
    let spilled = n - 1;
    let bytes = (spilled * value_bytes) as u64;
    let values: Vec<Arc<Vec<u8>>> = (0..n)
        .map(|i| {
            Arc::new(
                (0..value_bytes)
                    .map(|j| (j % 251) as u8 ^ i as u8)
                    .collect(),
            )
        })
        .collect();
    let codec = Arc::new(SpillCodec::new::<Vec<u8>, _>(RawLe));
    let dir = tempfile::Builder::new()
        .prefix("dagger-bench-storage-")
        .tempdir()
        .map_err(|e| Error::Io(format!("creating bench directory: {e}")))?;
    let mut s = Samples {
        spill_write: vec![],
        spill_read: vec![],
        fs_write: vec![],
        fs_read: vec![],
    };
    for rep in 0..reps {
        eprintln!("bench storage: rep {}/{reps}", rep + 1);
        // Which system goes first alternates: the page cache's writeback of one system's
        // files (and its throttling of writers) then falls on both alike.
        for pool_turn in [rep % 2 == 0, rep % 2 != 0] {
            if pool_turn {
                pool_rep(
                    &mut s,
                    dir.path().join(format!("pool{rep}")),
                    &values,
                    &codec,
                    value_bytes as u64,
                )?;
            } else {
                fs_rep(
                    &mut s,
                    &dir.path().join(format!("fs{rep}")),
                    &values[..spilled],
                )?;
            }
        }
    }
    let params = json!({
        "bytes": bytes,
        "value_bytes": value_bytes,
        "values": spilled,
        "memory_limit": value_bytes,
        "policy": format!("{:?}", Policy::Lru),
        "quick": quick,
    });
    Ok(vec![
        line("spill_write", "dagger-pool", &params, &s.spill_write, bytes),
        line("spill_write", "std-fs", &params, &s.fs_write, bytes),
        line("spill_read", "dagger-pool", &params, &s.spill_read, bytes),
        line("spill_read", "std-fs", &params, &s.fs_read, bytes),
    ])
}

fn pool_rep(
    s: &mut Samples,
    dir: std::path::PathBuf,
    values: &[Arc<Vec<u8>>],
    codec: &Arc<SpillCodec>,
    value_bytes: u64,
) -> Result<()> {
    let pool = MemoryPool::new(StorageConfig {
        memory_limit: Some(value_bytes),
        spill_dir: Some(dir.clone()),
        policy: Policy::Lru,
        ..Default::default()
    })?;
    let t = Instant::now();
    for (i, v) in values.iter().enumerate() {
        pool.put(
            ChunkId(i as u64),
            v.clone(),
            value_bytes,
            Some(codec.clone()),
        )?;
    }
    s.spill_write.push(t.elapsed().as_secs_f64());
    // Untimed: spill the last value too, so the reads below only read.
    pool.shrink_to(0)?;
    let spilled = values.len() - 1;
    let t = Instant::now();
    for (i, want) in values[..spilled].iter().enumerate() {
        let v = pool.get_value::<Vec<u8>>(ChunkId(i as u64))?;
        if v.len() != want.len() || v[1] != want[1] {
            return Err(Error::Storage(format!("bench: value {i} read back wrong")));
        }
    }
    s.spill_read.push(t.elapsed().as_secs_f64());
    drop(pool);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn fs_rep(s: &mut Samples, dir: &std::path::Path, values: &[Arc<Vec<u8>>]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let t = Instant::now();
    for (i, v) in values.iter().enumerate() {
        std::fs::write(dir.join(format!("c{i}")), v.as_slice())?;
    }
    s.fs_write.push(t.elapsed().as_secs_f64());
    let t = Instant::now();
    for (i, v) in values.iter().enumerate() {
        let back = std::fs::read(dir.join(format!("c{i}")))?;
        if back.len() != v.len() || back[1] != v[1] {
            return Err(Error::Storage(format!("bench: file {i} read back wrong")));
        }
    }
    s.fs_read.push(t.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn line(workload: &str, system: &str, params: &Value, samples: &[f64], bytes: u64) -> Value {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    json!({
        "workload": workload,
        "system": system,
        "params": params,
        "median_s": median,
        "min_s": sorted.first().copied().unwrap_or(f64::NAN),
        "max_s": sorted.last().copied().unwrap_or(f64::NAN),
        "reps": samples.len(),
        "mb_per_s": bytes as f64 / median / 1e6,
    })
}
