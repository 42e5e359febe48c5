//! The array library's own lazy task graph: [`Node`]s that become scheduler tasks when a
//! computation is lowered.
//!
//! Unlike a plain `dagger_sched::Thunk`, a node graph is lowered for *several* roots at once
//! (every block of an array) with one memo, so a block shared by many consumers (a matrix
//! product reads each input block many times) is spawned once without `cache`; the memo is
//! dropped after submission, so an intermediate block is released as soon as its consumers
//! ran. A [`Node`] may also be a *switch* between a fused and an unfused form of the same
//! value: the lowering's [`ArrayOptions`] pick one (see [`crate::fuse`]); or between a
//! plan for several processes and one for a single process (see [`crate::sort`]).

use crate::element::Element;
use crate::kernel::named::Kernel;
use crate::mem::BlockValue;
use crate::names::{named, or_named};
use dagger_core::{Options, Result};
use dagger_sched::{All, Context, DTask, Val};
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_NODE: AtomicU64 = AtomicU64::new(1);

/// How a lazy array computation is lowered to tasks.
///
/// ```
/// use dagger_array::{ArrayOptions, Blocks, DArray};
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let x = DArray::<f64>::ones(&Blocks::from([2, 2]), &[4, 4]).unwrap();
/// let y = x.map(|v| v + 1.0).map(|v| v * 3.0);
/// let off = ArrayOptions { fuse: false };
/// assert_eq!(y.sum().collect_with(&ctx, &off).unwrap(), 96.0);
/// assert_eq!(y.sum().collect(&ctx).unwrap(), 96.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayOptions {
    /// Fuse chains of element-wise operations (and a reduction over them) into one task per
    /// block. On by default.
    pub fuse: bool,
}

impl Default for ArrayOptions {
    fn default() -> Self {
        Self { fuse: true }
    }
}

/// The tasks spawned so far in one lowering, by node id.
pub(crate) struct Memo {
    ctx: Context,
    /// Where closure tasks are spawned: `ctx`, or on a cluster a view of it restricted to
    /// this process. A closure runs only here anyway; the view lets a caller restrict
    /// `ctx` to worker processes (`ctx.with_workers(..)`, so every block kernel runs where
    /// there is a memory pool) and still run the driver-side steps (metadata of `save`,
    /// assembly of `collect`/`index`).
    here: Context,
    fuse: bool,
    /// Whether the context has worker processes besides this one.
    cluster: bool,
    tasks: HashMap<u64, Box<dyn Any + Send + Sync>>,
}

impl Memo {
    fn get<R: Send + Sync + 'static>(&self, id: u64) -> DTask<R> {
        match self
            .tasks
            .get(&id)
            .and_then(|b| b.downcast_ref::<DTask<R>>())
        {
            Some(t) => t.clone(),
            // A node is always lowered after its inputs (post-order walk below), and ids
            // are unique per node, so the lookup cannot miss.
            None => unreachable!("node {id} is lowered before anything that uses it"),
        }
    }
}

/// A node of any result type, as the lowering walk sees it.
pub(crate) trait AnyNode: Send + Sync {
    fn id(&self) -> u64;
    fn inputs(&self, fuse: bool, cluster: bool) -> Vec<Arc<dyn AnyNode>>;
    fn lower(&self, memo: &mut Memo);
    /// The task's name and site; `None` for a switch or a computed value.
    fn site(&self) -> Option<Site>;
}

type Make<R> = Box<dyn Fn(&Memo) -> DTask<R> + Send + Sync>;

/// What a task node is called and where it can run: in the driver (a closure, which cannot
/// travel) or on whichever process the scheduler picks (a registered function). Only
/// `Debug` of an array reads it.
#[derive(Clone)]
pub(crate) struct Site {
    name: Option<Arc<str>>,
    in_driver: bool,
}

impl Site {
    /// A closure task: it runs in the driver process.
    fn driver(opts: &Options) -> Self {
        Self {
            name: opts.name.clone(),
            in_driver: true,
        }
    }

    /// A registered-function task: it runs where the scheduler places it.
    fn anywhere(opts: &Options) -> Self {
        Self {
            name: opts.name.clone(),
            in_driver: false,
        }
    }
}

enum Body<R> {
    /// A task: built from its inputs' tasks.
    Task {
        site: Site,
        inputs: Vec<Arc<dyn AnyNode>>,
        make: Make<R>,
    },
    /// The same value computed two ways; `fused` is taken when fusion is on.
    Switch { fused: Node<R>, unfused: Node<R> },
    /// The same value computed two ways; `cluster` is taken on a context with worker
    /// processes, `local` on one process.
    Placed { cluster: Node<R>, local: Node<R> },
    /// An already computed value.
    Done(DTask<R>),
}

struct Inner<R> {
    id: u64,
    body: Body<R>,
}

impl<R: Send + Sync + 'static> AnyNode for Inner<R> {
    fn id(&self) -> u64 {
        self.id
    }

    fn inputs(&self, fuse: bool, on_cluster: bool) -> Vec<Arc<dyn AnyNode>> {
        match &self.body {
            Body::Task { inputs, .. } => inputs.clone(),
            Body::Switch { fused, unfused } => {
                vec![if fuse { fused } else { unfused }.inner.clone()]
            }
            Body::Placed { cluster, local } => {
                vec![if on_cluster { cluster } else { local }.inner.clone()]
            }
            Body::Done(_) => Vec::new(),
        }
    }

    fn lower(&self, memo: &mut Memo) {
        let task = match &self.body {
            Body::Task { make, .. } => make(memo),
            Body::Switch { fused, unfused } => {
                memo.get::<R>(if memo.fuse { fused } else { unfused }.inner.id)
            }
            Body::Placed { cluster, local } => {
                memo.get::<R>(if memo.cluster { cluster } else { local }.inner.id)
            }
            Body::Done(t) => t.clone(),
        };
        memo.tasks.insert(self.id, Box::new(task));
    }

    fn site(&self) -> Option<Site> {
        match &self.body {
            Body::Task { site, .. } => Some(site.clone()),
            _ => None,
        }
    }
}

/// A lazy value of type `R` in the array library's graph.
pub struct Node<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for Node<R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<R> std::fmt::Debug for Node<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({})", self.inner.id)
    }
}

fn new_node<R: Send + Sync + 'static>(body: Body<R>) -> Node<R> {
    Node {
        inner: Arc::new(Inner {
            id: NEXT_NODE.fetch_add(1, Ordering::Relaxed),
            body,
        }),
    }
}

fn task_node<R: Send + Sync + 'static>(
    site: Site,
    inputs: Vec<Arc<dyn AnyNode>>,
    make: Make<R>,
) -> Node<R> {
    new_node(Body::Task { site, inputs, make })
}

impl<R: Clone + Send + Sync + 'static> Node<R> {
    /// The node's id (unique in this process).
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    fn any(&self) -> Arc<dyn AnyNode> {
        self.inner.clone()
    }

    /// A value that is already computed (a chunk's task).
    pub(crate) fn done(t: DTask<R>) -> Self {
        new_node(Body::Done(t))
    }

    /// `cluster` when the lowering's context has worker processes, else `local`.
    pub(crate) fn placed(cluster: Node<R>, local: Node<R>) -> Self {
        new_node(Body::Placed { cluster, local })
    }

    /// `fused` when fusion is on, else `unfused`.
    pub(crate) fn switch(fused: Node<R>, unfused: Node<R>) -> Self {
        new_node(Body::Switch { fused, unfused })
    }

    /// A task with no inputs.
    pub(crate) fn task0(opts: Options, f: impl Fn() -> R + Send + Sync + 'static) -> Self {
        let f = Arc::new(f);
        task_node(
            Site::driver(&opts),
            vec![],
            Box::new(move |m| {
                let f = f.clone();
                m.here.spawn_with(&opts, move |()| f(), ())
            }),
        )
    }

    /// A task named `name` on one input.
    pub(crate) fn task1<A: Clone + Send + Sync + 'static>(
        name: &str,
        a: &Node<A>,
        f: impl Fn(A) -> R + Send + Sync + 'static,
    ) -> Self {
        let f = Arc::new(f);
        let ia = a.id();
        let opts = named(name);
        task_node(
            Site::driver(&opts),
            vec![a.any()],
            Box::new(move |m| {
                let f = f.clone();
                m.here
                    .spawn_with(&opts, move |(a,)| f(a), (m.get::<A>(ia),))
            }),
        )
    }

    /// A task named `name` on two inputs.
    pub(crate) fn task2<A, B>(
        name: &str,
        a: &Node<A>,
        b: &Node<B>,
        f: impl Fn(A, B) -> R + Send + Sync + 'static,
    ) -> Self
    where
        A: Clone + Send + Sync + 'static,
        B: Clone + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let (ia, ib) = (a.id(), b.id());
        let opts = named(name);
        task_node(
            Site::driver(&opts),
            vec![a.any(), b.any()],
            Box::new(move |m| {
                let f = f.clone();
                m.here.spawn_with(
                    &opts,
                    move |(a, b)| f(a, b),
                    (m.get::<A>(ia), m.get::<B>(ib)),
                )
            }),
        )
    }

    /// A task on any number of inputs of one type (received in order), with options.
    pub(crate) fn task_all<A: Clone + Send + Sync + 'static>(
        opts: Options,
        xs: &[Node<A>],
        f: impl Fn(Vec<A>) -> R + Send + Sync + 'static,
    ) -> Self {
        let f = Arc::new(f);
        let ids: Vec<u64> = xs.iter().map(Node::id).collect();
        let mut seen = HashSet::new();
        let inputs = xs
            .iter()
            .filter(|x| seen.insert(x.id()))
            .map(Node::any)
            .collect();
        task_node(
            Site::driver(&opts),
            inputs,
            Box::new(move |m| {
                let f = f.clone();
                let deps = All(ids.iter().map(|&i| m.get::<A>(i)).collect());
                m.here.spawn_with(&opts, move |(v,)| f(v), (deps,))
            }),
        )
    }
}

/// The distinct inputs of a task on `xs` (a node read twice is one input of the graph).
fn distinct<A: Clone + Send + Sync + 'static>(xs: &[Node<A>]) -> Vec<Arc<dyn AnyNode>> {
    let mut seen = HashSet::new();
    xs.iter()
        .filter(|x| seen.insert(x.id()))
        .map(Node::any)
        .collect()
}

/// A block task running the named kernel `k` on the blocks `xs` (in order): a registered
/// function of `T` (see [`crate::remote`]), so it runs on whichever process the scheduler
/// picks. On a context without a cluster it runs in place with no encoding.
pub(crate) fn kernel_node<T: Element>(
    opts: Options,
    k: Kernel<T>,
    xs: &[Node<BlockValue<T>>],
) -> Node<BlockValue<T>> {
    let ids: Vec<u64> = xs.iter().map(Node::id).collect();
    // Named once per node; lowering only borrows the options.
    let opts = or_named(opts, || k.task_name());
    task_node(
        Site::anywhere(&opts),
        distinct(xs),
        Box::new(move |m| {
            let set = T::kernels();
            let k = Val(k.clone());
            let g = |i: &u64| m.get::<BlockValue<T>>(*i);
            match ids.as_slice() {
                [] => m.ctx.spawn_registered_with(&opts, set.k0, (k,)),
                [a] => m.ctx.spawn_registered_with(&opts, set.k1, (k, g(a))),
                [a, b] => m.ctx.spawn_registered_with(&opts, set.k2, (k, g(a), g(b))),
                [a, b, c] => m
                    .ctx
                    .spawn_registered_with(&opts, set.k3, (k, g(a), g(b), g(c))),
                [a, b, c, d] => {
                    m.ctx
                        .spawn_registered_with(&opts, set.k4, (k, g(a), g(b), g(c), g(d)))
                }
                [a, b, c, d, e] => {
                    m.ctx
                        .spawn_registered_with(&opts, set.k5, (k, g(a), g(b), g(c), g(d), g(e)))
                }
                many => m.ctx.spawn_registered_with(
                    &opts,
                    set.kall,
                    (k, All(many.iter().map(g).collect())),
                ),
            }
        }),
    )
}

/// A task computing a reduction's partial result (a number) with the named kernel `k` from
/// the blocks `xs`: a registered function, like [`kernel_node`].
pub(crate) fn partial_node<T: Element>(
    k: Kernel<T>,
    xs: &[Node<BlockValue<T>>],
) -> Node<Result<Option<T>>> {
    let ids: Vec<u64> = xs.iter().map(Node::id).collect();
    let o = Options::new().name(k.task_name());
    task_node(
        Site::anywhere(&o),
        distinct(xs),
        Box::new(move |m| {
            let set = T::kernels();
            let k = Val(k.clone());
            let g = |i: &u64| m.get::<BlockValue<T>>(*i);
            let o = &o;
            match ids.as_slice() {
                [a] => m.ctx.spawn_registered_with(o, set.p1, (k, g(a))),
                [a, b] => m.ctx.spawn_registered_with(o, set.p2, (k, g(a), g(b))),
                [a, b, c] => m
                    .ctx
                    .spawn_registered_with(o, set.p3, (k, g(a), g(b), g(c))),
                [a, b, c, d] => m
                    .ctx
                    .spawn_registered_with(o, set.p4, (k, g(a), g(b), g(c), g(d))),
                many => {
                    m.ctx
                        .spawn_registered_with(o, set.pall, (k, All(many.iter().map(g).collect())))
                }
            }
        }),
    )
}

/// A task computing one block's moments (count, mean, squared deviations) with a
/// registered kernel.
pub(crate) fn moments_node<T: Element>(
    b: &Node<BlockValue<T>>,
) -> Node<Result<crate::kernel::named::Moments>> {
    let id = b.id();
    let opts = named("moments");
    task_node(
        Site::anywhere(&opts),
        vec![b.any()],
        Box::new(move |m| {
            let k = Val(Kernel::<T>::Moments);
            m.ctx
                .spawn_registered_with(&opts, T::kernels().m1, (k, m.get::<BlockValue<T>>(id)))
        }),
    )
}

/// `opts` kept off this process when the lowering's context has worker processes: the
/// workers hold blocks in a memory pool that spills, the driver does not, so a block that
/// is loaded or saved there would escape the pool's limit (out-of-core runs).
fn off_driver(m: &Memo, opts: &Options) -> Options {
    if !m.cluster {
        return opts.clone();
    }
    let me = m.ctx.worker_id();
    let others = m
        .ctx
        .live_workers()
        .into_iter()
        .filter(|w| *w != me)
        .map(dagger_core::Scope::Process);
    match dagger_core::Scope::union(others) {
        Ok(s) => opts.clone().scope(s),
        // Every worker process is gone: let the scheduler report it (or use the driver).
        Err(_) => opts.clone(),
    }
}

/// A task writing block `index` of an array saved at `path` (a registered function): only
/// the block's small record comes back. On a cluster it runs on a worker process (see
/// [`off_driver`]), where the block lives unless the block was made in the driver.
pub(crate) fn save_node<T: Element>(
    path: Arc<std::path::PathBuf>,
    index: usize,
    b: &Node<BlockValue<T>>,
) -> Node<Result<crate::io::format::SavedBlock>> {
    let id = b.id();
    let opts = named("save block");
    task_node(
        Site::anywhere(&opts),
        vec![b.any()],
        Box::new(move |m| {
            let args = (Val((*path).clone()), Val(index), m.get::<BlockValue<T>>(id));
            m.ctx
                .spawn_registered_with(&off_driver(m, &opts), T::kernels().save, args)
        }),
    )
}

/// A task reading one block of a saved array (a registered function). On a cluster it
/// runs on a worker process (see [`off_driver`]), so a loaded block lives on the worker
/// that read it, in its pool, and never passes through the driver.
pub(crate) fn load_node<T: Element>(
    path: Arc<std::path::PathBuf>,
    entry: crate::io::format::SavedBlock,
    shape: Vec<usize>,
) -> Node<BlockValue<T>> {
    let opts = named("load block");
    task_node(
        Site::anywhere(&opts),
        vec![],
        Box::new(move |m| {
            let args = (Val((*path).clone()), Val(entry.clone()), Val(shape.clone()));
            m.ctx
                .spawn_registered_with(off_driver(m, &opts), T::kernels().load, args)
        }),
    )
}

/// A comparison task on one or two blocks (0/1 bytes out): a registered function.
pub(crate) fn compare_node<T: Element>(
    k: Kernel<T>,
    xs: &[Node<BlockValue<T>>],
) -> Node<BlockValue<u8>> {
    let ids: Vec<u64> = xs.iter().map(Node::id).collect();
    let o = Options::new().name(k.task_name());
    task_node(
        Site::anywhere(&o),
        distinct(xs),
        Box::new(move |m| {
            let set = T::kernels();
            let k = Val(k.clone());
            let g = |i: &u64| m.get::<BlockValue<T>>(*i);
            let o = &o;
            match ids.as_slice() {
                [a, b] => m.ctx.spawn_registered_with(o, set.c2, (k, g(a), g(b))),
                [a, ..] => m.ctx.spawn_registered_with(o, set.c1, (k, g(a))),
                // This crate builds comparisons of one or two arrays only.
                [] => unreachable!("a comparison reads at least one block"),
            }
        }),
    )
}

/// Lowers the graph below `roots` to scheduler tasks (each node once) and returns the roots'
/// tasks. Nothing else is kept: intermediate tasks live only as long as the scheduler needs
/// them.
pub(crate) fn lower<R: Clone + Send + Sync + 'static>(
    ctx: &Context,
    opts: &ArrayOptions,
    roots: &[Node<R>],
) -> Vec<DTask<R>> {
    let cluster = ctx.workers().len() > 1;
    let mut memo = Memo {
        ctx: ctx.clone(),
        here: if cluster {
            ctx.with_workers(&[ctx.worker_id()])
                .unwrap_or_else(|_| ctx.clone())
        } else {
            ctx.clone()
        },
        fuse: opts.fuse,
        cluster,
        tasks: HashMap::new(),
    };
    let (fuse, cluster) = (memo.fuse, memo.cluster);
    post_order(roots, fuse, cluster, |n| n.lower(&mut memo));
    roots.iter().map(|r| memo.get::<R>(r.id())).collect()
}

/// Visits every node below `roots` once, inputs before the nodes that read them, taking
/// the branches a lowering with `fuse` on a context with or without a `cluster` takes.
fn post_order<R: Clone + Send + Sync + 'static>(
    roots: &[Node<R>],
    fuse: bool,
    cluster: bool,
    mut visit: impl FnMut(&Arc<dyn AnyNode>),
) {
    let mut seen = HashSet::new();
    // Iterative: long chains must not overflow the stack.
    let mut stack: Vec<(Arc<dyn AnyNode>, bool)> =
        roots.iter().rev().map(|r| (r.any(), false)).collect();
    while let Some((n, expanded)) = stack.pop() {
        if expanded {
            visit(&n);
            continue;
        }
        if !seen.insert(n.id()) {
            continue;
        }
        stack.push((n.clone(), true));
        for i in n.inputs(fuse, cluster).iter().rev() {
            if !seen.contains(&i.id()) {
                stack.push((i.clone(), false));
            }
        }
    }
}

/// Writes `; to run: ` and the tasks a default lowering of `roots` on a cluster would
/// spawn, grouped by name and site in the order they first run (`ones ×4 [any process],
/// map ×4 [driver]`); nothing for a computed value. Closures run in the `[driver]`, which
/// is where they were made; registered kernels run on `[any process]`.
pub(crate) fn fmt_pending<R: Clone + Send + Sync + 'static>(
    f: &mut std::fmt::Formatter<'_>,
    roots: &[Node<R>],
) -> std::fmt::Result {
    let mut groups: Vec<(Arc<str>, bool, usize)> = Vec::new();
    post_order(roots, ArrayOptions::default().fuse, true, |n| {
        let Some(site) = n.site() else { return };
        let name = site.name.unwrap_or_else(|| Arc::from("unnamed"));
        match groups
            .iter_mut()
            .find(|(g, d, _)| *d == site.in_driver && **g == *name)
        {
            Some(g) => g.2 += 1,
            None => groups.push((name, site.in_driver, 1)),
        }
    });
    for (i, (name, in_driver, n)) in groups.iter().enumerate() {
        let sep = if i == 0 { "; to run: " } else { ", " };
        let site = if *in_driver { "driver" } else { "any process" };
        write!(f, "{sep}{name} ×{n} [{site}]")?;
    }
    Ok(())
}

/// A task running the registered function `f` on one node's value and a plain value `p`:
/// it runs wherever the scheduler places it (next to the input, on a cluster).
pub(crate) fn registered1<A, P, R>(
    name: &str,
    f: dagger_sched::Registered<(A, P), R>,
    a: &Node<A>,
    p: P,
) -> Node<R>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    P: serde::Serialize + Clone + Send + Sync + 'static,
    R: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    registered1_with(named(name), f, a, p)
}

/// [`registered1`] with the task's options (a scope, for an in-place update).
pub(crate) fn registered1_with<A, P, R>(
    opts: Options,
    f: dagger_sched::Registered<(A, P), R>,
    a: &Node<A>,
    p: P,
) -> Node<R>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    P: serde::Serialize + Clone + Send + Sync + 'static,
    R: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let ia = a.id();
    task_node(
        Site::anywhere(&opts),
        vec![a.any()],
        Box::new(move |m| {
            m.ctx
                .spawn_registered_with(&opts, f, (m.get::<A>(ia), Val(p.clone())))
        }),
    )
}

/// [`registered1`] on two nodes' values.
pub(crate) fn registered2<A, B, P, R>(
    name: &str,
    f: dagger_sched::Registered<(A, B, P), R>,
    a: &Node<A>,
    b: &Node<B>,
    p: P,
) -> Node<R>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    B: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    P: serde::Serialize + Clone + Send + Sync + 'static,
    R: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let (ia, ib, opts) = (a.id(), b.id(), named(name));
    task_node(
        Site::anywhere(&opts),
        vec![a.any(), b.any()],
        Box::new(move |m| {
            m.ctx
                .spawn_registered_with(&opts, f, (m.get::<A>(ia), m.get::<B>(ib), Val(p.clone())))
        }),
    )
}

/// [`registered1`] on the values of many nodes (in order; by reference on a cluster).
pub(crate) fn registered_all<A, P, R>(
    name: &str,
    f: dagger_sched::Registered<(Vec<A>, P), R>,
    xs: &[Node<A>],
    p: P,
) -> Node<R>
where
    A: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    P: serde::Serialize + Clone + Send + Sync + 'static,
    R: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let ids: Vec<u64> = xs.iter().map(Node::id).collect();
    let opts = named(name);
    task_node(
        Site::anywhere(&opts),
        distinct(xs),
        Box::new(move |m| {
            let deps = All(ids.iter().map(|&i| m.get::<A>(i)).collect());
            m.ctx
                .spawn_registered_with(&opts, f, (deps, Val(p.clone())))
        }),
    )
}
