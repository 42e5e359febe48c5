//! [`Lazy`]: a lazily computed value (a reduction, an index result, a save), and the two
//! ways array code combines many nodes into one: a balanced [`tree`] and a [`gather`].

use crate::graph::{lower, ArrayOptions, Node};
use crate::names::named;
use crate::reduce;
use dagger_core::{Error, Result};
use dagger_sched::Context;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

/// A lazily computed value (a reduction, an index result, a save): [`Lazy::collect`] runs it.
pub struct Lazy<V> {
    pub(crate) node: Node<Result<V>>,
}

/// `Lazy(`, the node, the tasks computing it would spawn and where each runs (as for
/// `DArray`'s `Debug`), `)`.
impl<V: Clone + Send + Sync + 'static> std::fmt::Debug for Lazy<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lazy({:?}", self.node)?;
        crate::graph::fmt_pending(f, std::slice::from_ref(&self.node))?;
        f.write_str(")")
    }
}

impl<V> Clone for Lazy<V> {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
        }
    }
}

impl<V: Clone + Send + Sync + 'static> Lazy<V> {
    /// Runs the computation (fusion on) and returns its value.
    pub fn collect(&self, ctx: &Context) -> Result<V> {
        self.collect_with(ctx, &ArrayOptions::default())
    }

    /// Runs the computation lowered with `opts` and returns its value.
    pub fn collect_with(&self, ctx: &Context, opts: &ArrayOptions) -> Result<V> {
        let task = lower(ctx, opts, std::slice::from_ref(&self.node)).pop();
        match task {
            Some(t) => t.fetch()?,
            None => Err(Error::Scheduling("lazy value was not lowered".into())),
        }
    }

    /// The underlying graph node (to use as an input of other lazy values).
    pub fn node(&self) -> &Node<Result<V>> {
        &self.node
    }

    /// A lazy value computed from this one.
    pub fn then<W: Clone + Send + Sync + 'static>(
        &self,
        f: impl Fn(V) -> Result<W> + Send + Sync + 'static,
    ) -> Lazy<W> {
        Lazy {
            node: Node::task1("then", &self.node, move |v: Result<V>| f(v?)),
        }
    }
}

/// Combines nodes pairwise (a balanced tree, so partial results merge in parallel).
pub(crate) fn tree<V, F>(level: Vec<Node<Result<V>>>, f: F) -> Option<Node<Result<V>>>
where
    V: Clone + Send + Sync + 'static,
    F: Fn(V, V) -> Result<V> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let mut level = level;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            if let [a, b] = pair {
                let f = f.clone();
                next.push(Node::task2(
                    "combine",
                    a,
                    b,
                    move |a: Result<V>, b: Result<V>| f(a?, b?),
                ));
            } else {
                next.push(pair[0].clone());
            }
        }
        level = next;
    }
    level.pop()
}

/// Gathers nodes into one node of the vector of their values (in order).
pub(crate) fn gather<V: Clone + Send + Sync + 'static>(
    items: &[Node<Result<V>>],
) -> Node<Result<Vec<V>>> {
    Node::task_all(named("gather"), items, |vs| vs.into_iter().collect())
}

/// Julia's `reducebykey(f, c)` over a distributed collection of `(key, value)` pairs given
/// as parts: each part is reduced by its own task, then the per-part dictionaries are
/// merged pairwise.
///
/// ```
/// use dagger_array::darray::reducebykey;
/// let ctx = dagger_sched::Context::builder().threads(2).build();
/// let parts = vec![vec![("a", 1), ("b", 2)], vec![("a", 3)], vec![]];
/// let m = reducebykey(parts, |x, y| x + y).collect(&ctx).unwrap();
/// assert_eq!((m["a"], m["b"]), (4, 2));
/// ```
pub fn reducebykey<K, V, F>(parts: Vec<Vec<(K, V)>>, f: F) -> Lazy<HashMap<K, V>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Fn(V, V) -> V + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let maps = parts
        .into_iter()
        .map(|p| {
            let (f, p) = (f.clone(), Arc::new(p));
            Node::task0(named("reducebykey"), move || {
                Ok(reduce::reducebykey(p.iter().cloned(), |a, b| f(a, b)))
            })
        })
        .collect();
    let g = f.clone();
    let node = tree(maps, move |a, b| {
        Ok(reduce::merge_by_key(a, b, |x, y| g(x, y)))
    })
    .unwrap_or_else(|| Node::task0(named("reducebykey"), || Ok(HashMap::new())));
    Lazy { node }
}
