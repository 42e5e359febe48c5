//! Worker processes: what [`init`](crate::init) does in each process and the pieces it is
//! made of, for programs that start workers their own way. A worker [`serve`]s a driver's
//! tasks; the process-wide factories say which transport it connects with, where it keeps
//! its results and how it records spans for [`debug_compute`](crate::debug_compute).
//!
//! ```
//! use dagger::cluster::WorkerProgram;
//! // In an integration test, workers re-run the test binary on one ignored test that calls
//! // `dagger::init()`; a program's workers re-run the program itself.
//! let program = WorkerProgram::test("worker_entry").unwrap();
//! assert!(format!("{program:?}").contains("worker_entry"));
//! let _builder = dagger::Context::builder().workers(2).worker_program(program);
//! assert_eq!(dagger::cluster::myid().0, 1, "the driver is worker 1");
//! ```

#[cfg(feature = "profile")]
pub use crate::debug::ProfileTelemetry;
#[cfg(feature = "disk")]
pub use crate::storage::pool_results::PoolResults;
#[cfg(feature = "tcp")]
pub use crate::transport::TcpTransport;
pub use dagger_sched::{
    myid, serve, set_default_transport, set_result_store_factory, set_telemetry, MemoryResults,
    ResultStoreFactory, Telemetry, TransferStats, TransportFactory, WorkerProgram,
};
