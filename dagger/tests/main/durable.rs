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
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains('~') {
                n += 1;
            }
        }
    }
    n
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
