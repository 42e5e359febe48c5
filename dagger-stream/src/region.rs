//! A streaming region: the stages spawned in its body, wired by their arguments, launched
//! together when the body returns, and awaited.

use crate::control::{Canceller, Control, POLL};
use crate::handle::{Node, RemoteNode, StreamTask};
use crate::input::{StreamArg, StreamArgs, Wiring};
use crate::options::StreamOptions;
use crate::stage::{self, Body, Fold, IntoStep, Map, Step};
use dagger_core::{Error, Result, WorkerId};
use dagger_sched::stream_wire::Hub;
use dagger_sched::Context;
use parking_lot::Mutex;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static REGIONS: AtomicU64 = AtomicU64::new(1);

type Launch = Box<dyn FnOnce() -> Option<std::thread::JoinHandle<()>> + Send>;

/// The body's view of a streaming region (Dagger.jl's `spawn_streaming`): what it spawns
/// here are stages, launched together when the body returns, each on a thread of its own.
///
/// A stage's arguments that are [`StreamTask`]s of this region are streams: each call of its
/// function takes the next value of each. Its other arguments are constants. What the
/// function returns goes to every consumer of the stage, in order, through a bounded edge
/// ([`StreamOptions`]). A stage ends when one of its streams ends, when its function
/// returns [`Step::Finish`], after [`StreamOptions::max_evals`] calls, or when all its
/// consumers have ended; its consumers then end in turn.
#[derive(Debug)]
pub struct Streaming {
    pub(crate) ctl: Arc<Control>,
    pub(crate) id: u64,
    launches: Vec<LaunchBox>,
    pub(crate) error: Option<Error>,
    /// The context the region was opened from (stages on workers need its cluster).
    pub(crate) ctx: Option<Context>,
    /// Stages spawned so far.
    pub(crate) stages: usize,
    /// Stages on workers, started when the region launches.
    pub(crate) remotes: Vec<RemoteBox>,
    /// Stages placed per process so far (the driver's are its local ones).
    pub(crate) placed: std::collections::BTreeMap<WorkerId, usize>,
}

/// Starts a stage on a worker: the driver's hub, and the count of stages the region awaits.
pub(crate) type RemoteLaunch = Box<dyn FnOnce(&Arc<Hub>, &Arc<Waiting>) + Send>;

/// A stage on a worker, to start (its worker, and how).
pub(crate) struct RemoteBox(pub(crate) WorkerId, pub(crate) RemoteLaunch);

impl std::fmt::Debug for RemoteBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteLaunch(on {})", self.0)
    }
}

/// The stages on workers a region still waits for.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    n: Mutex<usize>,
    cv: parking_lot::Condvar,
}

impl Waiting {
    pub(crate) fn add(&self) {
        *self.n.lock() += 1;
    }

    pub(crate) fn done(&self) {
        *self.n.lock() -= 1;
        self.cv.notify_all();
    }
}

struct LaunchBox(Launch);

impl std::fmt::Debug for LaunchBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Launch")
    }
}

impl Streaming {
    fn new(teardown: bool, ctx: Option<Context>) -> Self {
        Streaming {
            ctl: Control::new(teardown),
            id: REGIONS.fetch_add(1, Ordering::Relaxed),
            launches: Vec::new(),
            error: None,
            ctx,
            stages: 0,
            remotes: Vec::new(),
            placed: Default::default(),
        }
    }

    /// The driver's streaming hub (`None` without a cluster).
    pub(crate) fn hub(&self) -> Option<Arc<Hub>> {
        self.ctx.as_ref().and_then(|c| c.stream_hub().ok())
    }

    /// A stage calling `f` on one value of each stream argument (and the constants) per
    /// call; every return value is sent on.
    ///
    /// ```
    /// use dagger_stream::streaming;
    /// let (src, inc) = streaming(|s| {
    ///     let src = s.source(0..10u64);
    ///     let inc = s.spawn(|(x, k)| x + k, (&src, 100u64));
    ///     (src, inc)
    /// })
    /// .unwrap();
    /// assert_eq!((src.fetch().unwrap(), inc.fetch().unwrap()), (9, 109));
    /// ```
    pub fn spawn<A, F, R>(&mut self, f: F, args: A) -> StreamTask<R>
    where
        A: StreamArgs,
        F: FnMut(A::Values) -> R + Send + 'static,
        R: Clone + Send + 'static,
    {
        self.spawn_with(&StreamOptions::new(), f, args)
    }

    /// [`Streaming::spawn`] with options.
    pub fn spawn_with<A, F, R>(&mut self, opts: &StreamOptions, mut f: F, args: A) -> StreamTask<R>
    where
        A: StreamArgs,
        F: FnMut(A::Values) -> R + Send + 'static,
        R: Clone + Send + 'static,
    {
        self.add(opts, args, Map(move |v| Step::Emit(f(v))))
    }

    /// A stage whose function says what to do with each call: a [`Step`] (emit, skip, or
    /// finish the stream), or a `Result` of one whose error fails the stage.
    ///
    /// ```
    /// use dagger_stream::{finish, streaming, Step};
    /// let mut n = 0u32;
    /// let src = streaming(|s| {
    ///     s.try_spawn(move |()| { n += 1; if n > 5 { finish() } else { Step::Emit(n) } }, ())
    /// })
    /// .unwrap();
    /// assert_eq!(src.fetch().unwrap(), 5);
    /// ```
    pub fn try_spawn<A, F, S, R>(&mut self, f: F, args: A) -> StreamTask<R>
    where
        A: StreamArgs,
        F: FnMut(A::Values) -> S + Send + 'static,
        S: IntoStep<R>,
        R: Clone + Send + 'static,
    {
        self.try_spawn_with(&StreamOptions::new(), f, args)
    }

    /// [`Streaming::try_spawn`] with options.
    pub fn try_spawn_with<A, F, S, R>(
        &mut self,
        opts: &StreamOptions,
        f: F,
        args: A,
    ) -> StreamTask<R>
    where
        A: StreamArgs,
        F: FnMut(A::Values) -> S + Send + 'static,
        S: IntoStep<R>,
        R: Clone + Send + 'static,
    {
        self.add(opts, args, Map(f))
    }

    /// A source stage yielding the items of `iter`; its stream ends with the iterator.
    pub fn source<I>(&mut self, iter: I) -> StreamTask<I::Item>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Clone + Send + 'static,
    {
        self.source_with(&StreamOptions::new(), iter)
    }

    /// [`Streaming::source`] with options.
    pub fn source_with<I>(&mut self, opts: &StreamOptions, iter: I) -> StreamTask<I::Item>
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Clone + Send + 'static,
    {
        let mut it = iter.into_iter();
        self.add(
            opts,
            (),
            Map(move |()| it.next().map_or(Step::Finish(None), Step::Emit)),
        )
    }

    /// A sink folding every value of `input` into an accumulator; its result is the
    /// accumulator when the stream ends. It sends nothing downstream.
    ///
    /// ```
    /// use dagger_stream::streaming;
    /// let sum = streaming(|s| {
    ///     let src = s.source(1..=100u64);
    ///     s.fold(&src, 0u64, |acc, x| acc + x)
    /// })
    /// .unwrap();
    /// assert_eq!(sum.fetch().unwrap(), 5050);
    /// ```
    pub fn fold<A, Acc, F>(&mut self, input: A, init: Acc, f: F) -> StreamTask<Acc>
    where
        A: StreamArg,
        A::Input: Send + 'static,
        F: FnMut(Acc, A::Value) -> Acc + Send + 'static,
        Acc: Clone + Send + 'static,
    {
        self.fold_with(&StreamOptions::new(), input, init, f)
    }

    /// [`Streaming::fold`] with options.
    pub fn fold_with<A, Acc, F>(
        &mut self,
        opts: &StreamOptions,
        input: A,
        init: Acc,
        f: F,
    ) -> StreamTask<Acc>
    where
        A: StreamArg,
        A::Input: Send + 'static,
        F: FnMut(Acc, A::Value) -> Acc + Send + 'static,
        Acc: Clone + Send + 'static,
    {
        let body = Fold { acc: Some(init), f };
        self.add(opts, (input,), body)
    }

    /// A handle that cancels the region from any thread (a stage, or a thread of the
    /// caller's); the region then returns [`Error::Cancelled`].
    pub fn canceller(&self) -> Canceller {
        Canceller(self.ctl.clone())
    }

    pub(crate) fn add<A, B, T>(&mut self, opts: &StreamOptions, args: A, body: B) -> StreamTask<T>
    where
        A: StreamArgs,
        B: Body<A::Values, T>,
        T: Clone + Send + 'static,
    {
        let (node, inputs) = self.new_stage(opts, None, |w| args.into_inputs(w));
        let (n, ctl) = (node.clone(), self.ctl.clone());
        let launch: Launch = Box::new(move || {
            let edges = std::mem::take(&mut *n.outputs.lock());
            let thread = std::thread::Builder::new().name(format!("stream-{}", n.name));
            let spawned = thread.spawn(move || {
                let _running = ctl.enter();
                let run = || {
                    stage::run(
                        n.index,
                        &n.name,
                        inputs,
                        edges,
                        n.opts.max_evals,
                        body,
                        &ctl,
                    )
                };
                let r = catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|p| {
                    let msg = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    Err(ctl.fail(n.index, &n.name, Error::User(format!("panicked: {msg}"))))
                });
                *n.result.lock() = Some(r);
            });
            spawned.ok()
        });
        self.launches.push(LaunchBox(launch));
        StreamTask { node }
    }

    /// A new stage's node, on the worker of `remote` (`None`: here), and its arguments as
    /// `wire` hangs them on their producers.
    pub(crate) fn new_stage<T, X>(
        &mut self,
        opts: &StreamOptions,
        remote: Option<RemoteNode<T>>,
        wire: impl FnOnce(&mut Wiring<'_>) -> X,
    ) -> (Arc<Node<T>>, X) {
        self.stages += 1;
        let index = self.stages;
        let at = remote.as_ref().map_or(WorkerId::DRIVER, |r| r.worker);
        *self.placed.entry(at).or_default() += 1;
        if let Err(e) = opts.validate() {
            self.error.get_or_insert(e);
        }
        let name = opts
            .name
            .clone()
            .unwrap_or_else(|| format!("stage-{index}"));
        let hub = self.hub();
        let wired = wire(&mut Wiring {
            opts,
            region: self.id,
            error: &mut self.error,
            hub,
            to: at,
        });
        let node = Arc::new(Node {
            index,
            region: self.id,
            name,
            opts: opts.clone(),
            outputs: Mutex::new(Vec::new()),
            stats: Mutex::new(Vec::new()),
            result: Mutex::new(None),
            remote,
        });
        (node, wired)
    }

    /// Launches every stage and waits for all of them.
    fn launch(self) -> Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let waiting = Arc::new(Waiting::default());
        let mut workers: Vec<WorkerId> = self.remotes.iter().map(|r| r.0).collect();
        workers.sort_unstable();
        workers.dedup();
        let hub = if self.remotes.is_empty() {
            None
        } else {
            self.hub()
        };
        if let Some(hub) = &hub {
            for r in self.remotes {
                (r.1)(hub, &waiting);
            }
        }
        let mut threads = Vec::new();
        for l in self.launches {
            match (l.0)() {
                Some(t) => threads.push(t),
                None => self.ctl.cancel(Error::Scheduling(
                    "could not start a thread for a streaming stage".into(),
                )),
            }
        }
        if let Some(hub) = &hub {
            // Wait for the stages on workers; tell them when the region is torn down.
            let mut told = false;
            let mut n = waiting.n.lock();
            while *n > 0 {
                waiting.cv.wait_for(&mut n, POLL);
                if !told && self.ctl.is_cancelled() {
                    hub.cancel_region(self.id, &workers);
                    told = true;
                }
            }
        }
        for t in threads {
            // A stage catches its own panics; a join error cannot carry anything more.
            let _ = t.join();
        }
        if let Some(hub) = &hub {
            hub.end_region(self.id, &workers);
        }
        match self.ctl.error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Runs `body` as a streaming region with teardown on: the stages it spawns launch when it
/// returns; the call waits for all of them and returns `body`'s value (the handles, to
/// fetch), or the region's root cause: the first stage to fail, or the cancellation. A
/// failing stage, or a cancel, stops every stage of the region.
///
/// ```
/// use dagger_stream::streaming;
/// let (a, b) = streaming(|s| {
///     let src = s.source(0..1000u64);
///     let evens = s.fold(&src, 0u64, |n, x| n + (x % 2 == 0) as u64); // fan-out:
///     let odds = s.fold(&src, 0u64, |n, x| n + (x % 2 == 1) as u64); // both see every value
///     (evens, odds)
/// })
/// .unwrap();
/// assert_eq!((a.fetch().unwrap(), b.fetch().unwrap()), (500, 500));
/// ```
pub fn streaming<R>(body: impl FnOnce(&mut Streaming) -> R) -> Result<R> {
    streaming_with(true, body)
}

/// [`streaming`] choosing teardown: without it a failing stage ends only its own stream
/// (its consumers end in turn, the others run on); the region still returns the failure.
pub fn streaming_with<R>(teardown: bool, body: impl FnOnce(&mut Streaming) -> R) -> Result<R> {
    run(teardown, None, body)
}

fn run<R>(
    teardown: bool,
    ctx: Option<Context>,
    body: impl FnOnce(&mut Streaming) -> R,
) -> Result<R> {
    let mut s = Streaming::new(teardown, ctx);
    let out = body(&mut s);
    s.launch().map(|()| out)
}

/// Streaming regions opened from a [`Context`] (`ctx.streaming(|s| ...)`, as
/// `ctx.datadeps(...)`).
pub trait StreamingExt {
    /// Runs `body` as a streaming region: see [`streaming`].
    fn streaming<R>(&self, body: impl FnOnce(&mut Streaming) -> R) -> Result<R>;
    /// Runs `body` as a streaming region with teardown on or off: see [`streaming_with`].
    fn streaming_with<R>(
        &self,
        teardown: bool,
        body: impl FnOnce(&mut Streaming) -> R,
    ) -> Result<R>;
}

impl StreamingExt for Context {
    fn streaming<R>(&self, body: impl FnOnce(&mut Streaming) -> R) -> Result<R> {
        run(true, Some(self.clone()), body)
    }
    fn streaming_with<R>(
        &self,
        teardown: bool,
        body: impl FnOnce(&mut Streaming) -> R,
    ) -> Result<R> {
        run(teardown, Some(self.clone()), body)
    }
}
