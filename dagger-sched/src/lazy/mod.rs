//! The lazy API: [`delayed`] builds a graph of [`Thunk`]s; `compute` runs it and returns a
//! [`Chunk`]; `collect` returns the value. [`Thunk::try_delayed`] makes a thunk whose function
//! fails it by returning `Err`.
//!
//! Nothing runs until `compute`. Each thunk runs once per computation even when several
//! others use it. Intermediate results are released as soon as their consumers have run,
//! unless the thunk's options say `persist` (keep the result while the thunk lives) or
//! `cache` (keep it and reuse it in later computations).

// The thunk's node, the memo of a computation, the traits the walk sees thunks through.
mod node;

use crate::args::{for_plain_types, Args, IntoArg, IntoArgs, Meta, Val, ValuesOf};
use crate::cluster::lineage::RemoteArgs;
use crate::cluster::registry::Registered;
use crate::context::state::Context;
use crate::handle::{Chunk, DTask};
use dagger_core::{Error, Options, Result, Scope};
use node::{Body, Node, TypedThunk};
use serde::{de::DeserializeOwned, Serialize};
use std::fmt;
use std::sync::Arc;

pub use node::{AnyThunk, Memo, ThunkArg};

/// The body of a closure thunk: lazy arguments and the function.
struct Closure<L, F>(L, F);

impl<L, F, R> Body<R> for Closure<L, F>
where
    L: LazyArgs,
    F: Fn(ValuesOf<L::Eager>) -> R + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        self.0.visit_inputs(f)
    }

    fn spawn(node: &Arc<Node<R, Self>>, ctx: &Context, memo: &Memo) -> DTask<R> {
        // The task holds the node (for its function) until its body runs: no separate
        // shared copy of the function per thunk.
        let n = node.clone();
        ctx.spawn_inner(
            node.opts(),
            node.body.0.spawn_args(memo).into_args(),
            move |v| Ok((n.body.1)(v)),
        )
    }
}

/// The body of a fallible closure thunk: its `Err` fails the task, as
/// [`Context::try_spawn`](crate::Context::try_spawn)'s does.
struct TryClosure<L, F>(L, F);

impl<L, F, R, E> Body<R> for TryClosure<L, F>
where
    L: LazyArgs,
    F: Fn(ValuesOf<L::Eager>) -> std::result::Result<R, E> + Send + Sync + 'static,
    R: Send + Sync + 'static,
    E: fmt::Display,
{
    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        self.0.visit_inputs(f)
    }

    fn spawn(node: &Arc<Node<R, Self>>, ctx: &Context, memo: &Memo) -> DTask<R> {
        let n = node.clone();
        ctx.spawn_inner(
            node.opts(),
            node.body.0.spawn_args(memo).into_args(),
            // Why not a panic: unwinding was most of a failing leaf's cost (and Rust code
            // fails by returning). The error is formatted once, at the root; its dependents
            // share that failure.
            move |v| (n.body.1)(v).map_err(|e| Error::User(e.to_string())),
        )
    }
}

/// The body of a registered-function thunk.
struct Remote<L, V, R>(L, Registered<V, R>);

impl<L, V, R> Body<R> for Remote<L, V, R>
where
    L: LazyArgs,
    <L::Eager as IntoArgs>::Args: RemoteArgs + Args<Values = V>,
    V: Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        self.0.visit_inputs(f)
    }

    fn spawn(node: &Arc<Node<R, Self>>, ctx: &Context, memo: &Memo) -> DTask<R> {
        ctx.spawn_registered_inner(node.opts(), node.body.1, node.body.0.spawn_args(memo))
    }
}

/// A lazy task: a function and its arguments, some of them other thunks.
///
/// ```
/// use dagger_sched::{delayed, Context};
/// let ctx = Context::builder().threads(2).build();
/// let p = delayed(|(x,)| x + 1, (42,));
/// let q = delayed(|(p,)| p * 2, (&p,));
/// let r = delayed(|(x,)| x - 1, (53,));
/// let s = delayed(|(p, q, r)| p + q + r, (&p, &q, &r));
/// assert_eq!(s.collect(&ctx).unwrap(), 43 + 86 + 52);
/// let c = s.compute(&ctx).unwrap();           // a Chunk, kept where it was computed
/// assert_eq!(c.collect().unwrap(), 181);
/// ```
pub struct Thunk<T> {
    node: Arc<dyn TypedThunk<T>>,
}

impl<T> Clone for Thunk<T> {
    fn clone(&self) -> Self {
        Thunk {
            node: self.node.clone(),
        }
    }
}

impl<T> fmt::Debug for Thunk<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut inputs = 0;
        self.node.visit_inputs(&mut |_| inputs += 1);
        write!(f, "Thunk({}, {inputs} inputs)", self.node.id())
    }
}

impl<T: Send + Sync + 'static> Thunk<T> {
    /// Makes a fallible thunk (the lazy [`Context::try_spawn`](crate::Context::try_spawn); a
    /// method, not one more root name): `f` applied to `args`, run at `compute`; an `Err` fails the
    /// thunk's task with that error as the root cause, and its dependents with
    /// `DTaskFailedException` naming it, without a panic. A panic in `f` still fails the task.
    ///
    /// ```
    /// use dagger_sched::{delayed, Context, Thunk};
    /// let ctx = Context::builder().threads(1).build();
    /// let half = |(x,): (u32,)| if x % 2 == 0 { Ok(x / 2) } else { Err(format!("{x} is odd")) };
    /// assert_eq!(Thunk::try_delayed(half, (42u32,)).collect(&ctx).unwrap(), 21);
    /// let bad = Thunk::try_delayed(half, (7u32,));
    /// let after = delayed(|(h,)| h + 1, (&bad,));
    /// let msg = after.collect(&ctx).unwrap_err().to_string();
    /// assert!(msg.contains("7 is odd") && msg.contains("Root Task"), "{msg}");
    /// ```
    pub fn try_delayed<A, F, E>(f: F, args: A) -> Thunk<T>
    where
        A: IntoLazyArgs,
        F: Fn(LazyValuesOf<A>) -> std::result::Result<T, E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        Self::try_delayed_with(Options::default(), f, args)
    }

    /// [`Thunk::try_delayed`] with options, given first, owned or borrowed.
    pub fn try_delayed_with<A, F, E>(opts: impl Into<Options>, f: F, args: A) -> Thunk<T>
    where
        A: IntoLazyArgs,
        F: Fn(LazyValuesOf<A>) -> std::result::Result<T, E> + Send + Sync + 'static,
        E: fmt::Display,
    {
        thunk(opts.into(), TryClosure(args.into_lazy(), f))
    }

    /// The thunk's id (unique in this process).
    pub fn id(&self) -> u64 {
        self.node.id()
    }

    /// The options it was made with.
    pub fn options(&self) -> &Options {
        self.node.options()
    }

    /// Runs the graph below this thunk and waits for it; the result stays where it was
    /// computed, as a [`Chunk`]. A failure anywhere below is returned as the error.
    pub fn compute(&self, ctx: &Context) -> Result<Chunk<T>> {
        let task = self.submit(ctx);
        let scope = self
            .node
            .options()
            .result_scope
            .clone()
            .unwrap_or(Scope::Any);
        task.chunk().map(|c| c.with_scope(scope))
    }

    /// Spawns the graph below this thunk without waiting; returns the eager handle.
    pub fn submit(&self, ctx: &Context) -> DTask<T> {
        let mut memo = Memo::new();
        // The nodes this computation spawned, to empty their slots at the end.
        let mut done: Vec<&dyn ThunkArg> = Vec::new();
        // Iterative post-order: deep chains must not overflow the stack. The walk borrows
        // the arguments that name the nodes (the root keeps the graph alive), and the slots
        // double as the set of nodes seen: a node is expanded once, since everything pushed
        // above it is submitted before a second copy of it is popped.
        let mut stack: Vec<(&dyn ThunkArg, bool)> = vec![(self, false)];
        while let Some((t, expanded)) = stack.pop() {
            if expanded {
                if t.submit(ctx, &mut memo) {
                    done.push(t);
                }
                continue;
            }
            let n = t.node();
            if n.spawned_in(&memo) {
                continue;
            }
            stack.push((t, true));
            // Pushed in order, then turned around: the first input is spawned first.
            let first = stack.len();
            n.visit_inputs(&mut |i| {
                if !i.node().spawned_in(&memo) {
                    stack.push((i, false));
                }
            });
            stack[first..].reverse();
        }
        let task = lookup(&memo, &*self.node);
        // Thunks whose last consumer took their task have let go of their slot already;
        // when all but the root did (a tree), only the root's is left.
        if memo.released() + 1 == done.len() {
            self.node.forget(&memo);
        } else {
            for t in done {
                t.node().forget(&memo);
            }
        }
        task
    }

    /// Computes and returns the value (the reference's `collect`).
    pub fn collect(&self, ctx: &Context) -> Result<T>
    where
        T: Clone,
    {
        self.compute(ctx)?.fetch()
    }

    /// Computes and returns the graph's eager handle (alias of [`Thunk::submit`]).
    pub fn spawn(&self, ctx: &Context) -> DTask<T> {
        self.submit(ctx)
    }
}

/// `node`'s task, given up to its last consumer (see [`Memo`]).
fn take<T: Send + Sync + 'static>(memo: &Memo, node: &dyn TypedThunk<T>) -> DTask<T> {
    match node.take_in(memo) {
        Some(t) => t,
        None => unreachable!(
            "thunk {} is submitted before anything that uses it",
            node.id()
        ),
    }
}

fn lookup<T: Send + Sync + 'static>(memo: &Memo, node: &dyn TypedThunk<T>) -> DTask<T> {
    match node.task_in(memo) {
        Some(t) => t,
        None => unreachable!(
            "thunk {} is submitted before anything that uses it",
            node.id()
        ),
    }
}

/// One lazy argument: a thunk, a chunk, or a plain value.
pub trait LazyArg: Send + Sync + 'static {
    /// What it becomes once the graph is submitted.
    type Eager: IntoArg;
    /// Calls `f` with the thunk it stands for, if any (plain values and chunks: none).
    #[doc(hidden)]
    fn visit_input<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        let _ = f;
    }
    /// The eager argument, given the tasks spawned so far.
    fn materialize(&self, memo: &Memo) -> Self::Eager;
    /// The eager argument for the one spawn of the thunk that holds this argument (a thunk
    /// input may then give its task up instead of cloning it). Call it only there: each
    /// thunk counts its inputs once, and each such call uses one count up.
    #[doc(hidden)]
    fn spawn_arg(&self, memo: &Memo) -> Self::Eager {
        self.materialize(memo)
    }
}

/// Anything usable as a lazy argument.
pub trait IntoLazyArg {
    /// The stored form.
    type Lazy: LazyArg;
    /// Converts.
    fn into_lazy(self) -> Self::Lazy;
}

/// A tuple of lazy arguments.
pub trait LazyArgs: Send + Sync + 'static {
    /// The eager tuple it becomes.
    type Eager: IntoArgs;
    /// Calls `f` with each thunk among the arguments, in order.
    fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg));
    /// The eager arguments.
    fn materialize(&self, memo: &Memo) -> Self::Eager;
    /// The eager arguments for the one spawn of the thunk that holds them (see
    /// [`LazyArg::spawn_arg`]).
    #[doc(hidden)]
    fn spawn_args(&self, memo: &Memo) -> Self::Eager {
        self.materialize(memo)
    }
}

/// A tuple of things convertible to lazy arguments: what [`delayed`] takes.
pub trait IntoLazyArgs {
    /// The stored tuple.
    type Lazy: LazyArgs;
    /// Converts.
    fn into_lazy(self) -> Self::Lazy;
}

impl<T: Send + Sync + 'static> ThunkArg for Thunk<T> {
    fn node(&self) -> &dyn AnyThunk {
        &*self.node
    }
    fn submit(&self, ctx: &Context, memo: &mut Memo) -> bool {
        self.node.clone().submit(ctx, memo)
    }
}

impl<T: Send + Sync + 'static + Clone> LazyArg for Thunk<T> {
    type Eager = DTask<T>;
    fn visit_input<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        f(self)
    }
    fn materialize(&self, memo: &Memo) -> DTask<T> {
        lookup(memo, &*self.node)
    }
    fn spawn_arg(&self, memo: &Memo) -> DTask<T> {
        take(memo, &*self.node)
    }
}

impl<T: Send + Sync + 'static + Clone> IntoLazyArg for Thunk<T> {
    type Lazy = Thunk<T>;
    fn into_lazy(self) -> Thunk<T> {
        self
    }
}

impl<T: Send + Sync + 'static + Clone> IntoLazyArg for &Thunk<T> {
    type Lazy = Thunk<T>;
    fn into_lazy(self) -> Thunk<T> {
        self.clone()
    }
}

impl<T: Send + Sync + 'static + Clone> LazyArg for Chunk<T> {
    type Eager = Chunk<T>;
    fn materialize(&self, _: &Memo) -> Chunk<T> {
        self.clone()
    }
}

impl<T: Send + Sync + 'static + Clone> IntoLazyArg for Chunk<T> {
    type Lazy = Chunk<T>;
    fn into_lazy(self) -> Chunk<T> {
        self
    }
}

impl<T: Send + Sync + 'static + Clone> IntoLazyArg for &Chunk<T> {
    type Lazy = Chunk<T>;
    fn into_lazy(self) -> Chunk<T> {
        self.clone()
    }
}

impl<T: Clone + Send + Sync + 'static> LazyArg for Val<T> {
    type Eager = Val<T>;
    fn materialize(&self, _: &Memo) -> Val<T> {
        self.clone()
    }
}

impl<T: Clone + Send + Sync + 'static> IntoLazyArg for Val<T> {
    type Lazy = Val<T>;
    fn into_lazy(self) -> Val<T> {
        self
    }
}

macro_rules! plain_lazy_args {
    ($($t:ty),*) => {$(
        impl IntoLazyArg for $t {
            type Lazy = Val<$t>;
            fn into_lazy(self) -> Val<$t> { Val(self) }
        }
    )*};
}
for_plain_types!(plain_lazy_args);

impl<T: Clone + Send + Sync + 'static> IntoLazyArg for Vec<T> {
    type Lazy = Val<Vec<T>>;
    fn into_lazy(self) -> Val<Vec<T>> {
        Val(self)
    }
}

/// A thunk input passed as its [`Chunk`] (built by [`delayed_meta`]).
#[derive(Debug)]
pub struct MetaThunk<T>(Thunk<T>);

impl<T: Send + Sync + 'static> LazyArg for MetaThunk<T> {
    type Eager = Meta<T>;
    fn visit_input<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
        f(&self.0)
    }
    fn materialize(&self, memo: &Memo) -> Meta<T> {
        Meta(lookup(memo, &*self.0.node))
    }
    fn spawn_arg(&self, memo: &Memo) -> Meta<T> {
        Meta(take(memo, &*self.0.node))
    }
}

/// Tuples of thunks that [`delayed_meta`] passes as chunks.
pub trait IntoMetaArgs {
    /// The stored tuple.
    type Lazy: LazyArgs;
    /// Converts.
    fn into_meta(self) -> Self::Lazy;
}

macro_rules! tuple_lazy {
    ($($n:ident $v:ident $m:ident),*) => {
        #[allow(clippy::unused_unit)]
        impl<$($n: LazyArg),*> LazyArgs for ($($n,)*) {
            type Eager = ($($n::Eager,)*);
            #[allow(unused_variables)]
            fn visit_inputs<'a>(&'a self, f: &mut dyn FnMut(&'a dyn ThunkArg)) {
                let ($($v,)*) = self;
                $($v.visit_input(f);)*
            }
            #[allow(unused_variables)]
            fn materialize(&self, memo: &Memo) -> Self::Eager {
                let ($($v,)*) = self;
                ($($v.materialize(memo),)*)
            }
            #[allow(unused_variables)]
            fn spawn_args(&self, memo: &Memo) -> Self::Eager {
                let ($($v,)*) = self;
                ($($v.spawn_arg(memo),)*)
            }
        }
        #[allow(clippy::unused_unit)]
        impl<$($n: IntoLazyArg),*> IntoLazyArgs for ($($n,)*) {
            type Lazy = ($($n::Lazy,)*);
            fn into_lazy(self) -> Self::Lazy {
                let ($($v,)*) = self;
                ($($v.into_lazy(),)*)
            }
        }
        #[allow(clippy::unused_unit)]
        impl<$($m: Send + Sync + 'static + Clone),*> IntoMetaArgs for ($(&Thunk<$m>,)*) {
            type Lazy = ($(MetaThunk<$m>,)*);
            fn into_meta(self) -> Self::Lazy {
                let ($($v,)*) = self;
                ($(MetaThunk($v.clone()),)*)
            }
        }
    };
}
tuple_lazy!();
tuple_lazy!(A a X);
tuple_lazy!(A a X, B b Y);
tuple_lazy!(A a X, B b Y, C c Z);
tuple_lazy!(A a X, B b Y, C c Z, D d W);
tuple_lazy!(A a X, B b Y, C c Z, D d W, E e V);
tuple_lazy!(A a X, B b Y, C c Z, D d W, E e V, F f U);

/// The values a lazy body receives for argument tuple `A`.
pub type LazyValuesOf<A> = ValuesOf<<<A as IntoLazyArgs>::Lazy as LazyArgs>::Eager>;

/// Makes a thunk: `f` applied to `args` (thunks, chunks, plain values), run at `compute`.
pub fn delayed<A, F, R>(f: F, args: A) -> Thunk<R>
where
    A: IntoLazyArgs,
    F: Fn(LazyValuesOf<A>) -> R + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    delayed_with(Options::default(), f, args)
}

/// [`delayed`] with options (`get_result`, `persist`, `cache`, `scope`, `name`, …), given
/// first, owned or borrowed.
///
/// ```
/// use dagger_sched::{delayed, delayed_with, Context, Options};
/// let ctx = Context::builder().threads(1).build();
/// let opts = Options::new().name("double").persist(true);
/// let a = delayed_with(&opts, |(x,)| 2 * x, (21,));
/// let b = delayed_with(opts, |(a,)| a + 0, (&a,));
/// assert_eq!(b.collect(&ctx).unwrap(), 42);
/// ```
pub fn delayed_with<A, F, R>(opts: impl Into<Options>, f: F, args: A) -> Thunk<R>
where
    A: IntoLazyArgs,
    F: Fn(LazyValuesOf<A>) -> R + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    make(opts.into(), f, args.into_lazy())
}

/// A thunk spawned by `body`.
fn thunk<T, B>(opts: Options, body: B) -> Thunk<T>
where
    T: Send + Sync + 'static,
    B: Body<T>,
{
    Thunk {
        node: Arc::new(Node::new(opts, body)),
    }
}

fn make<L, F, R>(opts: Options, f: F, lazy: L) -> Thunk<R>
where
    L: LazyArgs,
    F: Fn(ValuesOf<L::Eager>) -> R + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    thunk(opts, Closure(lazy, f))
}

/// A thunk running a registered function (see [`register!`](crate::register)), so a lazy
/// graph can run on worker processes: at `compute` it is spawned with
/// [`Context::spawn_registered`](crate::Context::spawn_registered).
///
/// ```
/// dagger_sched::register! { fn twice(x: i64) -> i64 { 2 * x } }
/// let ctx = dagger_sched::Context::builder().threads(1).build();
/// let a = dagger_sched::delayed_registered(TWICE, (21i64,));
/// let b = dagger_sched::delayed_registered(TWICE, (&a,));
/// assert_eq!(b.collect(&ctx).unwrap(), 84);
/// ```
pub fn delayed_registered<A, V, R>(f: Registered<V, R>, args: A) -> Thunk<R>
where
    A: IntoLazyArgs,
    <<A::Lazy as LazyArgs>::Eager as IntoArgs>::Args: RemoteArgs + Args<Values = V>,
    V: Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    delayed_registered_with(Options::default(), f, args)
}

/// [`delayed_registered`] with options, given first, owned or borrowed.
///
/// ```
/// use dagger_sched::{delayed_registered_with, Context, Options};
/// dagger_sched::register! { fn plus_one(x: i64) -> i64 { x + 1 } }
/// let ctx = dagger_sched::Context::builder().threads(1).build();
/// let opts = Options::new().name("plus one");
/// let a = delayed_registered_with(&opts, PLUS_ONE, (1i64,));
/// let b = delayed_registered_with(opts, PLUS_ONE, (&a,));
/// assert_eq!(b.collect(&ctx).unwrap(), 3);
/// ```
pub fn delayed_registered_with<A, V, R>(
    opts: impl Into<Options>,
    f: Registered<V, R>,
    args: A,
) -> Thunk<R>
where
    A: IntoLazyArgs,
    <<A::Lazy as LazyArgs>::Eager as IntoArgs>::Args: RemoteArgs + Args<Values = V>,
    V: Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    thunk(opts.into(), Remote(args.into_lazy(), f))
}

/// A thunk running a registered function: the former name of [`delayed_registered`].
#[deprecated(since = "0.1.0", note = "renamed to `delayed_registered`")]
pub fn delayed_fn<A, V, R>(f: Registered<V, R>, args: A) -> Thunk<R>
where
    A: IntoLazyArgs,
    <<A::Lazy as LazyArgs>::Eager as IntoArgs>::Args: RemoteArgs + Args<Values = V>,
    V: Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    delayed_registered(f, args)
}

/// [`delayed_fn`] with options: the former name of [`delayed_registered_with`], with its
/// former signature (owned options).
#[deprecated(since = "0.1.0", note = "renamed to `delayed_registered_with`")]
pub fn delayed_fn_with<A, V, R>(opts: Options, f: Registered<V, R>, args: A) -> Thunk<R>
where
    A: IntoLazyArgs,
    <<A::Lazy as LazyArgs>::Eager as IntoArgs>::Args: RemoteArgs + Args<Values = V>,
    V: Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    delayed_registered_with(opts, f, args)
}

/// A thunk whose body receives its input thunks as [`Chunk`]s, not values (the `meta`
/// option). It runs in the driver process.
///
/// ```
/// use dagger_sched::{delayed, delayed_meta, Context};
/// let ctx = Context::builder().threads(2).build();
/// let a = delayed(|()| 7u32, ());
/// let m = delayed_meta(|(c,)| (c.id(), c.owner()), (&a,));
/// let (_id, owner) = m.collect(&ctx).unwrap();
/// assert_eq!(owner, ctx.worker_id());
/// ```
pub fn delayed_meta<A, F, R>(f: F, args: A) -> Thunk<R>
where
    A: IntoMetaArgs,
    F: Fn(ValuesOf<<A::Lazy as LazyArgs>::Eager>) -> R + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    let opts = Options::new()
        .meta(true)
        .scope(Scope::Process(dagger_core::WorkerId::DRIVER));
    make(opts, f, args.into_meta())
}
