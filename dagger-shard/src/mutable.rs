//! [`mutable()`]: one value constructed on its target processor, never copied, and every task
//! that takes it pinned to where it lives.

use crate::target::{admitted, check_processor, check_worker, home_scope};
use dagger_core::{Access, Extent, Mode, ObjectId};
use dagger_core::{Error, Options, ProcessorId, Result, Scope, WorkerId};
use dagger_sched::datadeps::{new_object_id, Declared, Tracked};
use dagger_sched::{
    current_processor, Arg, Chunk, Context, Dependency, IntoArg, IntoLazyArg, LazyArg, Memo,
};
use std::fmt;
use std::sync::Arc;

/// Where [`mutable_with`] constructs a value and which tasks may use it (the reference's
/// `worker=`, `processor=` and `scope=` keywords).
///
/// `worker` and `processor` name the target (default: the OS processor of the calling
/// process) and may not be combined. `scope` overrides the value's scope (default: the
/// target's process for an OS processor, exactly the target for a thread processor).
///
/// ```
/// use dagger_core::{ProcessorId, WorkerId};
/// use dagger_shard::MutableOptions;
/// let o = MutableOptions::new().processor(ProcessorId::thread(WorkerId(1), 2));
/// assert_eq!(o.processor, Some(ProcessorId::thread(WorkerId(1), 2)));
/// assert!(o.worker.is_none() && o.scope.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MutableOptions {
    /// Construct on this worker's OS processor.
    pub worker: Option<WorkerId>,
    /// Construct on this processor.
    pub processor: Option<ProcessorId>,
    /// Scope of the value (where tasks that take it may run).
    pub scope: Option<Scope>,
}

/// Lets [`mutable_with`] take `&opts` as well as `opts`.
impl From<&MutableOptions> for MutableOptions {
    fn from(opts: &MutableOptions) -> Self {
        opts.clone()
    }
}

impl MutableOptions {
    /// No options: construct in the calling process, scope it to that process.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the target worker.
    pub fn worker(mut self, w: impl Into<WorkerId>) -> Self {
        self.worker = Some(w.into());
        self
    }

    /// Sets the target processor.
    pub fn processor(mut self, p: ProcessorId) -> Self {
        self.processor = Some(p);
        self
    }

    /// Sets the value's scope.
    pub fn scope(mut self, s: Scope) -> Self {
        self.scope = Some(s);
        self
    }

    /// The target processor, and whether the caller named it.
    fn target(&self, ctx: &Context) -> Result<(ProcessorId, bool)> {
        match (self.worker, self.processor) {
            (Some(w), Some(p)) => Err(Error::Argument(format!(
                "mutable: can't mix worker and processor (worker={w}, processor={p})"
            ))),
            (None, None) => Ok((ProcessorId::os(ctx.worker_id()), false)),
            (Some(w), None) => {
                check_worker(ctx, w)?;
                Ok((ProcessorId::os(w), true))
            }
            (None, Some(p)) => {
                check_processor(ctx, p)?;
                Ok((p, true))
            }
        }
    }
}

/// A value pinned where it was constructed: a chunk that the scheduler never copies and that
/// forces every task taking it into its scope.
///
/// Pass `&m` (or `m`) as a task argument: the body receives an `Arc<T>` sharing the one
/// value, and the task runs only on processors in [`Mutable::scope`]. A task whose own scope
/// excludes them fails with a [`Error::Scheduling`] ("Current scope and argument Chunk scope
/// are not compatible: …"). Clones are handles to the same value.
///
/// ```
/// use dagger_core::{Options, ProcessorId};
/// use dagger_sched::{current_processor, Context, ScopeSpec};
/// use dagger_shard::{mutable_with, MutableOptions};
/// use std::sync::atomic::{AtomicI64, Ordering};
///
/// let ctx = Context::builder().threads(2).build();
/// let t2 = ProcessorId::thread(ctx.worker_id(), 2);
/// let x = mutable_with(&ctx, &MutableOptions::new().processor(t2), || AtomicI64::new(0)).unwrap();
/// // Always executed on thread 2.
/// let ran_on = ctx.spawn(|(x,)| { x.fetch_add(3, Ordering::SeqCst); current_processor() }, (&x,));
/// assert_eq!(ran_on.fetch().unwrap(), Some(t2));
/// // Asking for thread 1 is a scheduling error.
/// let s = ctx.scope(&ScopeSpec::new().worker(1).thread(1)).unwrap();
/// let bad = ctx.spawn_with(&Options::new().scope(s), |(x,)| x.fetch_add(3, Ordering::SeqCst), (&x,));
/// assert!(bad.fetch().unwrap_err().is_scheduling());
/// assert_eq!(x.fetch().unwrap().load(Ordering::SeqCst), 3);
/// ```
pub struct Mutable<T> {
    chunk: Chunk<Arc<T>>,
    /// What datadeps regions order its accesses by.
    object: ObjectId,
    processor: ProcessorId,
    /// The processors of the context the scope admits, checked again when a task receives the
    /// value (a wrongly placed task gets an error instead of somebody else's memory).
    admitted: Arc<[ProcessorId]>,
}

impl<T> Clone for Mutable<T> {
    fn clone(&self) -> Self {
        Mutable {
            chunk: self.chunk.clone(),
            object: self.object,
            processor: self.processor,
            admitted: self.admitted.clone(),
        }
    }
}

impl<T> Mutable<T> {
    /// The processor the value was constructed for: an OS processor (the value belongs to the
    /// whole process) or a thread processor.
    pub fn processor(&self) -> ProcessorId {
        self.processor
    }
}

impl<T: Send + Sync + 'static> Mutable<T> {
    /// Wraps a finished constructor chunk (used by [`crate::shard()`] too).
    pub(crate) fn from_parts(
        ctx: &Context,
        chunk: Chunk<Arc<T>>,
        processor: ProcessorId,
        scope: Scope,
    ) -> Self {
        let admitted = admitted(ctx, &scope).into();
        Mutable {
            chunk: chunk.with_scope(scope),
            object: new_object_id(),
            processor,
            admitted,
        }
    }

    /// The underlying chunk (its scope is [`Mutable::scope`]).
    pub fn chunk(&self) -> &Chunk<Arc<T>> {
        &self.chunk
    }

    /// Where tasks that take the value may run.
    pub fn scope(&self) -> &Scope {
        self.chunk.scope()
    }

    /// The worker whose memory holds the value.
    pub fn owner(&self) -> WorkerId {
        self.chunk.owner()
    }

    /// The value itself, shared (the same `Arc` tasks receive; nothing is copied).
    pub fn fetch(&self) -> Result<Arc<T>> {
        self.chunk.fetch()
    }

    /// Calls `f` with a reference to the value.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R> {
        self.chunk.with(|v| f(v))
    }

    /// Whether the calling thread may use the value (it is a processor of the scope, or not a
    /// thread processor at all, i.e. the process's own OS processor).
    pub(crate) fn admits_current(&self) -> Result<()> {
        match current_processor() {
            Some(p) if !self.admitted.contains(&p) => Err(Error::Scheduling(format!(
                "pinned value {} (scope {}) was handed to a task running on {p}, outside its scope",
                self.chunk.id(),
                self.chunk.scope()
            ))),
            _ => Ok(()),
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Mutable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Mutable({}, {}, {}, {})",
            self.chunk.id(),
            self.processor,
            std::any::type_name::<T>(),
            self.chunk.scope()
        )
    }
}

/// A [`Mutable`] as stored in a task until it runs, with the access it declares to a
/// datadeps region (`In` when passed bare); the body receives `Arc<T>`. The value's own
/// interior mutability keeps it safe, so the region only orders the tasks: an `InOut(&m)`
/// waits for the earlier readers and writers of `m`, an `In(&m)` for the earlier writers.
pub struct MutableArg<T>(Mutable<T>, Mode);

impl<T: Send + Sync + 'static> fmt::Debug for MutableArg<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MutableArg")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl<T: Send + Sync + 'static> Arg for MutableArg<T> {
    type Value = Arc<T>;

    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        // The value is already constructed: no dependency, only the placement constraint.
        let s = self.0.scope();
        if *s != Scope::Any {
            f(None, Some(s))
        }
    }

    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        f(Ok(Declared {
            access: Access {
                object: self.0.object,
                extent: Extent::Whole,
                mode: self.1,
            },
            shape: None,
            lock: None,
        }))
    }

    fn resolve(self) -> Result<Arc<T>> {
        self.0.admits_current()?;
        self.0.fetch()
    }
}

impl<T: Send + Sync + 'static> IntoArg for Mutable<T> {
    type Arg = MutableArg<T>;
    fn into_arg(self) -> MutableArg<T> {
        MutableArg(self, Mode::In)
    }
}

impl<T: Send + Sync + 'static> IntoArg for &Mutable<T> {
    type Arg = MutableArg<T>;
    fn into_arg(self) -> MutableArg<T> {
        MutableArg(self.clone(), Mode::In)
    }
}

/// `In(&m)`, `Out(&m)` and `InOut(&m)`: declared accesses for datadeps regions (whole
/// value; the body receives the `Arc<T>` either way).
impl<T: Send + Sync + 'static> Tracked for Mutable<T> {
    type Read = MutableArg<T>;
    type Write = MutableArg<T>;
    fn read_arg(&self, _: Extent) -> MutableArg<T> {
        MutableArg(self.clone(), Mode::In)
    }
    fn write_arg(&self, _: Extent, mode: Mode) -> MutableArg<T> {
        MutableArg(self.clone(), mode)
    }
}

// In a lazy graph (`delayed`) a mutable value is an input that is already there.
impl<T: Send + Sync + 'static> LazyArg for Mutable<T> {
    type Eager = Mutable<T>;
    fn materialize(&self, _: &Memo) -> Mutable<T> {
        self.clone()
    }
}

impl<T: Send + Sync + 'static> IntoLazyArg for Mutable<T> {
    type Lazy = Mutable<T>;
    fn into_lazy(self) -> Mutable<T> {
        self
    }
}

impl<T: Send + Sync + 'static> IntoLazyArg for &Mutable<T> {
    type Lazy = Mutable<T>;
    fn into_lazy(self) -> Mutable<T> {
        self.clone()
    }
}

/// Constructs `f()` in the calling process and pins it there (the reference's
/// `@mutable expr`): see [`mutable_with`].
///
/// ```
/// use dagger_core::Scope;
/// use dagger_sched::Context;
/// use dagger_shard::mutable;
/// use std::sync::Mutex;
/// let ctx = Context::builder().threads(2).build();
/// let log = mutable(&ctx, || Mutex::new(Vec::new())).unwrap();
/// assert_eq!(log.scope(), &Scope::Process(ctx.worker_id()));
/// let ts: Vec<_> = (0..4).map(|i| ctx.spawn(move |(l,)| l.lock().unwrap().push(i), (&log,))).collect();
/// dagger_sched::fetch_all(&ts).unwrap();
/// assert_eq!(log.with(|l| l.lock().unwrap().len()).unwrap(), 4);
/// ```
pub fn mutable<T, F>(ctx: &Context, f: F) -> Result<Mutable<T>>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    mutable_with(ctx, MutableOptions::new(), f)
}

/// Constructs `f()` on the target of `opts`, in a task pinned there, and returns the value as a
/// [`Mutable`] once it exists. The value is never copied or serialized by the scheduler.
///
/// The constructor runs within the value's scope (narrowed to the target when `worker` or
/// `processor` is given). Errors: `worker` together with `processor`, an unknown worker or
/// processor, or a scope that excludes the named target are [`Error::Argument`]s; a scope no
/// processor can satisfy fails the constructor task with a [`Error::Scheduling`]; a panicking
/// constructor returns its task failure.
///
/// Options come first and are taken by value or by reference (`&opts` still compiles), as
/// the scheduler's `spawn_with` takes them.
///
/// ```
/// use dagger_core::{ProcessorId, Scope};
/// use dagger_sched::Context;
/// use dagger_shard::{mutable_with, MutableOptions};
/// use std::sync::atomic::{AtomicU64, Ordering};
/// let ctx = Context::builder().threads(2).build();
/// let t2 = ProcessorId::thread(ctx.worker_id(), 2);
/// let hits = mutable_with(&ctx, MutableOptions::new().processor(t2), || AtomicU64::new(0)).unwrap();
/// assert_eq!(hits.scope(), &Scope::Exact(t2)); // tasks taking it run on thread 2
/// let opts = MutableOptions::new();
/// let other = mutable_with(&ctx, &opts, || AtomicU64::new(7)).unwrap(); // by reference
/// let t = ctx.spawn(|(h,)| h.fetch_add(1, Ordering::Relaxed), (&hits,));
/// assert_eq!(t.fetch().unwrap(), 0);
/// assert_eq!(other.with(|v| v.load(Ordering::Relaxed)).unwrap(), 7);
/// ```
pub fn mutable_with<T, F>(
    ctx: &Context,
    opts: impl Into<MutableOptions>,
    f: F,
) -> Result<Mutable<T>>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let opts = opts.into();
    let (target, named) = opts.target(ctx)?;
    let home = home_scope(target);
    let scope = opts.scope.clone().unwrap_or_else(|| home.clone());
    let build = if named {
        scope.constrain(&home)
    } else {
        scope.clone()
    };
    if build.is_invalid() {
        return Err(Error::Argument(format!(
            "mutable: scope {scope} does not include the target processor {target}"
        )));
    }
    let task = ctx.spawn_with(
        Options::new().scope(build).name("mutable"),
        move |()| Arc::new(f()),
        (),
    );
    let chunk = task.chunk()?;
    Ok(Mutable::from_parts(ctx, chunk, target, scope))
}
