//! Project tasks for dagger-rs: `cargo xtask bench <suite>`, `cargo xtask demo`.

mod bench;
mod cluster;
mod demo;
mod soak;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "dagger-rs project tasks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs a benchmark suite and prints one JSON object per line on stdout.
    Bench {
        /// The suite: `tasks`, `datadeps`, `streaming`, `storage`, `shard`, `transport`, `dashboard`, `arrays`, `scale` (`ooc`: its
        /// out-of-core workload alone, in this process).
        suite: String,
        /// Smaller sizes, for a smoke run.
        #[arg(long)]
        quick: bool,
        /// Repetitions per measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// `tasks` only: also measure with the profiler installed (off, then recording).
        #[arg(long)]
        profile: bool,
        /// `tasks` and `scale`: `mpi` compares MPI ranks with TCP workers (built with
        /// `--features mpi`, run under `mpirun`: `-n 3` for `tasks`, W + 1 ranks per worker
        /// count for `scale`).
        #[arg(long, default_value = "tcp")]
        transport: String,
    },
    /// Random DAGs on 3 worker processes with periodic worker kills and restarts.
    Soak {
        /// How long to run.
        #[arg(long, default_value_t = 1.0)]
        minutes: f64,
        /// Seconds between worker kills.
        #[arg(long, default_value_t = 3.0)]
        kill_every: f64,
    },
    /// Runs what CI runs (`.ci/run`): fmt, clippy, docs, every test, the feature matrix, S3.
    Ci,
    /// A short tour of dagger-rs: DAGs, errors, progress, shards, a 2-worker cluster, profile
    /// pictures (written to target/demo/).
    Demo,
    /// Starts a local scheduler and N worker processes, prints how to join, and serves until
    /// interrupted (or for `--seconds`).
    Cluster {
        /// Worker processes to start.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Address to accept workers on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Cluster cookie (default: random).
        #[arg(long)]
        cookie: Option<String>,
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long)]
        seconds: Option<u64>,
    },
}

fn main() {
    // Worker processes of `bench` clusters are re-executions of this binary.
    dagger::init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Soak {
            minutes,
            kill_every,
        } => {
            if soak::run(minutes, kill_every) > 0 {
                std::process::exit(1);
            }
        }
        Cmd::Ci => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let ok = std::process::Command::new("bash")
                .arg(root.join(".ci/run"))
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            std::process::exit(if ok { 0 } else { 1 });
        }
        Cmd::Demo => {
            if let Err(e) = demo::run() {
                eprintln!("demo failed: {e}");
                std::process::exit(1);
            }
        }
        Cmd::Cluster {
            workers,
            listen,
            cookie,
            seconds,
        } => cluster::run(workers, &listen, cookie, seconds),
        Cmd::Bench {
            suite,
            quick,
            reps,
            profile,
            transport,
        } => {
            let lines = match suite.as_str() {
                "tasks" if transport == "mpi" => bench::tasks_mpi::run(quick, reps),
                "tasks" => {
                    let mut l = bench::tasks::run(quick, reps);
                    if profile {
                        l.extend(bench::tasks::run_profiled(quick, reps));
                    }
                    l
                }
                "datadeps" => bench::datadeps::run(quick, reps),
                "linalg" => bench::linalg::run(quick, reps),
                "streaming" => bench::streaming::run(quick, reps),
                "storage" => dagger::storage::bench::bench_storage(quick),
                "shard" => dagger::shard::bench::bench_shard(quick),
                "transport" => dagger::transports::bench::bench_transport(quick),
                "dashboard" => bench::dashboard::run(quick),
                "arrays" => {
                    let mut l = bench::arrays::run(quick, reps);
                    if bench::arrays::selected("out_of_core_a_plus_at") {
                        l.extend(bench::ooc::run_in_child(quick));
                    }
                    l
                }
                "ooc" => bench::ooc::run(quick),
                "scale" if transport == "mpi" => bench::scale_mpi::run(quick, reps),
                "scale" => bench::scale::run(quick, reps),
                other => {
                    eprintln!("unknown suite {other:?}; known: tasks, datadeps, linalg, streaming, storage, shard, transport, dashboard, arrays, ooc, scale");
                    std::process::exit(2);
                }
            };
            for l in lines {
                println!("{l}");
            }
        }
    }
}
