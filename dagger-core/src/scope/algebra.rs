//! The [`Scope`] algebra: the sets of processors, their normal form ([`Constraint`]),
//! intersection ([`Scope::constrain`]) and comparison ([`Scope::is_subset`]).

use crate::error::{Error, Result};
use crate::ids::{NodeId, WorkerId};
use crate::processor::{ProcessorId, ProcessorInfo, ProcessorKind};
use serde::{Deserialize, Serialize};
use std::fmt;

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
