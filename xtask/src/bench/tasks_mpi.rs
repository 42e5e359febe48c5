//! `cargo xtask bench tasks --transport mpi`: `tasks_independent` over MPI and over TCP,
//! from the same run.
//!
//! This process builds the xtask binary with `--features mpi` (release, the same target
//! directory) and runs it as 3 ranks under `mpirun --oversubscribe --allow-run-as-root`.
//! There `dagger::init()` makes ranks 1 and 2 the workers of rank 0, which then measures
//! `n` registered `x + 1` tasks placed on the workers (so each crosses a process boundary)
//! on two clusters alive at once: the MPI ranks (`system=dagger-mpi2`) and 2 TCP worker
//! processes it launches itself (`system=dagger-tcp2`), repetitions interleaved so both
//! see the same machine. Rank 0 prints the records; this process passes them on.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs the comparison (inside the MPI job when started by `mpirun`, else launches it).
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    if in_mpi_job() {
        return in_job(quick, reps);
    }
    match launch(quick, reps) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench tasks --transport mpi: {e}");
            std::process::exit(1);
        }
    }
}

fn launch(quick: bool, reps: usize) -> Result<Vec<Value>, String> {
    let bin = build_with_mpi()?;
    let mut args = vec!["bench", "tasks", "--transport", "mpi", "--reps"];
    let reps = reps.to_string();
    args.push(&reps);
    if quick {
        args.push("--quick");
    }
    mpirun(&bin, 3, &[], &args)
}

/// True inside a job an MPI launcher started (`mpirun`, `srun --mpi=...`).
pub(crate) fn in_mpi_job() -> bool {
    std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() || std::env::var_os("PMI_SIZE").is_some()
}

/// Builds the release xtask with `--features mpi` (same target directory); its path.
pub(crate) fn build_with_mpi() -> Result<PathBuf, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "xtask",
            "--features",
            "mpi",
        ])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err("building xtask with --features mpi failed (are libopenmpi-dev and libclang-dev installed?)".into());
    }
    Ok(target.join("release").join("xtask"))
}

/// Runs `bin args` as `ranks` ranks under `mpirun --oversubscribe --allow-run-as-root`, with
/// `env` exported to every rank; the JSON lines it printed.
pub(crate) fn mpirun(
    bin: &Path,
    ranks: usize,
    env: &[(&str, &str)],
    args: &[&str],
) -> Result<Vec<Value>, String> {
    let mut cmd = Command::new("mpirun");
    cmd.args([
        "--oversubscribe",
        "--allow-run-as-root",
        "-n",
        &ranks.to_string(),
    ]);
    for (k, v) in env {
        cmd.env(k, v).args(["-x", k]);
    }
    let out = cmd
        .arg(bin)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run mpirun (is openmpi-bin installed?): {e}"))?;
    if !out.status.success() {
        return Err(format!("mpirun -n {ranks} exited with {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(not(feature = "mpi"))]
fn in_job(_quick: bool, _reps: usize) -> Vec<Value> {
    eprintln!("this xtask was built without --features mpi");
    std::process::exit(1);
}

#[cfg(feature = "mpi")]
dagger::register! {
    fn mpi_bench_inc(x: u64) -> u64 { x + 1 }
}

#[cfg(feature = "mpi")]
fn in_job(quick: bool, reps: usize) -> Vec<Value> {
    use super::line;
    use dagger::{fetch_all, Context, DTask, Options, Scope, WorkerId};
    use serde_json::json;
    use std::sync::Arc;
    let n: usize = if quick { 10_000 } else { 100_000 };
    // The first cluster gets the MPI ranks; the second is told to use TCP.
    let build = |b: dagger::ContextBuilder| {
        b.workers(2).try_build().unwrap_or_else(|e| {
            eprintln!("cluster: {e}");
            std::process::exit(1)
        })
    };
    let mpi = build(Context::builder());
    let tcp = build(Context::builder().transport(Arc::new(dagger::transport::TcpTransport)));
    let remote = |ctx: &Context| {
        let ws = ctx.workers().into_iter().filter(|w| *w != WorkerId::DRIVER);
        Options::new().scope(Scope::union(ws.map(Scope::Process)).expect("the cluster has workers"))
    };
    let run = |ctx: &Context, o: &Options| {
        let ts: Vec<DTask<u64>> = (0..n as u64)
            .map(|i| ctx.spawn_registered_with(o, MPI_BENCH_INC, (i,)))
            .collect();
        let v = fetch_all(&ts).expect("tasks succeed");
        assert_eq!(v[n - 1], n as u64);
    };
    let (om, ot) = (remote(&mpi), remote(&tcp));
    let mut out = Vec::new();
    // Warm both up, then interleave: each repetition times both, so neither gets a
    // quieter machine.
    run(&mpi, &om);
    run(&tcp, &ot);
    let time = |f: &dyn Fn()| {
        let t0 = std::time::Instant::now();
        f();
        t0.elapsed().as_secs_f64()
    };
    let (mut sm, mut st) = (Vec::new(), Vec::new());
    for _ in 0..reps.max(1) {
        sm.push(time(&|| run(&mpi, &om)));
        st.push(time(&|| run(&tcp, &ot)));
    }
    for (system, mut s) in [("dagger-mpi2", sm), ("dagger-tcp2", st)] {
        s.sort_by(f64::total_cmp);
        let m = (s[s.len() / 2], s[0], s[s.len() - 1]);
        let mut l = line(
            "tasks_independent",
            system,
            json!({"n": n, "workers": 2}),
            reps,
            m,
        );
        l["tasks_per_s"] = json!(n as f64 / m.0);
        l["us_per_task"] = json!(m.0 * 1e6 / n as f64);
        eprintln!("{l}");
        out.push(l);
    }
    out
}
