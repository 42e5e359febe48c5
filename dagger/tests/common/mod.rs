//! What the cluster test binaries share. Each binary that uses [`cluster_builder`] defines
//! its own `#[test] #[ignore] fn worker_entry() { dagger::init(); }`: its worker processes
//! re-execute the binary on that test.
// Every binary uses only some of these.
#![allow(dead_code)]

use dagger::{Context, ContextBuilder, WorkerProgram};
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// A builder for a context with `workers` worker processes running this test binary's
/// `worker_entry` (the process is initialised for dagger first).
pub fn cluster_builder(workers: usize) -> ContextBuilder {
    dagger::init();
    let program = WorkerProgram::test("worker_entry").expect("the test binary's own path is known"); // ok: test set-up
    Context::builder().workers(workers).worker_program(program)
}

/// Times a [`Counted`] was decoded in this process.
pub static DECODES: AtomicU64 = AtomicU64::new(0);

/// Numbers whose every decoding is counted (by the process that decodes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Counted(pub Vec<u64>);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        DECODES.fetch_add(1, Ordering::SeqCst);
        Ok(Counted(v))
    }
}
