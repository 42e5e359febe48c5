//! How values get into tasks and out of them: the traits behind the argument tuples of
//! `spawn` and `delayed` and the things [`fetch_all`](crate::fetch_all) takes. User code
//! rarely names them; they show in signatures and compiler messages.
//!
//! ```
//! use dagger::args::ValuesOf;
//! use dagger::{Context, DTask};
//! let ctx = Context::local();
//! let a: DTask<i32> = ctx.spawn(|(x,)| x + 1, (1,));
//! // A task argument arrives in the body as its value.
//! let _: ValuesOf<(&DTask<i32>, i64)> = (2, 3i64);
//! assert_eq!(ctx.spawn(|(a, b)| a as i64 + b, (&a, 40i64)).fetch().unwrap(), 42);
//! ```

pub use dagger_sched::{
    AnyThunk, Arg, Args, Dependency, FetchAll, IntoArg, IntoArgs, IntoLazyArg, IntoLazyArgs,
    IntoMetaArgs, LazyArg, LazyArgs, LazyValuesOf, MetaThunk, ValuesOf,
};
