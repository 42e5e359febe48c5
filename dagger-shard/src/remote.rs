//! `mutable` and `Shard` on worker processes: values made by a *registered* constructor in
//! the process that keeps them ([`Pinned`]), never copied or serialized; only ids travel.
//! Closures cannot leave the process that made them, so these take a registered function.

use dagger_core::{Error, Options, ProcessorId, ProcessorKind, Result, Scope, WorkerId};
use dagger_sched::{All, Chunk, Context, DTask, Pinned, Registered};

/// A mutable value made on `worker` by `make`; every task taking the returned chunk runs
/// there, and a task whose scope excludes `worker` fails with a `SchedulingError`.
pub fn mutable_on<T: Send + Sync + 'static>(
    ctx: &Context,
    worker: WorkerId,
    make: Registered<(), Pinned<T>>,
) -> Result<Chunk<Pinned<T>>> {
    mutable_in(ctx, Scope::Process(worker), make)
}

/// A mutable value made by `make` within `scope` (e.g. `Scope::Exact` of one thread
/// processor, the reference's `processor=`, or any `scope=`), pinned there: every task taking
/// the returned chunk runs within that scope.
pub fn mutable_in<T: Send + Sync + 'static>(
    ctx: &Context,
    scope: Scope,
    make: Registered<(), Pinned<T>>,
) -> Result<Chunk<Pinned<T>>> {
    ctx.spawn_registered_with(Options::new().scope(scope.clone()), make, ())
        .chunk()
        .map(|c| c.with_scope(scope))
}

/// A shard across the processes of a cluster: one piece per worker (or per thread processor),
/// each made where it lives. Pass [`RemoteShard::arg`] to a registered function taking
/// `Vec<Pinned<T>>` and pick the piece with [`dagger_sched::local_piece`]; the shard does not
/// constrain placement.
pub struct RemoteShard<T> {
    pieces: Vec<(ProcessorId, DTask<Pinned<T>>)>,
}

impl<T> std::fmt::Debug for RemoteShard<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The tasks say little; where the pieces live is what identifies the shard.
        let processors: Vec<ProcessorId> = self.pieces.iter().map(|(p, _)| *p).collect();
        f.debug_struct("RemoteShard")
            .field("type", &std::any::type_name::<T>())
            .field("processors", &processors)
            .finish()
    }
}

impl<T: Send + Sync + 'static> RemoteShard<T> {
    /// The argument that hands a task every piece's id (the task uses its local one).
    pub fn arg(&self) -> All<Pinned<T>> {
        All(self.pieces.iter().map(|(_, t)| t.clone()).collect())
    }

    /// Each piece's processor and chunk (scoped to where it lives), for per-piece tasks.
    pub fn pieces(&self) -> Result<Vec<(ProcessorId, Chunk<Pinned<T>>)>> {
        self.pieces
            .iter()
            .map(|(p, t)| {
                let scope = match p.kind {
                    ProcessorKind::Os => Scope::Process(p.worker),
                    _ => Scope::Exact(*p),
                };
                t.chunk().map(|c| (*p, c.with_scope(scope)))
            })
            .collect()
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}

/// Makes a [`RemoteShard`]: a piece per worker of `ctx` (or of `workers`), or per thread
/// processor of those workers with `per_thread`.
pub fn shard_on<T: Send + Sync + 'static>(
    ctx: &Context,
    make: Registered<(), Pinned<T>>,
    workers: Option<Vec<WorkerId>>,
    per_thread: bool,
) -> Result<RemoteShard<T>> {
    let workers = workers.unwrap_or_else(|| ctx.live_workers());
    if workers.is_empty() {
        return Err(Error::Argument("Cannot create empty Shard".into()));
    }
    let procs: Vec<ProcessorId> = if per_thread {
        ctx.processors()
            .into_iter()
            .filter(|p| p.id.kind == ProcessorKind::Thread && workers.contains(&p.id.worker))
            .map(|p| p.id)
            .collect()
    } else {
        workers.iter().map(|w| ProcessorId::os(*w)).collect()
    };
    let pieces = procs
        .into_iter()
        .map(|p| {
            let scope = match p.kind {
                ProcessorKind::Os => Scope::Process(p.worker),
                _ => Scope::Exact(p),
            };
            (
                p,
                ctx.spawn_registered_with(Options::new().scope(scope), make, ()),
            )
        })
        .collect::<Vec<_>>();
    for (_, t) in &pieces {
        t.chunk()?;
    }
    Ok(RemoteShard { pieces })
}
