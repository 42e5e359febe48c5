//! Scopes: which processors a task (or a piece of data) may use.
//!
//! The algebra follows Dagger.jl's: [`Scope::Any`] and [`Scope::Default`] at the top, then
//! [`Scope::Node`], [`Scope::Process`], [`Scope::ProcessorType`] and [`Scope::Exact`] for
//! ever narrower sets, [`Scope::Union`] for alternatives and [`Scope::Invalid`] for an empty
//! intersection. [`Scope::constrain`] intersects; [`Scope::is_subset`] compares. A scope that
//! is the intersection of unlike constraints (threads of worker 2) is a [`Scope::Taint`].
//!
//! ```
//! use dagger_core::{Scope, ProcessorId, WorkerId};
//! let t1 = ProcessorId::thread(WorkerId(2), 1);
//! let t2 = ProcessorId::thread(WorkerId(2), 2);
//! let u = Scope::union([Scope::Exact(t1), Scope::Exact(t2)]).unwrap();
//! assert_eq!(u.constrain(&Scope::Exact(t1)), Scope::Union(vec![Scope::Exact(t1)]));
//! assert!(Scope::Exact(t1).is_subset(&Scope::Process(WorkerId(2))));
//! assert!(!Scope::Process(WorkerId(2)).is_subset(&Scope::Exact(t1)));
//! ```

use crate::error::{Error, Result};
use crate::ids::{NodeId, WorkerId};
use crate::processor::{ProcessorId, ProcessorInfo, ProcessorKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A set of processors.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Every processor.
    Any,
    /// Every default-enabled processor (CPU threads): what a task gets when it asks for nothing.
    Default,
    /// Processors of workers on one physical node.
    Node(NodeId),
    /// Processors of one worker process.
    Process(WorkerId),
    /// Processors of one kind.
    ProcessorType(ProcessorKind),
    /// Exactly one processor.
    Exact(ProcessorId),
    /// The conjunction of several unlike constraints (e.g. "threads of worker 2").
    Taint(Constraint),
    /// Any of these scopes. Built with [`Scope::union`], which flattens and deduplicates.
    Union(Vec<Scope>),
    /// The empty intersection of two scopes, kept for error messages.
    Invalid(Box<Scope>, Box<Scope>),
}

/// A conjunction of constraints on a processor; the normal form behind every non-union scope.
///
/// Fields that another field implies are cleared (an exact processor implies its worker and
/// kind; a kind implies whether it is default-enabled), so equal sets have equal constraints.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Constraint {
    /// Must be on this node.
    pub node: Option<NodeId>,
    /// Must belong to this worker.
    pub worker: Option<WorkerId>,
    /// Must be of this kind.
    pub kind: Option<ProcessorKind>,
    /// Must be default-enabled.
    pub default_only: bool,
    /// Must be exactly this processor.
    pub exact: Option<ProcessorId>,
}

impl Constraint {
    /// Intersects two constraints; `None` when they cannot both hold.
    fn and(self, o: Constraint) -> Option<Constraint> {
        fn merge<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<Option<T>> {
            match (a, b) {
                (Some(x), Some(y)) if x != y => None,
                (Some(x), _) | (None, Some(x)) => Some(Some(x)),
                (None, None) => Some(None),
            }
        }
        Constraint {
            node: merge(self.node, o.node)?,
            worker: merge(self.worker, o.worker)?,
            kind: merge(self.kind, o.kind)?,
            default_only: self.default_only || o.default_only,
            exact: merge(self.exact, o.exact)?,
        }
        .normalize()
    }

    /// Applies the implications between fields; `None` if they contradict.
    fn normalize(mut self) -> Option<Constraint> {
        if let Some(p) = self.exact {
            if self.worker.is_some_and(|w| w != p.worker)
                || self.kind.is_some_and(|k| k != p.kind)
                || (self.default_only && !p.kind.default_enabled())
            {
                return None;
            }
            self.worker = None;
            self.kind = None;
            self.default_only = false;
        }
        if let Some(k) = self.kind {
            if self.default_only && !k.default_enabled() {
                return None;
            }
            self.default_only = false;
        }
        Some(self)
    }

    /// Whether every processor satisfying `self` satisfies `o`.
    fn implies(&self, o: &Constraint) -> bool {
        let worker = self.worker.or(self.exact.map(|p| p.worker));
        let kind = self.kind.or(self.exact.map(|p| p.kind));
        (o.node.is_none() || o.node == self.node)
            && (o.worker.is_none() || o.worker == worker)
            && (o.kind.is_none() || o.kind == kind)
            && (!o.default_only || self.default_only || kind.is_some_and(|k| k.default_enabled()))
            && (o.exact.is_none() || o.exact == self.exact)
    }

    fn matches(&self, p: &ProcessorInfo) -> bool {
        self.node.is_none_or(|n| n == p.node)
            && self.worker.is_none_or(|w| w == p.id.worker)
            && self.kind.is_none_or(|k| k == p.id.kind)
            && (!self.default_only || p.id.kind.default_enabled())
            && self.exact.is_none_or(|e| e == p.id)
    }

    /// The simplest scope naming exactly this constraint.
    fn into_scope(self) -> Scope {
        let c = self;
        match (c.node, c.worker, c.kind, c.default_only, c.exact) {
            (None, None, None, false, None) => Scope::Any,
            (None, None, None, true, None) => Scope::Default,
            (Some(n), None, None, false, None) => Scope::Node(n),
            (None, Some(w), None, false, None) => Scope::Process(w),
            (None, None, Some(k), false, None) => Scope::ProcessorType(k),
            (None, None, None, false, Some(p)) => Scope::Exact(p),
            _ => Scope::Taint(c),
        }
    }
}

impl fmt::Debug for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(n) = self.node {
            parts.push(format!("node={n}"));
        }
        if let Some(w) = self.worker {
            parts.push(format!("worker={w}"));
        }
        if let Some(k) = self.kind {
            parts.push(format!("kind={k:?}"));
        }
        if self.default_only {
            parts.push("default".into());
        }
        if let Some(p) = self.exact {
            parts.push(format!("exact={p}"));
        }
        write!(f, "{}", parts.join(" & "))
    }
}

impl Scope {
    /// Builds a union, flattening nested unions and removing duplicates and invalid members.
    ///
    /// An empty union is an [`Error::Argument`], as in the reference.
    pub fn union(scopes: impl IntoIterator<Item = Scope>) -> Result<Scope> {
        let mut flat = Vec::new();
        for s in scopes {
            match s {
                Scope::Union(inner) => flat.extend(inner),
                Scope::Invalid(..) => {}
                s => flat.push(s),
            }
        }
        if flat.is_empty() {
            return Err(Error::Argument(
                "Cannot construct UnionScope with no inner scopes".into(),
            ));
        }
        flat.sort();
        flat.dedup();
        Ok(Scope::Union(flat))
    }

    /// The constraint behind a non-union scope (`None` for unions and invalid scopes).
    pub fn constraint(&self) -> Option<Constraint> {
        let c = Constraint::default();
        Some(match self {
            Scope::Any => c,
            Scope::Default => Constraint {
                default_only: true,
                ..c
            },
            Scope::Node(n) => Constraint {
                node: Some(*n),
                ..c
            },
            Scope::Process(w) => Constraint {
                worker: Some(*w),
                ..c
            },
            Scope::ProcessorType(k) => Constraint {
                kind: Some(*k),
                ..c
            },
            Scope::Exact(p) => Constraint {
                exact: Some(*p),
                ..c
            },
            Scope::Taint(t) => *t,
            Scope::Union(_) | Scope::Invalid(..) => return None,
        })
    }

    /// Whether this scope is the empty set.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Scope::Invalid(..))
    }

    /// The intersection of two scopes (Dagger.jl's `constrain`). An empty result is
    /// [`Scope::Invalid`] holding both operands.
    pub fn constrain(&self, other: &Scope) -> Scope {
        let invalid = || Scope::Invalid(Box::new(self.clone()), Box::new(other.clone()));
        match (self, other) {
            (Scope::Invalid(..), _) => self.clone(),
            (_, Scope::Invalid(..)) => other.clone(),
            (Scope::Union(a), Scope::Union(b)) => {
                let pieces: Vec<Scope> = a
                    .iter()
                    .flat_map(|x| b.iter().map(move |y| x.constrain(y)))
                    .filter(|s| !s.is_invalid())
                    .collect();
                Scope::union(pieces).unwrap_or_else(|_| invalid())
            }
            (Scope::Union(_), y) => self.constrain(&Scope::Union(vec![y.clone()])),
            (x, Scope::Union(_)) => Scope::Union(vec![x.clone()]).constrain(other),
            (x, y) => match (x.constraint(), y.constraint()) {
                (Some(a), Some(b)) => a.and(b).map(Constraint::into_scope).unwrap_or_else(invalid),
                _ => invalid(),
            },
        }
    }

    /// Intersects many scopes, stopping at the first empty result.
    pub fn constrain_all<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> Scope {
        let mut acc = Scope::Any;
        for s in scopes {
            acc = acc.constrain(s);
            if acc.is_invalid() {
                break;
            }
        }
        acc
    }

    /// Whether every processor in `self` is in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::Invalid(..), _) => true,
            (_, Scope::Invalid(..)) => false,
            (Scope::Union(a), _) => a.iter().all(|x| x.is_subset(other)),
            (x, Scope::Union(b)) => b.iter().any(|y| x.is_subset(y)),
            (x, y) => match (x.constraint(), y.constraint()) {
                (Some(a), Some(b)) => a.implies(&b),
                _ => false,
            },
        }
    }

    /// Whether the processor `p` is in this scope.
    pub fn matches(&self, p: &ProcessorInfo) -> bool {
        match self {
            Scope::Invalid(..) => false,
            Scope::Union(v) => v.iter().any(|s| s.matches(p)),
            s => s.constraint().is_some_and(|c| c.matches(p)),
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Any => f.write_str("AnyScope"),
            Scope::Default => f.write_str("DefaultScope"),
            Scope::Node(n) => write!(f, "NodeScope({n})"),
            Scope::Process(w) => write!(f, "ProcessScope({w})"),
            Scope::ProcessorType(k) => write!(f, "ProcessorTypeScope({k:?})"),
            Scope::Exact(p) => write!(f, "ExactScope({p})"),
            Scope::Taint(c) => write!(f, "TaintScope({c:?})"),
            Scope::Union(v) => f.debug_tuple("UnionScope").field(v).finish(),
            Scope::Invalid(a, b) => write!(f, "InvalidScope({a:?}, {b:?})"),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A selector in a [`ScopeSpec`]: one number, a list, or all (`:` in the reference).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// One worker or thread.
    One(u32),
    /// Several; an empty list is an error when the scope is built.
    Many(Vec<u32>),
    /// Every worker or every thread.
    All,
}

impl Selector {
    fn expand(&self, key: &str, all: impl FnOnce() -> Vec<u32>) -> Result<Vec<u32>> {
        match self {
            Selector::One(v) => Ok(vec![*v]),
            Selector::Many(v) if v.is_empty() => Err(Error::Argument(format!(
                "Cannot construct scope with {key}=[]"
            ))),
            Selector::Many(v) => Ok(v.clone()),
            Selector::All => Ok(all()),
        }
    }
}

/// What a scope is built against: the workers of a context and their thread counts, and any
/// custom scope keys registered by other crates.
#[derive(Clone, Default)]
pub struct Universe {
    /// Each worker with its number of thread processors.
    pub workers: Vec<(WorkerId, u32)>,
    /// Handlers for keys other than `worker(s)`/`thread(s)`.
    pub keys: Vec<Arc<dyn ScopeKey>>,
}

impl fmt::Debug for Universe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Universe")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

/// A handler for a custom scope key (e.g. `gpu=1`), as Dagger.jl's `to_scope(::Val{:gpu}, …)`.
/// Among the keys of a spec, the handler with the highest precedence builds the scope and sees
/// every key.
pub trait ScopeKey: Send + Sync {
    /// The key this handler understands.
    fn key(&self) -> &str;
    /// Higher wins; `worker`/`thread` have precedence 0.
    fn precedence(&self) -> u32;
    /// Builds the scope from the whole spec.
    fn to_scope(&self, spec: &ScopeSpec, universe: &Universe) -> Result<Scope>;
}

/// The `scope(...)` builder of the reference, with selectors for workers and threads.
///
/// ```
/// use dagger_core::scope::{Scope, ScopeSpec, Universe};
/// use dagger_core::{ProcessorId, WorkerId};
/// let u = Universe { workers: vec![(WorkerId(1), 2), (WorkerId(2), 2)], keys: vec![] };
/// let s = ScopeSpec::new().worker(2).thread(1).build(&u).unwrap();
/// assert_eq!(s, Scope::Exact(ProcessorId::thread(WorkerId(2), 1)));
/// assert!(ScopeSpec::parse("blah=1").unwrap().build(&u).is_err());
/// assert!(ScopeSpec::parse(":any").is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSpec {
    named: Option<Scope>,
    keys: Vec<(String, Selector)>,
}

impl ScopeSpec {
    /// An empty spec (building it is an error until a selector is added).
    pub fn new() -> Self {
        Self::default()
    }

    /// `scope(:any)`.
    pub fn any() -> Self {
        Self {
            named: Some(Scope::Any),
            keys: vec![],
        }
    }

    /// `scope(:default)`.
    pub fn default_scope() -> Self {
        Self {
            named: Some(Scope::Default),
            keys: vec![],
        }
    }

    /// Adds a `key=selector` pair.
    pub fn key(mut self, key: &str, sel: Selector) -> Self {
        self.keys.push((key.to_string(), sel));
        self
    }

    /// `worker=w`.
    pub fn worker(self, w: u32) -> Self {
        self.key("worker", Selector::One(w))
    }

    /// `workers=[..]`.
    pub fn workers(self, ws: impl IntoIterator<Item = u32>) -> Self {
        self.key("workers", Selector::Many(ws.into_iter().collect()))
    }

    /// `workers=:`.
    pub fn all_workers(self) -> Self {
        self.key("workers", Selector::All)
    }

    /// `thread=t` (1-based).
    pub fn thread(self, t: u32) -> Self {
        self.key("thread", Selector::One(t))
    }

    /// `threads=[..]`.
    pub fn threads(self, ts: impl IntoIterator<Item = u32>) -> Self {
        self.key("threads", Selector::Many(ts.into_iter().collect()))
    }

    /// `threads=:`.
    pub fn all_threads(self) -> Self {
        self.key("threads", Selector::All)
    }

    /// The selector given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Selector> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// Parses the textual form: `:any`, `:default`, or `key=value` pairs separated by commas,
    /// where a value is a number, `[1 2 3]` or `:`. E.g. `worker=2,threads=:`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        match text {
            ":any" => return Ok(Self::any()),
            ":default" => return Ok(Self::default_scope()),
            t if t.starts_with(':') => {
                return Err(Error::Argument(format!("Unknown named scope: {t}")));
            }
            _ => {}
        }
        let mut spec = Self::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| Error::Argument(format!("Invalid scope selector: {pair:?}")))?;
            let v = v.trim();
            let num = |s: &str| {
                s.parse::<u32>()
                    .map_err(|_| Error::Argument(format!("Invalid value {s:?} for scope key {k}")))
            };
            let sel = if v == ":" {
                Selector::All
            } else if let Some(inner) = v.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
                Selector::Many(inner.split_whitespace().map(num).collect::<Result<_>>()?)
            } else {
                Selector::One(num(v)?)
            };
            spec = spec.key(k.trim(), sel);
        }
        Ok(spec)
    }

    /// Builds the scope against `universe`.
    pub fn build(&self, universe: &Universe) -> Result<Scope> {
        if let Some(s) = &self.named {
            return Ok(s.clone());
        }
        if self.keys.is_empty() {
            return Err(Error::Argument(
                "Cannot construct UnionScope with no inner scopes".into(),
            ));
        }
        if let Some(handler) = self.custom_handler(universe)? {
            return handler.to_scope(self, universe);
        }
        let sel = |a: &str, b: &str| -> Result<Option<&Selector>> {
            match (self.get(a), self.get(b)) {
                (Some(_), Some(_)) => Err(Error::Argument(format!("Cannot give both {a} and {b}"))),
                (x, y) => Ok(x.or(y)),
            }
        };
        let worker_sel = sel("worker", "workers")?;
        let thread_sel = sel("thread", "threads")?;
        let all_workers = || {
            universe
                .workers
                .iter()
                .map(|(w, _)| w.0)
                .collect::<Vec<_>>()
        };
        let workers = worker_sel
            .map(|s| s.expand("workers", all_workers))
            .transpose()?;
        if let Some(ws) = &workers {
            for w in ws {
                if !universe.workers.is_empty() && !universe.workers.iter().any(|(x, _)| x.0 == *w)
                {
                    return Err(Error::Argument(format!("No worker {w} in this context")));
                }
            }
        }
        match (workers, thread_sel) {
            (Some(ws), None) => {
                Scope::union(ws.into_iter().map(|w| Scope::Process(WorkerId(w)))).map(unwrap_single)
            }
            (None, Some(Selector::All)) => Ok(Scope::ProcessorType(ProcessorKind::Thread)),
            (Some(ws), Some(Selector::All)) => {
                let thread = Scope::ProcessorType(ProcessorKind::Thread);
                Scope::union(
                    ws.into_iter()
                        .map(|w| Scope::Process(WorkerId(w)).constrain(&thread)),
                )
                .map(unwrap_single)
            }
            (ws, Some(ts)) => {
                let ts = ts.expand("threads", Vec::new)?;
                // `thread=t` alone is a union over every worker, even a single one.
                let explicit_workers = ws.is_some();
                let ws = ws.unwrap_or_else(all_workers);
                let exact = ws.iter().flat_map(|w| {
                    ts.iter()
                        .map(move |t| Scope::Exact(ProcessorId::thread(WorkerId(*w), *t)))
                });
                let u = Scope::union(exact)?;
                Ok(if explicit_workers {
                    unwrap_single(u)
                } else {
                    u
                })
            }
            (None, None) => unreachable!("keys are non-empty and none is custom"),
        }
    }

    fn custom_handler(&self, universe: &Universe) -> Result<Option<Arc<dyn ScopeKey>>> {
        const BUILTIN: [&str; 4] = ["worker", "workers", "thread", "threads"];
        let mut best: Option<Arc<dyn ScopeKey>> = None;
        let mut tie = false;
        for (k, _) in self
            .keys
            .iter()
            .filter(|(k, _)| !BUILTIN.contains(&k.as_str()))
        {
            if let Some(h) = universe.keys.iter().find(|h| h.key() == k) {
                match &best {
                    Some(b) if b.precedence() == h.precedence() => tie = true,
                    Some(b) if b.precedence() > h.precedence() => {}
                    _ => {
                        best = Some(h.clone());
                        tie = false;
                    }
                }
            }
        }
        if tie {
            return Err(Error::Argument(
                "Incompatible scope specifiers detected".into(),
            ));
        }
        if best.is_none() {
            if let Some((k, _)) = self
                .keys
                .iter()
                .find(|(k, _)| !BUILTIN.contains(&k.as_str()))
            {
                return Err(Error::Argument(format!(
                    "Scope construction not implemented for key: {k}"
                )));
            }
        }
        Ok(best)
    }

    /// Builds the union of several specs (`scope((worker=1,thread=1),(worker=2,thread=2))`).
    pub fn build_union(specs: &[ScopeSpec], universe: &Universe) -> Result<Scope> {
        Scope::union(
            specs
                .iter()
                .map(|s| s.build(universe))
                .collect::<Result<Vec<_>>>()?,
        )
    }
}

/// `worker=w` (or `workers=[w]`) gives the plain scope rather than a one-member union.
fn unwrap_single(u: Scope) -> Scope {
    match u {
        Scope::Union(mut v) if v.len() == 1 => v.pop().unwrap_or(Scope::Any),
        u => u,
    }
}
