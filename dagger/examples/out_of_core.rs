//! The reference's "keeping memory use in check": `A + Aᵀ` on an array several times larger
//! than what is kept in memory, through `save`/`load`: blocks are generated and written one at
//! a time, then read back, added to their transposed partner and written, so only a few
//! blocks are ever alive. Prints the peak resident memory.
//!
//! `cargo run --release --example out_of_core [n] [block]` (default 12000 in 3000² blocks:
//! 1.15 GB of f64; the reference used 30000²).

use dagger::array::{ArithOp, Blocks, DArray};
use dagger::Context;
use std::time::Instant;

fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() -> dagger::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(12_000);
    let b = args.get(1).copied().unwrap_or(3_000);
    let ctx = Context::local();
    let dir = std::env::temp_dir().join(format!("dagger-ooc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (a_path, s_path) = (dir.join("A"), dir.join("ApAt"));
    let gib = (n * n * 8) as f64 / (1u64 << 30) as f64;
    println!("A: {n}×{n} f64 in {b}×{b} blocks = {gib:.2} GiB");

    let t0 = Instant::now();
    let a = DArray::<f64>::rand_seeded(&Blocks::new([b, b])?, &[n, n], 7)?;
    a.save(&a_path).collect(&ctx)?;
    println!(
        "saved A in {:.1} s, peak RSS {:.0} MiB",
        t0.elapsed().as_secs_f64(),
        vm_hwm_mib()
    );

    let t1 = Instant::now();
    let saved_a = DArray::<f64>::load(&a_path)?;
    let sum = saved_a.arith(&saved_a.transpose()?, ArithOp::Add)?;
    sum.save(&s_path).collect(&ctx)?;
    println!(
        "saved A + Aᵀ in {:.1} s, peak RSS {:.0} MiB",
        t1.elapsed().as_secs_f64(),
        vm_hwm_mib()
    );

    // Check a corner against the definition, reading only two blocks.
    let back = DArray::<f64>::load(&s_path)?;
    let x = DArray::<f64>::load(&a_path)?;
    let c = back.get(&[0, n - 1])?.collect(&ctx)?;
    let want = x.get(&[0, n - 1])?.collect(&ctx)? + x.get(&[n - 1, 0])?.collect(&ctx)?;
    assert!((c - want).abs() < 1e-12, "{c} != {want}");
    println!(
        "(A + Aᵀ)[0, n-1] = {c:.6} ✓; peak RSS {:.0} MiB for {:.0} MiB of data",
        vm_hwm_mib(),
        gib * 2.0 * 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
