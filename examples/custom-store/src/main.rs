//! Runs dagger-storage's conformance suite on [`ShardedStore`] and says how it went:
//! `cargo run --manifest-path examples/custom-store/Cargo.toml` from the dagger-rs root.

use custom_store::ShardedStore;
use dagger_core::ChunkStore;
use std::process::ExitCode;
use std::time::Instant;

#[tokio::main]
async fn main() -> ExitCode {
    let store = ShardedStore::new(16);
    let t = Instant::now();
    match dagger_storage::conformance::run(&store).await {
        Ok(()) => {
            println!(
                "{}: every conformance check passed in {:.2} s",
                store.location(),
                t.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("{}: {failure}", store.location());
            ExitCode::FAILURE
        }
    }
}
