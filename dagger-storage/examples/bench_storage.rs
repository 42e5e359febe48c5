//! Prints the `storage` benchmark lines (one JSON object per line), as `cargo xtask bench
//! storage` does: `cargo run --release -p dagger-storage --example bench_storage [-- --quick]`.

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    for line in dagger_storage::bench::bench_storage(quick) {
        println!("{line}");
    }
}
