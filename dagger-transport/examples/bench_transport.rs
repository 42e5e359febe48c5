//! Prints the transport benchmarks as JSON lines (the `cargo xtask bench` format).
//!
//! `cargo run --release -p dagger-transport --example bench_transport [-- --quick]`

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    for row in dagger_transport::bench::bench_transport(quick) {
        println!("{row}");
    }
}
