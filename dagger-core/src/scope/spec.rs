//! The `scope(...)` builder of the reference: a [`ScopeSpec`] of keys and [`Selector`]s,
//! built into a [`Scope`] against a [`Universe`] (the workers of a context and any custom
//! [`ScopeKey`]s).

use super::algebra::Scope;
use crate::error::{Error, Result};
use crate::ids::WorkerId;
use crate::processor::{ProcessorId, ProcessorKind};
use std::fmt;
use std::sync::Arc;

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
