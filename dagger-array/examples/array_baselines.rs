//! Prints the single-threaded ndarray/sprs baselines and the same workloads on a local
//! `DArray` as JSON lines:
//! `cargo run --release -p dagger-array --example array_baselines [-- --quick]`.
fn main() -> Result<(), dagger_core::Error> {
    let quick = std::env::args().any(|a| a == "--quick");
    for line in dagger_array::bench::baselines(quick)? {
        println!("{line}");
    }
    let ctx = dagger_sched::Context::local();
    for line in dagger_array::bench::darray_workloads(&ctx, "dagger-local", quick)? {
        println!("{line}");
    }
    Ok(())
}
