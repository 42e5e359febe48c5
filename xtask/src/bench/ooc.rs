//! The out-of-core workload of the `arrays` suite: `A + Aᵀ` through `save`/`load` on an array
//! larger than what stays in memory. It runs in a process of its own (`cargo xtask bench
//! ooc`) so its peak resident memory is its own.

use super::line;
use dagger::array::{ArithOp, Blocks, DArray};
use dagger::Context;
use serde_json::{json, Value};
use std::time::Instant;

fn vm_hwm_bytes() -> u64 {
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
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

fn run_once(n: usize, b: usize) -> dagger::Result<f64> {
    let ctx = Context::local();
    let dir = std::env::temp_dir().join(format!("dagger-ooc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (a_path, s_path) = (dir.join("A"), dir.join("ApAt"));
    DArray::<f64>::rand_seeded(&Blocks::new([b, b])?, &[n, n], 7)?
        .save(&a_path)
        .collect(&ctx)?;
    let t0 = Instant::now();
    let a = DArray::<f64>::load(&a_path)?;
    a.arith(&a.transpose()?, ArithOp::Add)?
        .save(&s_path)
        .collect(&ctx)?;
    let dt = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(dt)
}

/// Runs in this process and returns one line (peak RSS of this process included).
pub fn run(quick: bool) -> Vec<Value> {
    let (n, b) = if quick {
        (4_000, 1_000)
    } else {
        (20_000, 4_000)
    };
    match run_once(n, b) {
        Ok(dt) => {
            let mut l = line(
                "out_of_core_a_plus_at",
                "dagger-local",
                json!({"n": n, "block": b, "data_bytes": 2 * n * n * 8}),
                1,
                (dt, dt, dt),
            );
            l["peak_rss_bytes"] = json!(vm_hwm_bytes());
            l["mb_per_s"] = json!((3 * n * n * 8) as f64 / dt / 1e6);
            vec![l]
        }
        Err(e) => vec![
            json!({"workload": "out_of_core_a_plus_at", "system": "dagger-local", "error": e.to_string()}),
        ],
    }
}

/// Runs the workload in a child process (`xtask bench ooc`) and returns its line.
pub fn run_in_child(quick: bool) -> Vec<Value> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "ooc"]);
    if quick {
        cmd.arg("--quick");
    }
    match cmd.stderr(std::process::Stdio::inherit()).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        Err(e) => vec![json!({"workload": "out_of_core_a_plus_at", "error": e.to_string()})],
    }
}
