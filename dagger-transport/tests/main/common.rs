//! Helpers the test modules share.

/// A runtime for one test: current-thread, timers and I/O on.
pub(crate) fn current_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A runtime with two worker threads, so both ends of a connection make progress at once.
pub(crate) fn two_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
