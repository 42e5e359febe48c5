//! Project tasks for dagger-rs: `cargo xtask bench <suite>`, `cargo xtask demo`.

mod bench;

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
        /// The suite: `tasks`.
        suite: String,
        /// Smaller sizes, for a smoke run.
        #[arg(long)]
        quick: bool,
        /// Repetitions per measurement (the median is reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
    },
}

fn main() {
    // Worker processes of `bench` clusters are re-executions of this binary.
    dagger::init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Bench { suite, quick, reps } => {
            let lines = match suite.as_str() {
                "tasks" => bench::tasks::run(quick, reps),
                other => {
                    eprintln!("unknown suite {other:?}; known: tasks");
                    std::process::exit(2);
                }
            };
            for l in lines {
                println!("{l}");
            }
        }
    }
}
