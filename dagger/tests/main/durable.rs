//! Durable runs across processes (issue 27): results computed on worker processes are
//! checkpointed to a directory; a driver that aborts itself mid-run (in a child process) is
//! resumed by the next run, which restores at least what was written and gets the same
//! answer as a run that never crashed.

use crate::harness::cluster_builder;
use dagger::{Context, DTask};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Leaves of the tree: with the 999 combines and the finish, 2 000 tasks.
const LEAVES: u64 = 1_000;
const TASKS: u64 = 2 * LEAVES;
/// The child driver aborts once this many checkpoints are written.
const CRASH_AFTER: u64 = 500;
/// Where the child driver checkpoints (set: the ignored entry below runs and aborts).
const DIR_VAR: &str = "DAGGER_TEST_DURABLE_DIR";

dagger::register! {
    fn d_leaf(i: u64) -> u64 { (0..200).fold(i, |x, _| x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407)) }
    fn d_combine(a: u64, b: u64) -> u64 { a.rotate_left(17) ^ b.wrapping_mul(3) }
    fn d_finish(x: u64) -> u64 { x ^ (x >> 29) }
}

/// The durable example's computation, smaller: checkpointed to `dir` on 2 worker processes.
/// Returns (restored, computed, result).
fn run(dir: &Path, crash_after: Option<u64>) -> (u64, u64, u64) {
    let ctx: Context = cluster_builder(2)
        .threads(2)
        .worker_threads(2)
        .checkpoint(dagger::checkpoint::store(dir.to_str().expect("a UTF-8 temp dir")).unwrap())
        .checkpoint_tag("durable-test")
        .checkpoint_all(true)
        .build();
    if let Some(n) = crash_after {
        let watched = ctx.clone();
        std::thread::spawn(move || loop {
            if watched.checkpoint_stats().written >= n {
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(1));
        });
    }
    let mut level: Vec<DTask<u64>> = (0..LEAVES)
        .map(|i| ctx.spawn_registered(D_LEAF, (i,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [a, b] => ctx.spawn_registered(D_COMBINE, (a, b)),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    let v = ctx
        .spawn_registered(D_FINISH, (&level[0],))
        .fetch()
        .unwrap();
    ctx.checkpoint_flush();
    let s = ctx.checkpoint_stats();
    assert_eq!(s.unusable, 0, "{:?}", ctx.checkpoint_warnings());
    (s.restored, s.computed, v)
}

fn checkpoint_files(dir: &Path) -> usize {
    checkpoint_paths(dir).len()
}

/// The child driver: runs only when the parent test sets [`DIR_VAR`], and aborts mid-run.
#[test]
#[ignore]
fn durable_crashing_driver_entry() {
    if let Some(dir) = std::env::var_os(DIR_VAR) {
        run(Path::new(&dir), Some(CRASH_AFTER));
        unreachable!("the driver should have aborted after {CRASH_AFTER} checkpoints");
    }
}

#[test]
fn a_driver_that_aborts_mid_run_is_resumed_with_the_same_answer() {
    let clean = tempfile::tempdir().unwrap();
    let (r, c, expected) = run(clean.path(), None);
    assert_eq!((r, c), (0, TASKS));
    assert_eq!(checkpoint_files(clean.path()), TASKS as usize);

    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durable::durable_crashing_driver_entry",
            "--ignored",
            "--nocapture",
        ])
        .env(DIR_VAR, dir.path())
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the child driver did not abort: {status}"
    );
    let written = checkpoint_files(dir.path());
    assert!(
        written as u64 >= CRASH_AFTER,
        "only {written} checkpoints survived the crash"
    );

    let (r, c, v) = run(dir.path(), None);
    assert!(r >= CRASH_AFTER, "restored only {r}");
    assert_eq!(r + c, TASKS);
    assert_eq!(v, expected);
    // And once more: everything restored now.
    assert_eq!(run(dir.path(), None), (TASKS, 0, expected));
}

/// All checkpoint files under `dir` (temporary files of unfinished writes aside).
fn checkpoint_paths(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains('~') {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A 4x4-block random array and `2x + 1` of it, checkpointed to `dir`; (restored, computed,
/// the values).
fn darray_run(dir: &Path) -> (u64, u64, ndarray::ArrayD<f64>) {
    use dagger::array::{ArithOp, Blocks, DArray, Side};
    let ctx = Context::builder()
        .threads(2)
        .checkpoint(dagger::checkpoint::store(dir.to_str().expect("a UTF-8 temp dir")).unwrap())
        .checkpoint_tag("darray-test")
        .checkpoint_all(true)
        .build();
    let part = Blocks::from([10, 10]);
    let x = DArray::<f64>::rand_seeded(&part, &[40, 40], 7)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let y = x
        .arith_scalar(2.0, ArithOp::Mul, Side::Right)
        .compute(&ctx)
        .unwrap()
        .arith_scalar(1.0, ArithOp::Add, Side::Right)
        .compute(&ctx)
        .unwrap();
    let v = y.collect_dense(&ctx).unwrap();
    ctx.checkpoint_flush();
    let s = ctx.checkpoint_stats();
    assert_eq!(s.unusable, 0, "{:?}", ctx.checkpoint_warnings());
    (s.restored, s.computed, v)
}

/// A checkpointed DArray resumes block by block: with some blocks' checkpoints gone (as
/// when a run dies part-way), the next run computes exactly those blocks and restores the
/// rest, and the values are the same.
#[test]
fn a_checkpointed_darray_resumes_block_by_block() {
    let dir = tempfile::tempdir().unwrap();
    let (r, computed, expected) = darray_run(dir.path());
    assert_eq!(r, 0);
    // 16 blocks in each of the three arrays.
    assert!(computed >= 48, "only {computed} tasks computed");
    let files = checkpoint_paths(dir.path());
    assert_eq!(files.len() as u64, computed);
    assert_eq!(darray_run(dir.path()), (computed, 0, expected.clone()));
    // Lose 5 blocks' checkpoints, spread over the run.
    for p in files.iter().step_by(files.len() / 5).take(5) {
        std::fs::remove_file(p).unwrap();
    }
    assert_eq!(darray_run(dir.path()), (computed - 5, 5, expected));
}
