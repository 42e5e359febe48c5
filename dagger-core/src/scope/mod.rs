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
//!
//! The algebra is in `algebra.rs`; the [`ScopeSpec`] builder, which makes scopes from
//! worker and thread selectors, in `spec.rs` above it.

mod algebra;
mod spec;

pub use algebra::{Constraint, Scope};
pub use spec::{ScopeKey, ScopeSpec, Selector, Universe};
