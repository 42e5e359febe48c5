//! Task options, as in the reference's `delayed(f; options...)` / `@spawn` options.

use crate::scope::Scope;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Options of one task. Build with struct-update syntax or the chained setters.
///
/// ```
/// use dagger_core::{Options, Scope, WorkerId};
/// let o = Options::new().name("load").scope(Scope::Process(WorkerId(2))).persist(true);
/// assert_eq!(o.name.as_deref(), Some("load"));
/// assert!(o.persist && !o.cache);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Where the task may run (default: [`Scope::Default`]).
    pub scope: Option<Scope>,
    /// Scope given to the result chunk; execution is also constrained to it.
    pub result_scope: Option<Scope>,
    /// Return the raw value to the driver instead of keeping a chunk where it was computed.
    pub get_result: bool,
    /// Pass input chunks themselves, not their values (always runs in the driver).
    pub meta: bool,
    /// Keep the result after nothing in the graph needs it any more.
    pub persist: bool,
    /// Reuse the result when the same lazy thunk is computed again.
    pub cache: bool,
    /// A name for profiles, progress and error messages.
    pub name: Option<Arc<str>>,
    /// Checkpoint the result to the context's checkpoint store and restore it from there in
    /// a later run (`None`: the context's default). Applies to registered functions and to
    /// named closures; an unnamed closure is never checkpointed.
    pub checkpoint: Option<bool>,
}

impl Options {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the scope.
    pub fn scope(mut self, s: Scope) -> Self {
        self.scope = Some(s);
        self
    }

    /// Sets the result scope.
    pub fn result_scope(mut self, s: Scope) -> Self {
        self.result_scope = Some(s);
        self
    }

    /// Sets `get_result`.
    pub fn get_result(mut self, v: bool) -> Self {
        self.get_result = v;
        self
    }

    /// Sets `meta`.
    pub fn meta(mut self, v: bool) -> Self {
        self.meta = v;
        self
    }

    /// Sets `persist`.
    pub fn persist(mut self, v: bool) -> Self {
        self.persist = v;
        self
    }

    /// Sets `cache`.
    pub fn cache(mut self, v: bool) -> Self {
        self.cache = v;
        self
    }

    /// Sets `checkpoint`: whether this task's result is checkpointed and restored.
    ///
    /// ```
    /// use dagger_core::Options;
    /// assert_eq!(Options::new().checkpoint(true).checkpoint, Some(true));
    /// assert_eq!(Options::new().checkpoint, None); // the context decides
    /// ```
    pub fn checkpoint(mut self, v: bool) -> Self {
        self.checkpoint = Some(v);
        self
    }

    /// Sets the name.
    pub fn name(mut self, n: impl Into<Arc<str>>) -> Self {
        self.name = Some(n.into());
        self
    }
}

/// Borrowed options, cloned: lets every `*_with` call take `opts: impl Into<Options>`, so
/// both `&opts` and `opts` can be passed.
///
/// ```
/// use dagger_core::Options;
/// let o = Options::new().name("load");
/// let copy: Options = (&o).into();
/// assert_eq!(copy, o);
/// ```
impl From<&Options> for Options {
    fn from(o: &Options) -> Self {
        o.clone()
    }
}
