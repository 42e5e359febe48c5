//! What the dashboard costs: `cargo run --release -p dagger-dashboard --example
//! dashboard_bench [-- --quick]` prints JSON lines (DESIGN.md's benchmark format): 100 000
//! tiny tasks without the dashboard and with it on and a live client connected, same run.

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    for line in dagger_dashboard::bench::bench_dashboard(quick) {
        println!("{line}");
    }
}
