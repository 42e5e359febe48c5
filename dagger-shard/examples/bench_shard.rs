//! Prints the shard-vs-mutex benchmark as JSON lines (pass `--quick` for a smoke run).
//!
//! `cargo run --release -p dagger-shard --example bench_shard`

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    eprintln!("bench_shard: quick={quick}");
    for line in dagger_shard::bench::bench_shard(quick) {
        println!("{line}");
    }
}
