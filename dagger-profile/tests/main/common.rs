//! A synthetic workload that follows the span convention, shared by the integration tests.

use dagger_profile::{Collector, Timespan};
use std::time::Duration;
use tracing::dispatcher::{self, Dispatch};
use tracing_subscriber::layer::SubscriberExt;

/// Worker threads of the workload, each its own timeline.
pub(crate) const THREADS: u64 = 3;
/// Tasks per thread.
pub(crate) const TASKS: u64 = 4;
/// Bytes each comm span moves.
pub(crate) const COMM_BYTES: u64 = 1000;
/// Bytes each storage span stores.
pub(crate) const STORE_BYTES: u64 = 100;

pub(crate) fn timeline(thread: u64) -> String {
    format!("ThreadProc(w1, {})", thread + 1)
}

pub(crate) fn task_id(thread: u64, k: u64) -> u64 {
    100 * (thread + 1) + k
}

fn busy() {
    std::thread::sleep(Duration::from_micros(300));
}

/// Run the workload with the subscriber made of a registry and `collector`'s layer, on the
/// calling thread and `THREADS` spawned threads, recording between start and stop.
pub(crate) fn run_recorded(collector: &Collector) -> Vec<Timespan> {
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(collector.layer()));
    collector.start();
    dispatcher::with_default(&dispatch, || workload(&dispatch));
    collector.stop();
    collector.take()
}

/// The workload on the current dispatcher; spawned threads use `dispatch`.
pub(crate) fn workload(dispatch: &Dispatch) {
    {
        let _init =
            tracing::info_span!(target: "dagger", "scheduler_init", timeline = "OSProc(w1)")
                .entered();
        busy();
    }
    let scheduler = tracing::info_span!(target: "dagger", "scheduler", timeline = "OSProc(w1)");
    let _s = scheduler.enter();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let dispatch = dispatch.clone();
            scope.spawn(move || dispatcher::with_default(&dispatch, || worker(thread)));
        }
    });
}

fn worker(thread: u64) {
    let tl = timeline(thread);
    for k in 0..TASKS {
        let task = task_id(thread, k);
        // Fields filled in later, as a scheduler would once it knows the size.
        let compute = tracing::info_span!(target: "dagger", "compute", task, name = "square",
                                          timeline = tl.as_str(), alloc = tracing::field::Empty);
        let _c = compute.enter();
        {
            let _comm = tracing::info_span!(target: "dagger", "comm", task, from = 2u64, to = 1u64,
                                            bytes = COMM_BYTES, timeline = tl.as_str())
            .entered();
            busy();
        }
        busy();
        {
            let _st = tracing::info_span!(target: "dagger", "storage", task, bytes = STORE_BYTES,
                                          worker = 1u64)
            .entered();
            busy();
        }
        compute.record("alloc", 64u64);
    }
}
