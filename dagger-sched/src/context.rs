//! [`Context`]: the handle to a running scheduler, and the eager API (`spawn`).

use crate::args::{Args, IntoArgs, ValuesOf};
use crate::cluster::{
    Cluster, ClusterConfig, Registered, RemoteArgs, RemoteTask, TransportFactory, WorkerProgram,
};
use crate::executor::{self, Pool};
use crate::handle::{Chunk, DTask};
use crate::observe::{Observer, Observers, TaskEventKind};
use crate::sync;
use crate::task::{Header, Job, Outcome, Pin, Task};
use dagger_core::scope::{ScopeSpec, Universe};
use dagger_core::{
    Error, NodeId, Options, ProcessorId, ProcessorInfo, Result, Scope, TaskId, WorkerId,
};
use parking_lot::{Mutex, RwLock};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

static NEXT_TASK: AtomicU64 = AtomicU64::new(1);

/// A running scheduler: its processors and the API to give them work.
///
/// `Context::local()` is the embedded default: this process only, one thread processor per
/// core, no network and no set-up. Clones share the same scheduler; it stops when the last
/// clone is dropped.
///
/// ```
/// use dagger_sched::Context;
/// let ctx = Context::local();
/// let p = ctx.spawn(|(x,)| x + 1, (4,));          // add1(4)
/// let q = ctx.spawn(|(p,)| p + 2, (&p,));         // add2(p)
/// let r = ctx.spawn(|(x,)| x + 1, (3,));          // add1(3)
/// let s = ctx.spawn(|(p, q, r)| p + q + r, (&p, &q, &r));
/// assert_eq!(s.fetch().unwrap(), 16);
/// assert_eq!(p.fetch().unwrap(), 5);
/// ```
#[derive(Clone)]
pub struct Context {
    pub(crate) inner: Arc<Inner>,
    /// Workers this view of the context may use (the seed's `Context(pids)`); `None`: all.
    restrict: Option<Scope>,
}

pub(crate) struct Inner {
    pub(crate) pool: Arc<Pool>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    observers: Observers,
    worker: WorkerId,
    processors: RwLock<Vec<ProcessorInfo>>,
    universe: RwLock<Universe>,
    pub(crate) cluster: OnceLock<Arc<Cluster>>,
    local_threads: usize,
    node: NodeId,
}

impl Inner {
    fn add_worker(&self, w: WorkerId, threads: u32, node: NodeId) {
        let mut p = self.processors.write();
        p.push(ProcessorInfo {
            id: ProcessorId::os(w),
            node,
        });
        p.extend((1..=threads).map(|t| ProcessorInfo {
            id: ProcessorId::thread(w, t),
            node,
        }));
        self.universe.write().workers.push((w, threads));
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(c) = self.cluster.get() {
            c.shutdown();
        }
        self.pool.shutdown();
        let me = executor::current_thread_of(&self.pool);
        for (i, h) in self.handles.lock().drain(..).enumerate() {
            // The last handle may be dropped by a task on one of our own threads.
            if me != Some(i) {
                let _ = h.join();
            }
        }
    }
}

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
        if let Some(cfg) = cluster_cfg {
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
            if n > 0 {
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

    fn restricted<'a>(&self, opts: &'a Options) -> std::borrow::Cow<'a, Options> {
        match &self.restrict {
            None => std::borrow::Cow::Borrowed(opts),
            Some(r) => {
                let s = opts.scope.clone().unwrap_or(Scope::Default).constrain(r);
                std::borrow::Cow::Owned(opts.clone().scope(s))
            }
        }
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

    /// What `worker` holds: results, bytes in memory (and the peak), bytes spilled.
    pub fn worker_stats(&self, worker: WorkerId) -> Result<dagger_core::ResultStats> {
        self.cluster()?.stats(worker)
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

    /// Spawns `f` on `args`; `f` receives the argument values as a tuple. A panic in `f`
    /// fails the task.
    pub fn spawn<A, F, R>(&self, f: F, args: A) -> DTask<R>
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> R + Send + 'static,
        R: Send + Sync + 'static,
    {
        self.spawn_inner(&Options::default(), args.into_args(), move |v| Ok(f(v)))
    }

    /// Like [`Context::spawn`] with options (scope, name, …).
    pub fn spawn_with<A, F, R>(&self, opts: &Options, f: F, args: A) -> DTask<R>
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> R + Send + 'static,
        R: Send + Sync + 'static,
    {
        self.spawn_inner(opts, args.into_args(), move |v| Ok(f(v)))
    }

    /// Spawns a fallible `f`: an `Err` fails the task with that error as root cause.
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(1).build();
    /// let a = ctx.try_spawn(|()| Err::<i32, _>("Test"), ());
    /// let b = ctx.spawn(|(a,)| a + 1, (&a,));
    /// a.wait(); // never raises
    /// let msg = b.fetch().unwrap_err().to_string();
    /// assert!(msg.contains("Test") && msg.contains("Root Task"));
    /// ```
    pub fn try_spawn<A, F, R, E>(&self, f: F, args: A) -> DTask<R>
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> std::result::Result<R, E> + Send + 'static,
        R: Send + Sync + 'static,
        E: fmt::Display,
    {
        self.try_spawn_with(&Options::default(), f, args)
    }

    /// Like [`Context::try_spawn`] with options.
    pub fn try_spawn_with<A, F, R, E>(&self, opts: &Options, f: F, args: A) -> DTask<R>
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> std::result::Result<R, E> + Send + 'static,
        R: Send + Sync + 'static,
        E: fmt::Display,
    {
        self.spawn_inner(opts, args.into_args(), move |v| {
            f(v).map_err(|e| Error::User(e.to_string()))
        })
    }

    /// Puts a value into the system as a finished chunk (the reference's `tochunk`).
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(1).build();
    /// let c = ctx.tochunk(41);
    /// assert_eq!(ctx.spawn(|(x,)| x + 1, (&c,)).fetch().unwrap(), 42);
    /// ```
    pub fn tochunk<T: Send + Sync + 'static>(&self, value: T) -> Chunk<T> {
        let id = TaskId(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
        let task = Arc::new(Task::<T, fn() -> Outcome<T>>::ready(
            Header::new(id, None, Pin::Any, true, Observers(None)),
            Ok(value),
        ));
        Chunk {
            task: self.handle(task),
            scope: Scope::Any,
        }
    }

    fn handle<T: Send + Sync + 'static>(&self, cell: Arc<dyn crate::task::Cell<T>>) -> DTask<T> {
        let tracker = cell.clone().tracker();
        if let Some(t) = &tracker {
            t.retain();
        }
        DTask {
            id: cell.header().id,
            cell,
            tracker,
            pool: self.inner.pool.clone(),
            worker: self.inner.worker,
        }
    }

    /// Where a closure task with these options and argument scopes may run: a thread of
    /// this process (a closure cannot leave it).
    fn place(&self, opts: &Options, data_scopes: &[Scope]) -> Result<Pin> {
        if opts.scope.is_none() && opts.result_scope.is_none() && data_scopes.is_empty() {
            return Ok(Pin::Any);
        }
        let scope = effective_scope(opts, data_scopes)?;
        let here = Scope::Process(self.inner.worker);
        if scope.constrain(&here).is_invalid() {
            return Err(Error::Scheduling(format!(
                "Scope {scope} is not compatible with {here}: a closure task runs only in the \
                 process that made it"
            )));
        }
        let me = self.inner.worker;
        let threads: Vec<usize> = (1..=self.inner.local_threads as u32)
            .map(|t| ProcessorInfo {
                id: ProcessorId::thread(me, t),
                node: self.inner.node,
            })
            .filter(|p| scope.matches(p))
            .map(|p| p.id.index as usize - 1)
            .collect();
        if threads.is_empty() {
            return Err(Error::Scheduling(format!(
                "No processors available, try widening scope (scope {scope})"
            )));
        }
        Ok(if threads.len() == self.num_threads() {
            Pin::Any
        } else {
            Pin::Threads(threads)
        })
    }

    pub(crate) fn spawn_inner<A, R>(
        &self,
        opts: &Options,
        args: A,
        call: impl FnOnce(A::Values) -> Outcome<R> + Send + 'static,
    ) -> DTask<R>
    where
        A: Args,
        R: Send + Sync + 'static,
    {
        let id = TaskId(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
        let mut deps: smallvec::SmallVec<[Arc<dyn Job>; 4]> = smallvec::SmallVec::new();
        let mut dep_ids: smallvec::SmallVec<[TaskId; 4]> = smallvec::SmallVec::new();
        let mut scopes: Vec<Scope> = Vec::new();
        args.visit(&mut |d, s| {
            if let Some(d) = d {
                deps.push(d.job);
                dep_ids.push(d.id);
            }
            if let Some(s) = s {
                scopes.push(s.clone());
            }
        });
        let opts = self.restricted(opts);
        let placed = self.place(&opts, &scopes);
        let header = Header::new(
            id,
            opts.name.clone(),
            placed.as_ref().map_or(Pin::Any, Clone::clone),
            opts.get_result,
            self.inner.observers,
        );
        self.inner
            .observers
            .emit(id, &opts.name, || TaskEventKind::Spawned { deps: &dep_ids });
        let task: Arc<Task<R, _>> = Arc::new(Task::new(header, move || {
            let values = args.resolve()?;
            call(values)
        }));
        let handle = self.handle(task.clone());
        self.submit(task, deps, placed.err());
        handle
    }

    /// Registers a new task with its dependencies and queues it once they are done (or fails
    /// it at once with `error`).
    fn submit(
        &self,
        job: Arc<dyn Job>,
        deps: smallvec::SmallVec<[Arc<dyn Job>; 4]>,
        error: Option<Error>,
    ) {
        sync::record(&job);
        if let Some(e) = error {
            let ready = job.fail(e);
            executor::schedule_all(&self.inner.pool, ready);
            return;
        }
        let h = job.header();
        for d in deps {
            h.add_pending();
            if !d.header().add_dependent(&job) {
                h.dep_done();
            }
        }
        if h.dep_done() {
            self.inner.pool.schedule(job);
        }
    }

    /// Spawns a registered function (see [`register!`](crate::register)) on `args`. With a
    /// cluster it runs on whichever worker its scope allows and the cost model prefers (where
    /// its inputs are, else the least loaded); without one it runs here.
    pub fn spawn_fn<A, V, R>(&self, f: Registered<V, R>, args: A) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.spawn_fn_with(&Options::default(), f, args)
    }

    /// [`Context::spawn_fn`] with options.
    pub fn spawn_fn_with<A, V, R>(&self, opts: &Options, f: Registered<V, R>, args: A) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let args = args.into_args();
        let Some(cluster) = self.inner.cluster.get().cloned() else {
            let local = f.local;
            return self.spawn_inner(opts, args, move |v| Ok(local(v)));
        };
        let opts = &*self.restricted(opts);
        let id = TaskId(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
        let mut deps: smallvec::SmallVec<[Arc<dyn Job>; 4]> = smallvec::SmallVec::new();
        let mut dep_ids: smallvec::SmallVec<[TaskId; 4]> = smallvec::SmallVec::new();
        let mut scopes: Vec<Scope> = Vec::new();
        args.visit(&mut |d, s| {
            if let Some(d) = d {
                deps.push(d.job);
                dep_ids.push(d.id);
            }
            if let Some(s) = s {
                scopes.push(s.clone());
            }
        });
        let scope = effective_scope(opts, &scopes);
        let header = Header::new(
            id,
            opts.name.clone(),
            Pin::Dispatch,
            opts.get_result,
            self.inner.observers,
        );
        self.inner
            .observers
            .emit(id, &opts.name, || TaskEventKind::Spawned { deps: &dep_ids });
        let task = RemoteTask::new(
            header,
            cluster,
            f.name,
            f.local,
            scope.clone().unwrap_or(Scope::Any),
            args,
        );
        let handle = self.handle(task.clone());
        self.submit(task, deps, scope.err());
        handle
    }

    /// Runs `body`, then waits for every task spawned on this thread inside it (the
    /// reference's `@sync`). Fails with the first failure among them.
    ///
    /// ```
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let mut t = None;
    /// ctx.sync(|| t = Some(ctx.spawn(|()| dagger_sched::sleep(std::time::Duration::from_millis(20)), ()))).unwrap();
    /// assert!(t.unwrap().is_ready());
    /// ```
    pub fn sync<R>(&self, body: impl FnOnce() -> R) -> Result<R> {
        sync::run(body)
    }
}

/// The scope a task may run in: its own (default [`Scope::Default`]) intersected with its
/// result scope and the scopes of its data arguments.
fn effective_scope(opts: &Options, data_scopes: &[Scope]) -> Result<Scope> {
    let compute = opts.scope.clone().unwrap_or(Scope::Default);
    let mut scope = match &opts.result_scope {
        Some(r) => {
            let s = compute.constrain(r);
            if s.is_invalid() {
                return Err(Error::Scheduling(format!(
                    "compute_scope and result_scope are not compatible: {compute}, {r}"
                )));
            }
            s
        }
        None => compute,
    };
    for d in data_scopes {
        let s = scope.constrain(d);
        if s.is_invalid() {
            return Err(Error::Scheduling(format!(
                "Current scope and argument Chunk scope are not compatible: {scope}, {d}"
            )));
        }
        scope = s;
    }
    Ok(scope)
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("worker", &self.inner.worker)
            .field("threads", &self.num_threads())
            .finish()
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
