//! [`ContextBuilder`]: how a [`Context`] is configured and started (threads, observer,
//! worker processes and their settings).

use super::state::{Context, Inner};
use crate::checkpoint::io::Checkpoints;
use crate::cluster::config::{ClusterConfig, TransportFactory};
use crate::cluster::driver::Cluster;
use crate::cluster::launch::WorkerProgram;
use crate::executor::Pool;
use crate::observe::{Observer, Observers};
use dagger_core::scope::Universe;
use dagger_core::{ChunkStore, NodeId, ProcessorId, ProcessorInfo, Result, WorkerId};
use parking_lot::{Mutex, RwLock};
use std::fmt;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

/// Builds a [`Context`].
///
/// ```
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// assert_eq!(ctx.num_threads(), 2);
/// ```
#[derive(Clone, Default)]
pub struct ContextBuilder {
    threads: Option<usize>,
    observer: Option<Arc<dyn Observer>>,
    cluster: Option<ClusterConfig>,
    worker: Option<WorkerId>,
    checkpoint: Option<Arc<dyn ChunkStore>>,
    checkpoint_tag: Option<Arc<str>>,
    checkpoint_all: bool,
}

impl fmt::Debug for ContextBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextBuilder")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl ContextBuilder {
    /// Number of thread processors (default: the number of cores).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// Installs an [`Observer`] that hears every task event (without one, the context gets
    /// the one installed with [`crate::set_default_observer`], if any).
    ///
    /// The observer is then kept for the rest of the process (once, however many contexts
    /// share it): tasks may outlive their context, and holding it this way lets them report
    /// events without touching a reference count.
    pub fn observer(mut self, o: Arc<dyn Observer>) -> Self {
        self.observer = Some(o);
        self
    }

    fn cluster_mut(&mut self) -> &mut ClusterConfig {
        self.cluster.get_or_insert_with(ClusterConfig::default)
    }

    /// Starts `n` worker processes (re-executions of this program, or of
    /// [`ContextBuilder::worker_program`]) and waits for them to join, as Julia's `addprocs`.
    pub fn workers(mut self, n: usize) -> Self {
        self.cluster_mut().workers = n;
        self
    }

    /// Accepts workers on this address (default `127.0.0.1:0`); other processes join with
    /// `DAGGER_SCHEDULER=<addr>` and `DAGGER_COOKIE=<cookie>`.
    pub fn listen(mut self, addr: &str) -> Self {
        self.cluster_mut().listen = addr.to_string();
        self
    }

    /// The cluster cookie (default: random).
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cluster_mut().cookie = Some(cookie.to_string());
        self
    }

    /// The transport (default: the one installed with [`crate::set_default_transport`]).
    pub fn transport(mut self, t: Arc<dyn TransportFactory>) -> Self {
        self.cluster_mut().transport = Some(t);
        self
    }

    /// The program started as workers (default: the current executable).
    pub fn worker_program(mut self, p: WorkerProgram) -> Self {
        self.cluster_mut().program = Some(p);
        self
    }

    /// Thread processors per launched worker (default: its number of cores).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.cluster_mut().worker_threads = Some(n);
        self
    }

    /// Sets an environment variable for the worker processes this context launches (e.g.
    /// `DAGGER_MEMORY_LIMIT`, `DAGGER_SPILL_DIR`, `DAGGER_STORE` for their result storage).
    pub fn worker_env(mut self, key: &str, value: &str) -> Self {
        self.cluster_mut()
            .env
            .push((key.to_string(), value.to_string()));
        self
    }

    /// How many worker losses one task survives before it fails with `WorkerLost` (default 3,
    /// as Dask's allowed-failures).
    pub fn allowed_failures(mut self, n: u32) -> Self {
        self.cluster_mut().max_retries = n;
        self
    }

    /// A worker silent this long is taken as lost (default 10 s; workers say something at
    /// least every `timeout / 20`).
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        let c = self.cluster_mut();
        c.heartbeat_timeout = timeout;
        c.heartbeat = (timeout / 20).max(Duration::from_millis(10));
        self
    }

    /// Bytes of results each launched worker keeps in memory before spilling the least
    /// recently used to disk (`DAGGER_MEMORY_LIMIT`; needs the `dagger` facade's `disk`
    /// feature, which installs the spilling pool in workers).
    ///
    /// Also fixes glibc's mmap threshold in the workers at 1 MiB (`MALLOC_MMAP_THRESHOLD_`,
    /// unless this process's environment or [`ContextBuilder::worker_env`] sets it): glibc
    /// otherwise raises it (up to 32 MiB) after the first big block is freed, so later blocks
    /// come from the heap and stay resident after the pool frees or spills them — about
    /// 400 MB more per worker in the out-of-core example. With the threshold fixed, every big
    /// block is its own mapping, returned to the system when dropped, and the limit bounds
    /// what a worker holds.
    pub fn worker_memory_limit(self, bytes: u64) -> Self {
        const MMAP_THRESHOLD: &str = "MALLOC_MMAP_THRESHOLD_";
        let b = self.worker_env("DAGGER_MEMORY_LIMIT", &bytes.to_string());
        let given = std::env::var_os(MMAP_THRESHOLD).is_some()
            || b.cluster
                .as_ref()
                .is_some_and(|c| c.env.iter().any(|(k, _)| k == MMAP_THRESHOLD));
        if given {
            b
        } else {
            b.worker_env(MMAP_THRESHOLD, "1048576")
        }
    }

    /// Where launched workers spill: a directory (`DAGGER_SPILL_DIR`).
    pub fn worker_spill_dir(self, dir: &std::path::Path) -> Self {
        self.worker_env("DAGGER_SPILL_DIR", &dir.to_string_lossy())
    }

    /// Where launched workers spill: a store location such as `s3://bucket/prefix`
    /// (`DAGGER_STORE`).
    pub fn worker_store(self, location: &str) -> Self {
        self.worker_env("DAGGER_STORE", location)
    }

    /// Results up to this many bytes travel back to the driver with their completion notice.
    pub fn inline_limit(mut self, bytes: u32) -> Self {
        self.cluster_mut().inline_limit = bytes;
        self
    }

    /// Checkpoints results to `store` and restores them from it (see
    /// [`crate::checkpoint`]): tasks whose options ask for it, or every registered task with
    /// [`ContextBuilder::checkpoint_all`]. Any store works: a directory (the `dagger`
    /// facade's `checkpoint_dir`), an object store bucket.
    pub fn checkpoint(mut self, store: Arc<dyn ChunkStore>) -> Self {
        self.checkpoint = Some(store);
        self
    }

    /// The code tag in every checkpoint key (default `"0"`): change it when a function's
    /// code changes, and no checkpoint of the old code is used.
    pub fn checkpoint_tag(mut self, tag: &str) -> Self {
        self.checkpoint_tag = Some(tag.into());
        self
    }

    /// Whether tasks whose options say nothing ([`Options::checkpoint`] unset) are
    /// checkpointed (default `false`). Needs [`ContextBuilder::checkpoint`].
    ///
    /// [`Options::checkpoint`]: dagger_core::Options::checkpoint
    pub fn checkpoint_all(mut self, on: bool) -> Self {
        self.checkpoint_all = on;
        self
    }

    pub(crate) fn worker_id(mut self, w: WorkerId) -> Self {
        self.worker = Some(w);
        self
    }

    /// Starts the scheduler. With workers, panics if they cannot be started or do not join:
    /// use [`ContextBuilder::try_build`] to handle that.
    pub fn build(self) -> Context {
        match self.try_build() {
            Ok(c) => c,
            Err(e) => panic!("starting the dagger cluster failed: {e}"),
        }
    }

    /// Starts the scheduler, its cluster listener and its workers.
    pub fn try_build(self) -> Result<Context> {
        let cluster_cfg = self.cluster.clone();
        let ctx = self.build_local();
        if let Some(mut cfg) = cluster_cfg {
            // Under an MPI launcher the workers already run: listen where they look.
            let prelaunched = crate::cluster::config::take_prelaunched();
            if let Some((listen, _)) = &prelaunched {
                cfg.listen = listen.clone();
            }
            let n = cfg.workers;
            let timeout = cfg.join_timeout;
            let cluster = Cluster::start(cfg, ctx.inner.pool.clone(), ctx.num_threads() as u32)?;
            let weak = Arc::downgrade(&ctx.inner);
            cluster.on_join(Box::new(move |w, threads, node| {
                if let Some(inner) = weak.upgrade() {
                    inner.add_worker(w, threads, node);
                }
            }));
            let _ = ctx.inner.cluster.set(cluster.clone());
            if let Some((_, m)) = prelaunched {
                cluster.wait_for_workers(m, timeout)?;
            } else if n > 0 {
                cluster.launch(n)?;
                cluster.wait_for_workers(n, timeout)?;
            }
        }
        Ok(ctx)
    }

    fn build_local(self) -> Context {
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let worker = self.worker.unwrap_or(WorkerId::DRIVER);
        let (pool, handles) = Pool::start(threads, worker, "dagger");
        let node = NodeId(0);
        let mut processors = vec![ProcessorInfo {
            id: ProcessorId::os(worker),
            node,
        }];
        processors.extend((1..=threads as u32).map(|t| ProcessorInfo {
            id: ProcessorId::thread(worker, t),
            node,
        }));
        let universe = Universe {
            workers: vec![(worker, threads as u32)],
            keys: vec![],
        };
        let checkpoints = self.checkpoint.map(|store| {
            let tag = self.checkpoint_tag.unwrap_or_else(|| "0".into());
            Arc::new(Checkpoints::new(store, tag, self.checkpoint_all))
        });
        let _init = tracing::trace_span!(target: "dagger", "scheduler_init", threads).entered();
        Context {
            restrict: None,
            inner: Arc::new(Inner {
                pool,
                handles: Mutex::new(handles),
                // A worker's own context (its id given) takes no default observer: the driver
                // reports the tasks it runs.
                observers: Observers::new(self.observer, self.worker.is_none()),
                worker,
                processors: RwLock::new(processors),
                universe: RwLock::new(universe),
                cluster: OnceLock::new(),
                local_threads: threads,
                node,
                checkpoints,
            }),
        }
    }
}

impl Context {
    /// The embedded default: one process, one thread processor per core (watched by the
    /// [default observer](crate::set_default_observer) if one is installed).
    pub fn local() -> Context {
        Context::builder().build()
    }

    /// A builder for other configurations.
    pub fn builder() -> ContextBuilder {
        ContextBuilder::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker_env_of(b: &ContextBuilder) -> Vec<(String, String)> {
        b.cluster
            .as_ref()
            .map(|c| c.env.clone())
            .unwrap_or_default()
    }

    #[test]
    fn a_worker_memory_limit_fixes_the_mmap_threshold_unless_given() {
        let limited = Context::builder().worker_memory_limit(1 << 30);
        let env = worker_env_of(&limited);
        assert!(env.contains(&("DAGGER_MEMORY_LIMIT".into(), "1073741824".into())));
        let threshold: Vec<&(String, String)> = env
            .iter()
            .filter(|(k, _)| k == "MALLOC_MMAP_THRESHOLD_")
            .collect();
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            assert_eq!(
                threshold,
                [&("MALLOC_MMAP_THRESHOLD_".into(), "1048576".into())]
            );
        } else {
            assert!(threshold.is_empty(), "inherited from this process instead");
        }
        // Given by the caller first: kept, not added again.
        let given = Context::builder()
            .worker_env("MALLOC_MMAP_THRESHOLD_", "65536")
            .worker_memory_limit(1 << 30);
        let values: Vec<String> = worker_env_of(&given)
            .into_iter()
            .filter(|(k, _)| k == "MALLOC_MMAP_THRESHOLD_")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values, ["65536"]);
    }
}
