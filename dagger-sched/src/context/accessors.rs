//! What a [`Context`] can tell and do besides spawning: its processors and workers, views
//! restricted to some workers, scopes, and the cluster's workers (add, wait, inspect,
//! profile).

use super::state::Context;
use crate::cluster::driver::Cluster;
use dagger_core::scope::{ScopeSpec, Universe};
use dagger_core::{Error, ProcessorInfo, Result, Scope, WorkerId};
use std::sync::Arc;
use std::time::Duration;

impl Context {
    /// The id of this process (the driver is worker 1).
    pub fn worker_id(&self) -> WorkerId {
        self.inner.worker
    }

    /// Number of thread processors in this process.
    pub fn num_threads(&self) -> usize {
        self.inner.pool.threads()
    }

    /// Every processor of the context (the driver's and every worker's).
    pub fn processors(&self) -> Vec<ProcessorInfo> {
        self.inner.processors.read().clone()
    }

    /// The workers of the context, the driver (worker 1) first.
    pub fn workers(&self) -> Vec<WorkerId> {
        self.inner
            .universe
            .read()
            .workers
            .iter()
            .map(|(w, _)| *w)
            .collect()
    }

    /// The worker processes of the context: its workers other than this process.
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(1).build();
    /// assert!(ctx.other_workers().is_empty()); // just this process
    /// ```
    pub fn other_workers(&self) -> Vec<WorkerId> {
        let me = self.worker_id();
        self.workers().into_iter().filter(|&w| w != me).collect()
    }

    /// A view of this context whose tasks may use only `workers` (the reference's
    /// `Context(pids)`); it shares everything else.
    ///
    /// ```
    /// use dagger_core::WorkerId;
    /// let ctx = dagger_sched::Context::builder().threads(1).build();
    /// let only_driver = ctx.with_workers(&[WorkerId(1)]).unwrap();
    /// assert_eq!(only_driver.spawn(|()| 2, ()).fetch().unwrap(), 2);
    /// assert!(ctx.with_workers(&[]).is_err());
    /// ```
    pub fn with_workers(&self, workers: &[WorkerId]) -> Result<Context> {
        let s = Scope::union(workers.iter().map(|w| Scope::Process(*w)))?;
        Ok(Context {
            inner: self.inner.clone(),
            restrict: Some(s),
        })
    }
    /// The workers connected now, the driver first (lost ones are left out).
    pub fn live_workers(&self) -> Vec<WorkerId> {
        let mut v = vec![self.inner.worker];
        if let Some(c) = self.inner.cluster.get() {
            v.extend(c.worker_ids());
        }
        v
    }

    /// The address other processes join (`None` without a cluster).
    pub fn cluster_addr(&self) -> Option<String> {
        self.inner.cluster.get().map(|c| c.addr().to_string())
    }

    /// The cluster cookie (`None` without a cluster).
    pub fn cookie(&self) -> Option<String> {
        self.inner.cluster.get().map(|c| c.cookie().to_string())
    }

    fn cluster(&self) -> Result<&Arc<Cluster>> {
        self.inner
            .cluster
            .get()
            .ok_or_else(|| Error::Argument("this context has no cluster".into()))
    }

    /// Starts `n` more worker processes and waits for them to join.
    pub fn add_workers(&self, n: usize) -> Result<()> {
        let c = self.cluster()?;
        let have = c.worker_ids().len();
        c.launch(n)?;
        c.wait_for_workers(have + n, Duration::from_secs(60))
    }

    /// Waits until `n` workers (besides the driver) have joined, e.g. ones started by hand.
    pub fn wait_for_workers(&self, n: usize, timeout: Duration) -> Result<()> {
        self.cluster()?.wait_for_workers(n, timeout)
    }

    /// How many chunks and bytes `worker` holds (to observe release).
    pub fn worker_chunks(&self, worker: WorkerId) -> Result<(u64, u64)> {
        let s = self.cluster()?.stats(worker)?;
        Ok((s.chunks, s.memory_bytes + s.spilled_bytes))
    }

    /// Tells every worker to start recording profile spans (see [`crate::Telemetry`]).
    pub fn start_worker_recording(&self) {
        if let Some(c) = self.inner.cluster.get() {
            c.start_recording();
        }
    }

    /// Stops recording on every worker and returns each one's encoded spans.
    pub fn take_worker_spans(&self) -> Vec<(WorkerId, bytes::Bytes)> {
        self.inner
            .cluster
            .get()
            .map(|c| c.take_spans())
            .unwrap_or_default()
    }

    /// The operating-system process id of `worker` (for tools and fault-injection tests).
    pub fn worker_pid(&self, worker: WorkerId) -> Option<u32> {
        self.inner.cluster.get().and_then(|c| c.pid(worker))
    }

    /// The driver's streaming hub, for streaming regions whose stages run on workers
    /// (plumbing for `dagger-stream`).
    #[doc(hidden)]
    pub fn stream_hub(&self) -> Result<Arc<crate::cluster::Hub>> {
        Ok(self.cluster()?.streams.clone())
    }

    /// What `worker` holds: results, bytes in memory (and the peak), bytes spilled.
    pub fn worker_stats(&self, worker: WorkerId) -> Result<dagger_core::ResultStats> {
        self.cluster()?.stats(worker)
    }

    /// What `worker` moved since it started: values and bytes fetched from and served to
    /// other workers, and sent to the driver (how tests see that only halo strips or
    /// pieces cross the network).
    pub fn worker_transfers(&self, worker: WorkerId) -> Result<crate::cluster::TransferStats> {
        self.cluster()?.stats_and_transfers(worker).map(|s| s.1)
    }

    /// Builds a scope from the `scope(...)` selectors against this context's workers.
    ///
    /// ```
    /// use dagger_core::{ScopeSpec, Scope, ProcessorId, WorkerId};
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let s = ctx.scope(&ScopeSpec::new().worker(1).thread(2)).unwrap();
    /// assert_eq!(s, Scope::Exact(ProcessorId::thread(WorkerId(1), 2)));
    /// assert!(ctx.scope(&ScopeSpec::new().workers([])).is_err());
    /// ```
    pub fn scope(&self, spec: &ScopeSpec) -> Result<Scope> {
        spec.build(&self.inner.universe.read())
    }

    /// The universe scopes are built against (workers and their thread counts).
    pub fn universe(&self) -> Universe {
        self.inner.universe.read().clone()
    }
}
