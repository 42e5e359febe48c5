//! The process model (feature `tcp`): `init()` as the first line of `main`, which turns the
//! process into a worker when it was started as one.

use crate::transport::TcpTransport;
use std::sync::Arc;

/// The first line of every dagger program's `main`.
///
/// In a worker process (one started with `DAGGER_SCHEDULER=host:port` and `DAGGER_COOKIE`
/// in its environment — by [`Context::builder().workers(n)`](crate::ContextBuilder::workers),
/// `cargo xtask cluster`, ssh, Slurm or Kubernetes) it joins that scheduler, serves tasks and
/// exits the process when the driver says so or goes away. In the driver it installs TCP as
/// the cluster transport and returns at once; with the `dashboard` feature and
/// `DAGGER_DASHBOARD=addr` set it also starts the process-wide dashboard and makes it the
/// [default observer](crate::observe::set_default_observer), so every context built without an
/// observer of its own (`Context::local()`, `Context::builder().build()`) shows on it.
///
/// ```
/// dagger::init(); // in the driver: returns
/// let ctx = dagger::Context::builder().threads(1).build();
/// assert_eq!(ctx.spawn(|()| 1, ()).fetch().unwrap(), 1);
/// ```
pub fn init() {
    // A worker a TCP cluster started has DAGGER_SCHEDULER (even under mpirun, whose
    // variables it inherits); otherwise, under mpirun/srun (feature `mpi`), rank 0 drives
    // over MPI and the other ranks serve it.
    let tcp_worker = std::env::var("DAGGER_SCHEDULER").ok().map(|addr| {
        let cookie = std::env::var("DAGGER_COOKIE").unwrap_or_default();
        let t: Arc<dyn dagger_core::Transport> =
            Arc::new(dagger_transport::Tcp::new(cookie.as_str()));
        (t, addr)
    });
    #[cfg(feature = "mpi")]
    let tcp_worker = tcp_worker.or_else(crate::transport::mpi_role);
    dagger_sched::set_default_transport(Arc::new(TcpTransport));
    let scheduler = tcp_worker;
    let Some((transport, addr)) = scheduler else {
        // The driver: the process-wide dashboard, if DAGGER_DASHBOARD asks for one (workers
        // inherit the variable but never serve a dashboard).
        // It watches every context built without an observer of its own.
        #[cfg(feature = "dashboard")]
        match crate::dashboard::start::dashboard_from_env() {
            Ok(Some(dash)) => {
                dagger_sched::set_default_observer(dash.observer());
            }
            Ok(None) => {}
            Err(e) => eprintln!("dagger: no dashboard: {e}"),
        }
        return;
    };
    // A worker keeps its results in the spilling pool when a limit or a store is configured.
    #[cfg(feature = "disk")]
    if ["DAGGER_MEMORY_LIMIT", "DAGGER_STORE", "DAGGER_SPILL_DIR"]
        .iter()
        .any(|k| std::env::var_os(k).is_some())
    {
        dagger_sched::set_result_store_factory(Arc::new(|| {
            use crate::storage::pool_results::PoolResults;
            let config = PoolResults::config_from_env()?;
            let r: Arc<dyn dagger_core::ResultStore> = Arc::new(PoolResults::new(config)?);
            Ok(r)
        }));
    }
    #[cfg(feature = "profile")]
    dagger_sched::set_telemetry(Arc::new(crate::debug::ProfileTelemetry));
    let threads = std::env::var("DAGGER_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    match dagger_sched::serve(transport, &addr, threads) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("dagger worker (scheduler {addr}): {e}");
            std::process::exit(1)
        }
    }
}
