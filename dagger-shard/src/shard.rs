//! [`Shard`]: one mutable piece per worker or per thread processor; a task receives the piece
//! local to where it runs.

use crate::mutable::Mutable;
use crate::target::{check_processor, check_worker, home_scope, threads_of, workers};
use dagger_core::{Error, Options, ProcessorId, Result, Scope, WorkerId};
use dagger_sched::{
    current_processor, Arg, Context, DTask, Dependency, IntoArg, IntoLazyArg, LazyArg, Memo,
};
use std::fmt;
use std::sync::Arc;

/// Which processors get a piece (the reference's `procs=`, `workers=` and `per_thread=`
/// keywords). The default is one piece per worker of the context.
///
/// `procs` may not be combined with `workers` nor with `per_thread`, and the resulting set may
/// not be empty; each is an [`Error::Argument`] from [`shard()`].
///
/// ```
/// use dagger_shard::ShardOptions;
/// let o = ShardOptions::new().workers([1]).per_thread(true);
/// assert_eq!(o.workers, Some(vec![1.into()]));
/// assert!(o.per_thread && o.procs.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardOptions {
    /// One piece on each of these workers (default: every worker of the context).
    pub workers: Option<Vec<WorkerId>>,
    /// One piece on each of these processors (OS or thread processors).
    pub procs: Option<Vec<ProcessorId>>,
    /// One piece per thread processor of the chosen workers instead of one per worker.
    pub per_thread: bool,
}

/// Lets [`shard_with`] take `&opts` as well as `opts`.
impl From<&ShardOptions> for ShardOptions {
    fn from(opts: &ShardOptions) -> Self {
        opts.clone()
    }
}

impl ShardOptions {
    /// One piece per worker of the context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the workers.
    pub fn workers<W: Into<WorkerId>>(mut self, ws: impl IntoIterator<Item = W>) -> Self {
        self.workers = Some(ws.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the processors.
    pub fn procs(mut self, ps: impl IntoIterator<Item = ProcessorId>) -> Self {
        self.procs = Some(ps.into_iter().collect());
        self
    }

    /// Sets `per_thread`.
    pub fn per_thread(mut self, v: bool) -> Self {
        self.per_thread = v;
        self
    }

    /// The processors that get a piece, sorted and without duplicates.
    fn processors(&self, ctx: &Context) -> Result<Vec<ProcessorId>> {
        if self.procs.is_some() && self.workers.is_some() {
            return Err(Error::Argument("shard: can't mix procs and workers".into()));
        }
        if self.procs.is_some() && self.per_thread {
            return Err(Error::Argument(
                "shard: can't mix procs and per_thread=true".into(),
            ));
        }
        let mut ps = match &self.procs {
            Some(ps) => {
                for &p in ps {
                    check_processor(ctx, p)?;
                }
                ps.clone()
            }
            None => {
                let ws = match &self.workers {
                    Some(ws) => {
                        for &w in ws {
                            check_worker(ctx, w)?;
                        }
                        ws.clone()
                    }
                    None => workers(ctx),
                };
                if self.per_thread {
                    ws.into_iter().flat_map(|w| threads_of(ctx, w)).collect()
                } else {
                    ws.into_iter().map(ProcessorId::os).collect()
                }
            }
        };
        ps.sort();
        ps.dedup();
        if ps.is_empty() {
            return Err(Error::Argument("Cannot create empty Shard".into()));
        }
        Ok(ps)
    }
}

/// A set of mutable pieces, each living on its own processor: the reference's "mirrored
/// shards" for local counters, partial reductions and caches.
///
/// Pass `&shard` as a task argument: the body receives (as `Arc<T>`) the piece of the thread it
/// runs on, or else the piece of its worker; no other piece is touched, copied or serialized.
/// A shard does not constrain where a task runs, so a task placed on a processor that has no
/// piece (possible only with a hand-picked `procs` set) fails with an [`Error::Scheduling`].
/// Iterating yields the pieces ([`Mutable`]s, in processor order), each with its processor and
/// its scope (`ProcessScope(w)` for a per-worker piece, `ExactScope(thread)` for a per-thread
/// one). Clones are handles to the same pieces.
///
/// ```
/// use dagger_core::{ProcessorId, Scope};
/// use dagger_sched::{fetch_all, Context};
/// use dagger_shard::{shard_with, ShardOptions};
/// use std::sync::atomic::{AtomicI64, Ordering};
///
/// let ctx = Context::builder().threads(2).build();
/// let cs = shard_with(&ctx, ShardOptions::new(), || AtomicI64::new(0)).unwrap();
/// let w = ctx.worker_id();
/// let pieces: Vec<_> = cs.iter().map(|c| (c.processor(), c.scope().clone())).collect();
/// assert_eq!(pieces, vec![(ProcessorId::os(w), Scope::Process(w))]);
/// let ts: Vec<_> = (0..1000).map(|_| ctx.spawn(|(c,)| c.fetch_add(1, Ordering::Relaxed), (&cs,))).collect();
/// fetch_all(&ts).unwrap();
/// let total: i64 = cs.iter().map(|c| c.fetch().unwrap().load(Ordering::Relaxed)).sum();
/// assert_eq!(total, 1000);
/// ```
pub struct Shard<T> {
    inner: Arc<Pieces<T>>,
}

/// The pieces, sorted by processor, and the worker that made the shard.
struct Pieces<T> {
    pieces: Vec<Mutable<T>>,
    local: WorkerId,
}

impl<T> Pieces<T> {
    fn exact(&self, p: ProcessorId) -> Option<&Mutable<T>> {
        self.pieces
            .binary_search_by_key(&p, |m| m.processor())
            .ok()
            .map(|i| &self.pieces[i])
    }

    /// The piece of `p`, else the piece of its worker (Dagger.jl walks `get_parent`).
    fn nearest(&self, p: ProcessorId) -> Option<&Mutable<T>> {
        self.exact(p).or_else(|| self.exact(p.parent()))
    }
}

impl<T> Clone for Shard<T> {
    fn clone(&self) -> Self {
        Shard {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Shard<T> {
    /// Number of pieces (never 0).
    pub fn len(&self) -> usize {
        self.inner.pieces.len()
    }

    /// Always `false`: an empty shard cannot be built.
    pub fn is_empty(&self) -> bool {
        self.inner.pieces.is_empty()
    }

    /// The pieces, in processor order.
    pub fn iter(&self) -> std::slice::Iter<'_, Mutable<T>> {
        self.inner.pieces.iter()
    }

    /// The processors that hold a piece, in order.
    pub fn processors(&self) -> impl Iterator<Item = ProcessorId> + '_ {
        self.inner.pieces.iter().map(|m| m.processor())
    }

    /// The piece on exactly processor `p`.
    pub fn get(&self, p: ProcessorId) -> Option<&Mutable<T>> {
        self.inner.exact(p)
    }

    /// The piece a task running on `p` receives: `p`'s own, else its worker's.
    pub fn piece_for(&self, p: ProcessorId) -> Option<&Mutable<T>> {
        self.inner.nearest(p)
    }

    /// Runs `f` once per piece, each in a task pinned to that piece, and returns the tasks;
    /// their results are immutable values (copies, summaries) to reduce, scan or fetch.
    ///
    /// ```
    /// use dagger_sched::{fetch_all, Context};
    /// use dagger_shard::{shard_with, ShardOptions};
    /// let ctx = Context::builder().threads(3).build();
    /// let s = shard_with(&ctx, ShardOptions::new().per_thread(true), || 7u8).unwrap();
    /// let on = s.map(&ctx, |_| dagger_sched::current_processor().unwrap());
    /// assert_eq!(fetch_all(&on).unwrap(), s.processors().collect::<Vec<_>>());
    /// ```
    pub fn map<R, F>(&self, ctx: &Context, f: F) -> Vec<DTask<R>>
    where
        R: Send + Sync + 'static,
        F: Fn(&T) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let opts = Options::new().name("shard map");
        self.iter()
            .map(|piece| {
                let f = f.clone();
                ctx.spawn_with(&opts, move |(v,)| f(&v), (piece,))
            })
            .collect()
    }
}

impl<'a, T: Send + Sync + 'static> IntoIterator for &'a Shard<T> {
    type Item = &'a Mutable<T>;
    type IntoIter = std::slice::Iter<'a, Mutable<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Shard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("type", &std::any::type_name::<T>())
            .field("pieces", &self.inner.pieces)
            .finish()
    }
}

/// A [`Shard`] as stored in a task until it runs; the body receives the local piece as
/// `Arc<T>`.
pub struct ShardArg<T>(Arc<Pieces<T>>);

impl<T: Send + Sync + 'static> fmt::Debug for ShardArg<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ShardArg").field(&self.0.pieces).finish()
    }
}

impl<T: Send + Sync + 'static> Arg for ShardArg<T> {
    type Value = Arc<T>;

    fn visit(&self, _: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        // Every piece already exists, and a shard does not constrain placement.
    }

    fn resolve(self) -> Result<Arc<T>> {
        let here = current_processor().unwrap_or(ProcessorId::os(self.0.local));
        match self.0.nearest(here) {
            Some(piece) => piece.fetch(),
            None => Err(Error::Scheduling(format!(
                "shard has no piece for {here} nor for {} (pieces on {:?})",
                here.parent(),
                self.0
                    .pieces
                    .iter()
                    .map(|m| m.processor())
                    .collect::<Vec<_>>()
            ))),
        }
    }
}

impl<T: Send + Sync + 'static> IntoArg for &Shard<T> {
    type Arg = ShardArg<T>;
    fn into_arg(self) -> ShardArg<T> {
        ShardArg(self.inner.clone())
    }
}

impl<T: Send + Sync + 'static> IntoArg for Shard<T> {
    type Arg = ShardArg<T>;
    fn into_arg(self) -> ShardArg<T> {
        ShardArg(self.inner)
    }
}

// In a lazy graph (`delayed`) a shard is an input that is already there.
impl<T: Send + Sync + 'static> LazyArg for Shard<T> {
    type Eager = Shard<T>;
    fn materialize(&self, _: &Memo) -> Shard<T> {
        self.clone()
    }
}

impl<T: Send + Sync + 'static> IntoLazyArg for Shard<T> {
    type Lazy = Shard<T>;
    fn into_lazy(self) -> Shard<T> {
        self
    }
}

impl<T: Send + Sync + 'static> IntoLazyArg for &Shard<T> {
    type Lazy = Shard<T>;
    fn into_lazy(self) -> Shard<T> {
        self.clone()
    }
}

/// Builds a [`Shard`]: calls `f` once per selected processor, in a task pinned there, and
/// returns once every piece exists. Each piece is a [`Mutable`] scoped to its processor's
/// process (per-worker pieces) or to exactly its thread (per-thread pieces).
///
/// The same as [`shard_with`], with the options after the closure: the former form, kept so
/// that old programs compile (every other `*_with` takes its options first).
///
/// Errors: conflicting selectors, an empty selection, or an unknown worker or processor are
/// [`Error::Argument`]s; a panicking constructor returns its task failure.
#[deprecated(
    since = "0.1.0",
    note = "use `shard_with(ctx, opts, f)`: options come first"
)]
pub fn shard<T, F>(ctx: &Context, f: F, opts: ShardOptions) -> Result<Shard<T>>
where
    T: Send + Sync + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    shard_with(ctx, opts, f)
}

/// Builds a [`Shard`] as [`shard()`] does, with the options first, taken by value or by
/// reference, as the scheduler's `spawn_with` and [`mutable_with`](crate::mutable_with)
/// take them.
///
/// # Errors
///
/// As [`shard()`]: conflicting selectors, an empty selection, or an unknown worker or
/// processor are [`Error::Argument`]s; a panicking constructor returns its task failure.
///
/// ```
/// use dagger_sched::{fetch_all, Context};
/// use dagger_shard::{shard_with, ShardOptions};
/// use std::sync::atomic::{AtomicI64, Ordering};
/// let ctx = Context::builder().threads(2).build();
/// let opts = ShardOptions::new().per_thread(true);
/// let counters = shard_with(&ctx, &opts, || AtomicI64::new(0)).unwrap();
/// assert_eq!(counters.len(), 2); // one piece per thread processor
/// let ts: Vec<_> = (0..100)
///     .map(|_| ctx.spawn(|(c,)| { c.fetch_add(1, Ordering::Relaxed); }, (&counters,)))
///     .collect();
/// fetch_all(&ts).unwrap();
/// let parts = counters.map(&ctx, |c| c.load(Ordering::Relaxed));
/// assert_eq!(fetch_all(&parts).unwrap().iter().sum::<i64>(), 100);
/// ```
pub fn shard_with<T, F>(ctx: &Context, opts: impl Into<ShardOptions>, f: F) -> Result<Shard<T>>
where
    T: Send + Sync + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    let procs = opts.into().processors(ctx)?;
    let f = Arc::new(f);
    // Start every constructor before waiting for any, so pieces are built in parallel.
    let tasks: Vec<_> = procs
        .iter()
        .map(|&p| {
            let f = f.clone();
            let opts = Options::new().scope(home_scope(p)).name("shard piece");
            (p, ctx.spawn_with(&opts, move |()| Arc::new(f()), ()))
        })
        .collect();
    let pieces = tasks
        .into_iter()
        .map(|(p, t)| Ok(Mutable::from_parts(ctx, t.chunk()?, p, home_scope(p))))
        .collect::<Result<Vec<_>>>()?;
    Ok(Shard {
        inner: Arc::new(Pieces {
            pieces,
            local: ctx.worker_id(),
        }),
    })
}
