//! The eager API of a [`Context`]: spawning closures and registered functions, putting in
//! finished values, and structured waiting.
//!
//! `spawn` is the hot path (about 0.3 µs a tiny task): one task allocation, no lock taken
//! unless a dependency is still running. Everything else here serves it or shares its steps.

use super::state::Context;
use crate::access::{self, Gather, Locks};
use crate::args::{Args, IntoArgs, ValuesOf};
use crate::cluster::lineage::RemoteArgs;
use crate::cluster::registry::Registered;
use crate::cluster::remote::RemoteTask;
use crate::executor;
use crate::handle::{Chunk, DTask};
use crate::observe::{Observers, TaskEventKind};
use crate::queue::{self, Admission};
use crate::task::{Cell, Header, Job, Outcome, Pin, Task, Wrote};
use dagger_core::{Error, Options, ProcessorId, ProcessorInfo, Result, Scope, TaskId};
use serde::{de::DeserializeOwned, Serialize};
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The id of the next task spawned in this process (ids are unique per process).
static NEXT_TASK: AtomicU64 = AtomicU64::new(1);

/// A fresh task id.
pub(super) fn next_task_id() -> TaskId {
    TaskId(NEXT_TASK.fetch_add(1, Ordering::Relaxed))
}

/// What a new task's arguments say: the tasks it waits for and the scopes of its data.
struct Inputs {
    deps: SmallVec<[Arc<dyn Job>; 4]>,
    /// The ids of `deps`, for the `Spawned` event (read from the handles, not the tasks).
    dep_ids: SmallVec<[TaskId; 4]>,
    scopes: Vec<Scope>,
}

impl Inputs {
    // Inlined: this is the spawn path, it must cost what the loop written in place did.
    #[inline(always)]
    fn of(args: &impl Args) -> Self {
        let mut deps: SmallVec<[Arc<dyn Job>; 4]> = SmallVec::new();
        let mut dep_ids: SmallVec<[TaskId; 4]> = SmallVec::new();
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
        Inputs {
            deps,
            dep_ids,
            scopes,
        }
    }
}

/// What [`Context::prepare_queued`] decided for a queued task, for its generic rest.
struct Queued {
    header: Header,
    /// The task fails at once with it (no place to run, an invalid access).
    error: Option<Error>,
    deps: SmallVec<[Arc<dyn Job>; 4]>,
    wrote: Wrote,
    planned: bool,
    locks: Locks,
}

impl Context {
    /// `opts` within this view's workers (borrowed as is when the view is unrestricted).
    fn restricted<'a>(&self, opts: &'a Options) -> std::borrow::Cow<'a, Options> {
        match &self.restrict {
            None => std::borrow::Cow::Borrowed(opts),
            Some(r) => {
                let s = opts.scope.clone().unwrap_or(Scope::Default).constrain(r);
                std::borrow::Cow::Owned(opts.clone().scope(s))
            }
        }
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

    /// Like [`Context::spawn`] with options (scope, name, …), given first, borrowed or owned.
    ///
    /// ```
    /// use dagger_sched::{Context, Options};
    /// let ctx = Context::builder().threads(1).build();
    /// let opts = Options::new().name("answer");
    /// let a = ctx.spawn_with(&opts, |()| 41, ());
    /// let b = ctx.spawn_with(opts, |(a,)| a + 1, (&a,));
    /// assert_eq!(b.fetch().unwrap(), 42);
    /// ```
    pub fn spawn_with<A, F, R>(&self, opts: impl Borrow<Options>, f: F, args: A) -> DTask<R>
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> R + Send + 'static,
        R: Send + Sync + 'static,
    {
        self.spawn_inner(opts.borrow(), args.into_args(), move |v| Ok(f(v)))
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
        self.try_spawn_with(Options::default(), f, args)
    }

    /// Like [`Context::try_spawn`] with options, given first, borrowed or owned.
    pub fn try_spawn_with<A, F, R, E>(&self, opts: impl Borrow<Options>, f: F, args: A) -> DTask<R>
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> std::result::Result<R, E> + Send + 'static,
        R: Send + Sync + 'static,
        E: fmt::Display,
    {
        self.spawn_inner(opts.borrow(), args.into_args(), move |v| {
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

    /// A handle to a closure task (a task of this process: no tracker counts its handles).
    #[inline(always)]
    fn local_handle<T: Send + Sync + 'static>(&self, cell: Arc<dyn Cell<T>>) -> DTask<T> {
        DTask {
            id: cell.header().id,
            cell,
            tracker: None,
            pool: self.inner.pool.clone(),
            worker: self.inner.worker,
            key: None,
        }
    }

    /// A handle to `cell`, counted by its tracker if it has one.
    pub(super) fn handle<T: Send + Sync + 'static>(&self, cell: Arc<dyn Cell<T>>) -> DTask<T> {
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
            key: None,
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
            Pin::Threads(threads.into_boxed_slice())
        })
    }

    /// The spawn of a closure task. Generic (one copy per argument tuple and result type,
    /// ~200 in dagger-array alone), so it holds only what depends on the types: reading the
    /// arguments and making the task. The rest is in the non-generic [`Context::prepare`] and
    /// [`Context::prepare_queued`], compiled once.
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
        let inputs = Inputs::of(&args);
        let mut declared = Gather::default();
        args.accesses(&mut |d| declared.add(d));
        if !declared.is_empty() || queue::active() {
            return self.spawn_queued(id, opts, args, call, inputs, &mut declared);
        }
        let Inputs {
            deps,
            dep_ids,
            scopes,
        } = inputs;
        let (header, error) = self.prepare(id, opts, &scopes, &dep_ids);
        let task = plain_task(header, args, call);
        let handle = self.local_handle(task.clone());
        self.register(task, deps, error);
        handle
    }

    /// The part of a plain spawn that does not depend on the task's types: where it may run
    /// (an error fails it at once), its header, and the `Spawned` event.
    #[inline(never)]
    fn prepare(
        &self,
        id: TaskId,
        opts: &Options,
        scopes: &[Scope],
        dep_ids: &[TaskId],
    ) -> (Header, Option<Error>) {
        let opts = self.restricted(opts);
        let placed = self.place(&opts, scopes);
        self.spawned_header(id, &opts, placed, dep_ids)
    }

    /// The spawn of a task that declares accesses or meets an open task queue: the queue
    /// may hold it and add dependencies (a region's plan, a sequence's previous batch), and
    /// the body first fails if a task that wrote its data failed, then takes its objects'
    /// permits.
    #[inline(never)]
    fn spawn_queued<A, R>(
        &self,
        id: TaskId,
        opts: &Options,
        args: A,
        call: impl FnOnce(A::Values) -> Outcome<R> + Send + 'static,
        inputs: Inputs,
        declared: &mut Gather,
    ) -> DTask<R>
    where
        A: Args,
        R: Send + Sync + 'static,
    {
        let Queued {
            header,
            error,
            deps,
            wrote,
            planned,
            locks,
        } = self.prepare_queued(id, opts, inputs, declared);
        let (handle, job) = if wrote.is_empty() && locks.is_empty() {
            // Nothing to check or take first (a bulk queue's tasks, a region's tasks on
            // objects no earlier task wrote): the body of a plain spawn, a smaller task.
            let task = plain_task(header, args, call);
            (self.local_handle(task.clone()), task as Arc<dyn Job>)
        } else {
            let task: Arc<Task<R, _>> = Task::new_arc(
                move || header,
                move || {
                    if let Some(e) = wrote.iter().find_map(|w| w.error()) {
                        return Err(e);
                    }
                    drop(wrote);
                    let _permits = access::acquire(&locks);
                    let values = args.resolve()?;
                    call(values)
                },
            );
            (self.local_handle(task.clone()), task as Arc<dyn Job>)
        };
        let ok = self.link(&job, deps, error);
        self.hand_to_queues(job, planned, ok);
        handle
    }

    /// The part of [`Context::spawn_queued`] that does not depend on the task's types: its
    /// placement, the queues' admission (more dependencies, the writers it follows), its
    /// locks, its header and the `Spawned` event.
    #[inline(never)]
    fn prepare_queued(
        &self,
        id: TaskId,
        opts: &Options,
        inputs: Inputs,
        declared: &mut Gather,
    ) -> Queued {
        let Inputs {
            mut deps,
            mut dep_ids,
            scopes,
        } = inputs;
        let opts = self.restricted(opts);
        let mut placed = self.place(&opts, &scopes);
        let (accesses, invalid) = declared.checked();
        if let Some(e) = invalid {
            placed = Err(e);
        }
        // The region's plan and the sequence's previous batch join the dependencies; the
        // body keeps the writers it follows, to fail with them.
        let Admission { wrote, planned } = queue::admit(accesses, &mut deps, &mut dep_ids);
        let locks = access::locks(accesses);
        let (header, error) = self.spawned_header(id, &opts, placed, &dep_ids);
        Queued {
            header,
            error,
            deps,
            wrote,
            planned,
            locks,
        }
    }

    /// Announces a new closure task to the observers and makes its header (on a placement
    /// error the task runs nowhere: the error, returned, fails it).
    #[inline(always)]
    fn spawned_header(
        &self,
        id: TaskId,
        opts: &Options,
        placed: Result<Pin>,
        dep_ids: &[TaskId],
    ) -> (Header, Option<Error>) {
        self.inner
            .observers
            .emit(id, &opts.name, || TaskEventKind::Spawned { deps: dep_ids });
        let (pin, error) = match placed {
            Ok(pin) => (pin, None),
            Err(e) => (Pin::Any, Some(e)),
        };
        let header = Header::new(
            id,
            opts.name.clone(),
            pin,
            opts.get_result,
            self.inner.observers,
        );
        (header, error)
    }

    /// Records a new task in the open task queues and launches it unless one holds it
    /// (`ok`: it did not fail at once; `planned`: a region planned it).
    fn hand_to_queues(&self, job: Arc<dyn Job>, planned: bool, ok: bool) {
        if let Some(job) = queue::place(&self.inner.pool, job, planned) {
            if ok && job.header().dep_done() {
                self.inner.pool.schedule(job);
            }
        }
    }

    /// Registers a new task with its dependencies and queues it once they are done (or
    /// fails it at once with `error`).
    fn register(&self, job: Arc<dyn Job>, deps: SmallVec<[Arc<dyn Job>; 4]>, error: Option<Error>) {
        // A task without dependencies is ready at once: the spawner's count on it is its
        // only one, and no completion will ever count it down, so it stays as it is (one
        // atomic operation fewer per independent spawn).
        let independent = deps.is_empty();
        if self.link(&job, deps, error) && (independent || job.header().dep_done()) {
            self.inner.pool.schedule(job);
        }
    }

    /// Registers a new task with its dependencies, or fails it at once with `error`
    /// (`false` then). The spawner's own count on it stays: the caller launches it, or hands
    /// it to a queue.
    #[inline]
    fn link(
        &self,
        job: &Arc<dyn Job>,
        deps: SmallVec<[Arc<dyn Job>; 4]>,
        error: Option<Error>,
    ) -> bool {
        if let Some(e) = error {
            let ready = job.clone().fail(e);
            executor::schedule_all(&self.inner.pool, ready);
            return false;
        }
        let h = job.header();
        for d in deps {
            h.add_pending();
            if !d.header().add_dependent(job) {
                h.dep_done();
            }
        }
        true
    }

    /// Spawns a registered function (see [`register!`](crate::register)) on `args`. With a
    /// cluster it runs on whichever worker its scope allows and the cost model prefers (where
    /// its inputs are, else the least loaded); without one it runs here.
    ///
    /// ```
    /// dagger_sched::register! { fn square(x: u64) -> u64 { x * x } }
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let a = ctx.spawn_registered(SQUARE, (3u64,));
    /// let b = ctx.spawn_registered(SQUARE, (&a,));
    /// assert_eq!(b.fetch().unwrap(), 81);
    /// ```
    pub fn spawn_registered<A, V, R>(&self, f: Registered<V, R>, args: A) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.spawn_registered_inner(&Options::default(), f, args)
    }

    /// [`Context::spawn_registered`] with options (scope, name, …), given first, borrowed or
    /// owned.
    ///
    /// ```
    /// use dagger_sched::{Context, Options};
    /// dagger_sched::register! { fn halve(x: u64) -> u64 { x / 2 } }
    /// let ctx = Context::builder().threads(1).build();
    /// let opts = Options::new().name("halve");
    /// let a = ctx.spawn_registered_with(&opts, HALVE, (40u64,));
    /// let b = ctx.spawn_registered_with(opts, HALVE, (&a,));
    /// assert_eq!(b.fetch().unwrap(), 10);
    /// ```
    pub fn spawn_registered_with<A, V, R>(
        &self,
        opts: impl Borrow<Options>,
        f: Registered<V, R>,
        args: A,
    ) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.spawn_registered_inner(opts.borrow(), f, args)
    }

    /// Spawns a registered function: the former name of [`Context::spawn_registered`].
    #[deprecated(since = "0.1.0", note = "renamed to `spawn_registered`")]
    pub fn spawn_fn<A, V, R>(&self, f: Registered<V, R>, args: A) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.spawn_registered(f, args)
    }

    /// [`Context::spawn_fn`] with options: the former name of
    /// [`Context::spawn_registered_with`], with its former signature (borrowed options).
    #[deprecated(since = "0.1.0", note = "renamed to `spawn_registered_with`")]
    pub fn spawn_fn_with<A, V, R>(&self, opts: &Options, f: Registered<V, R>, args: A) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.spawn_registered_inner(opts, f, args)
    }

    /// Spawns a registered function with borrowed options (the lazy graph keeps its own).
    pub(crate) fn spawn_registered_inner<A, V, R>(
        &self,
        opts: &Options,
        f: Registered<V, R>,
        args: A,
    ) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs + Args<Values = V>,
        V: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let args = args.into_args();
        let plan = self.checkpoint_plan(opts, f.name, &args, false);
        if let Some(t) = self.try_restore(opts, &plan) {
            return t;
        }
        let mut t = self.spawn_registered_args(opts, f, args);
        self.checkpoint_after(&mut t, plan);
        t
    }

    /// Spawns a registered function on its arguments (checkpoints aside).
    fn spawn_registered_args<A, R>(
        &self,
        opts: &Options,
        f: Registered<A::Values, R>,
        args: A,
    ) -> DTask<R>
    where
        A: RemoteArgs,
        A::Values: Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let Some(cluster) = self.inner.cluster.get().cloned() else {
            let local = f.local;
            return self.spawn_inner(opts, args, move |v| Ok(local(v)));
        };
        let opts = &*self.restricted(opts);
        let id = TaskId(NEXT_TASK.fetch_add(1, Ordering::Relaxed));
        let Inputs {
            mut deps,
            mut dep_ids,
            scopes,
        } = Inputs::of(&args);
        let mut scope = effective_scope(opts, &scopes);
        // In a datadeps region the plan adds the tasks to follow (pinned values run where
        // they live, so ordering is all a region has to add) and the writers whose failure
        // is this task's.
        let mut declared = Gather::default();
        args.accesses(&mut |d| declared.add(d));
        let adm = (!declared.is_empty() || queue::active()).then(|| {
            let (accesses, invalid) = declared.checked();
            if let Some(e) = invalid {
                scope = Err(e);
            }
            queue::admit(accesses, &mut deps, &mut dep_ids)
        });
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
        match adm {
            Some(Admission { wrote, planned }) => {
                task.follow_writers(wrote.into_vec());
                let job: Arc<dyn Job> = task;
                let ok = self.link(&job, deps, scope.err());
                self.hand_to_queues(job, planned, ok);
            }
            None => {
                let ok = scope.is_ok();
                self.register(task.clone(), deps, scope.err());
                if ok {
                    // Sent ahead to where its inputs are being computed, if they all are
                    // on one worker (the cluster's forwarding protocol).
                    task.offer();
                }
            }
        }
        handle
    }
}

/// The task of a plain spawn: its arguments resolved, then `call` (a plain spawn's and a
/// queued spawn's that has nothing to check first).
#[inline(always)]
fn plain_task<A, R>(
    header: Header,
    args: A,
    call: impl FnOnce(A::Values) -> Outcome<R> + Send + 'static,
) -> Arc<Task<R, impl FnOnce() -> Outcome<R> + Send + 'static>>
where
    A: Args,
    R: Send + Sync + 'static,
{
    Task::new_arc(
        move || header,
        move || {
            let values = args.resolve()?;
            call(values)
        },
    )
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
