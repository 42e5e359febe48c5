//! A durable run: 20 000 tasks of registered functions on 2 worker processes, each result
//! checkpointed to a directory, so a run that dies is resumed by running it again.
//!
//! ```sh
//! cargo run --release --example durable -- DIR                    # computes, checkpoints
//! cargo run --release --example durable -- DIR --crash-after 5000 # aborts the driver
//! cargo run --release --example durable -- DIR                    # resumes: restores ≥ 5000
//! ```
//!
//! The computation: 10 000 leaves, a pairwise tree of 9 999 `combine`s over them and one
//! `finish`. Every task is checkpointed (`checkpoint_all`) under the hash of its lineage, so
//! a later run finds what an earlier one wrote and runs only the rest. With
//! `--crash-after N` the driver calls `std::process::abort()` once N checkpoints are in the
//! store (its workers exit when they lose it). A run that is not aborted ends its stdout with
//! `restored R computed C result V`; V is the same for every run over the same tasks.

use dagger::{Context, DTask};
use std::time::{Duration, Instant};

/// Leaves of the tree (with the 9 999 combines and the finish: 20 000 tasks).
const LEAVES: u64 = 10_000;

dagger::register! {
    /// A leaf: a few microseconds of integer mixing.
    fn leaf(i: u64) -> u64 { mix(i, 2_000) }
    /// Two subtrees into one (order matters, so a wrong tree shows in the result).
    fn combine(a: u64, b: u64) -> u64 { mix(a.rotate_left(17) ^ b, 200) }
    /// The root, once more.
    fn finish(x: u64) -> u64 { mix(x, 1) }
}

/// `rounds` of splitmix64 from `x`.
fn mix(mut x: u64, rounds: u32) -> u64 {
    for _ in 0..rounds {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x = z ^ (z >> 31);
    }
    x
}

fn usage() -> ! {
    eprintln!("usage: durable DIR [--crash-after N]");
    std::process::exit(2)
}

fn main() -> dagger::Result<()> {
    dagger::init();
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| usage());
    let crash_after: Option<u64> = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--crash-after"), Some(n)) => Some(n.parse().unwrap_or_else(|_| usage())),
        _ => usage(),
    };

    let t0 = Instant::now();
    let ctx = Context::builder()
        .threads(2)
        .workers(2)
        .worker_threads(2)
        .checkpoint(dagger::checkpoint::store(&dir)?)
        .checkpoint_tag("durable-example-1")
        .checkpoint_all(true)
        .try_build()?;
    eprintln!(
        "checkpointing to {}",
        ctx.checkpoint_location().unwrap_or_default()
    );

    if let Some(n) = crash_after {
        // The crash: once n tasks have durable checkpoints, the driver dies mid-run.
        let watched = ctx.clone();
        std::thread::spawn(move || loop {
            if watched.checkpoint_stats().written >= n {
                eprintln!("{n} checkpoints written: aborting the driver");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(1));
        });
    }

    let mut level: Vec<DTask<u64>> = (0..LEAVES)
        .map(|i| ctx.spawn_registered(LEAF, (i,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [a, b] => ctx.spawn_registered(COMBINE, (a, b)),
                [a] => a.clone(),
                _ => unreachable!("chunks(2) gives one or two"),
            })
            .collect();
    }
    let root = ctx.spawn_registered(FINISH, (&level[0],));
    let v = root.fetch()?;
    ctx.checkpoint_flush();
    let s = ctx.checkpoint_stats();
    eprintln!(
        "{} ms; {} checkpoints written, {} unusable",
        t0.elapsed().as_millis(),
        s.written,
        s.unusable
    );
    println!(
        "restored {} computed {} result {v:016x}",
        s.restored, s.computed
    );
    Ok(())
}
