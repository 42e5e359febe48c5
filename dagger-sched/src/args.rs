//! Task arguments: plain values, or handles whose values the task receives.
//!
//! A task's arguments are a tuple. Each element is either a plain value (numbers, strings,
//! vectors, `Arc`s, or anything wrapped in [`Val`]) or a handle — [`DTask`], `&DTask`,
//! [`Chunk`], `&Chunk`, [`All`] — which makes the task wait for that result and receive its
//! value (cloned; wrap large values in `Arc` to share them). The function receives the values
//! as one tuple: `ctx.spawn(|(a, b)| a + b, (&p, 3))`.

use crate::access::Declared;
use crate::handle::{Chunk, DTask};
use crate::task::Dependency;
use dagger_core::{Error, Result, Scope};
use std::sync::Arc;

/// One resolved argument, as stored inside a task until it runs.
pub trait Arg: Send + 'static {
    /// What the task body receives.
    type Value: Send + 'static;
    /// Calls `f` with each task this argument waits for, and the scope of its data if that
    /// constrains placement.
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>));
    /// Calls `f` with each access this argument declares to a datadeps region (an object
    /// read or written in place), or with the error that makes the declaration invalid.
    /// Plain values and handles declare none.
    #[inline(always)]
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        let _ = f;
    }
    /// The value, once every dependency is done; a failed dependency's error otherwise.
    fn resolve(self) -> Result<Self::Value>;
}

/// Anything that can be passed as one argument.
pub trait IntoArg {
    /// The stored form.
    type Arg: Arg;
    /// Converts (clones a borrowed handle).
    fn into_arg(self) -> Self::Arg;
}

/// A tuple of arguments.
pub trait Args: Send + 'static {
    /// The tuple of values the body receives.
    type Values: Send + 'static;
    /// Visits every dependency and data scope.
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>));
    /// Visits every declared access (see [`Arg::accesses`]).
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>));
    /// Resolves every element.
    fn resolve(self) -> Result<Self::Values>;
}

/// A tuple of things convertible into arguments: what `spawn` takes.
pub trait IntoArgs {
    /// The stored tuple.
    type Args: Args;
    /// Converts every element.
    fn into_args(self) -> Self::Args;
}

/// The values a body receives for argument tuple `A`.
pub type ValuesOf<A> = <<A as IntoArgs>::Args as Args>::Values;

/// A plain value of any type, passed as is.
///
/// ```
/// use dagger_sched::{Context, Val};
/// #[derive(Clone)]
/// struct Point(i32, i32);
/// let ctx = Context::builder().threads(1).build();
/// let t = ctx.spawn(|(p,)| p.0 + p.1, (Val(Point(2, 3)),));
/// assert_eq!(t.fetch().unwrap(), 5);
/// ```
#[derive(Clone, Debug)]
pub struct Val<T>(pub T);

impl<T: Send + 'static> Arg for Val<T> {
    type Value = T;
    fn visit(&self, _: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {}
    fn resolve(self) -> Result<T> {
        Ok(self.0)
    }
}

impl<T: Send + 'static> IntoArg for Val<T> {
    type Arg = Val<T>;
    fn into_arg(self) -> Val<T> {
        self
    }
}

/// Calls macro `$m` with every plain type (numbers, `bool`, `char`, strings): they are
/// arguments of eager tasks and of lazy thunks alike, and this one list serves both (the
/// lazy side, higher up, implements its trait with it).
macro_rules! for_plain_types {
    ($m:ident) => {
        $m!(
            i8,
            i16,
            i32,
            i64,
            i128,
            isize,
            u8,
            u16,
            u32,
            u64,
            u128,
            usize,
            f32,
            f64,
            bool,
            char,
            String,
            &'static str
        );
    };
}
pub(crate) use for_plain_types;

macro_rules! plain_args {
    ($($t:ty),*) => {$(
        impl IntoArg for $t {
            type Arg = Val<$t>;
            fn into_arg(self) -> Val<$t> { Val(self) }
        }
    )*};
}
for_plain_types!(plain_args);

impl<T: Send + 'static> IntoArg for Vec<T> {
    type Arg = Val<Vec<T>>;
    fn into_arg(self) -> Val<Vec<T>> {
        Val(self)
    }
}

impl<T: Send + Sync + 'static + ?Sized> IntoArg for Arc<T> {
    type Arg = Val<Arc<T>>;
    fn into_arg(self) -> Val<Arc<T>> {
        Val(self)
    }
}

fn resolved<T: Clone + Send + Sync + 'static>(t: &DTask<T>) -> Result<T> {
    match t.cell.result() {
        Some(Ok(v)) => Ok(v.clone()),
        Some(Err(e)) => Err(e.clone()),
        None => Err(Error::Scheduling(format!(
            "argument {} was not ready",
            t.id()
        ))),
    }
}

impl<T: Clone + Send + Sync + 'static> Arg for DTask<T> {
    type Value = T;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        f(Some(self.dependency()), None)
    }
    fn resolve(self) -> Result<T> {
        resolved(&self)
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg for DTask<T> {
    type Arg = DTask<T>;
    fn into_arg(self) -> DTask<T> {
        self
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg for &DTask<T> {
    type Arg = DTask<T>;
    fn into_arg(self) -> DTask<T> {
        self.clone()
    }
}

impl<T: Clone + Send + Sync + 'static> Arg for Chunk<T> {
    type Value = T;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        let scope = (self.scope() != &Scope::Any).then(|| self.scope());
        f(None, scope)
    }
    fn resolve(self) -> Result<T> {
        resolved(self.task())
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg for Chunk<T> {
    type Arg = Chunk<T>;
    fn into_arg(self) -> Chunk<T> {
        self
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg for &Chunk<T> {
    type Arg = Chunk<T>;
    fn into_arg(self) -> Chunk<T> {
        self.clone()
    }
}

/// Many tasks as one argument: the body receives all their values as a `Vec`, in order.
///
/// ```
/// use dagger_sched::{All, Context};
/// let ctx = Context::builder().threads(2).build();
/// let parts: Vec<_> = (1..=4).map(|i| ctx.spawn(move |()| i, ())).collect();
/// let total = ctx.spawn(|(v,)| v.iter().sum::<i32>(), (All(parts),));
/// assert_eq!(total.fetch().unwrap(), 10);
/// ```
#[derive(Clone)]
pub struct All<T>(pub Vec<DTask<T>>);

impl<T: 'static> std::fmt::Debug for All<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("All").field(&self.0).finish()
    }
}

impl<T: Clone + Send + Sync + 'static> Arg for All<T> {
    type Value = Vec<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        for t in &self.0 {
            f(Some(t.dependency()), None)
        }
    }
    fn resolve(self) -> Result<Vec<T>> {
        self.0.iter().map(resolved).collect()
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg for All<T> {
    type Arg = All<T>;
    fn into_arg(self) -> All<T> {
        self
    }
}

/// An input passed as its [`Chunk`] rather than its value (the `meta` option of the
/// reference), for eager tasks: `ctx.spawn(f, (Meta(t.clone()),))`.
///
/// ```
/// use dagger_sched::{Context, Meta};
/// let ctx = Context::builder().threads(1).build();
/// let t = ctx.spawn(|()| 5u8, ());
/// let owner = ctx.spawn(|(c,)| c.owner(), (Meta(t.clone()),));
/// assert_eq!(owner.fetch().unwrap(), ctx.worker_id());
/// ```
#[derive(Clone)]
pub struct Meta<T>(pub DTask<T>);

impl<T: 'static> std::fmt::Debug for Meta<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Meta").field(&self.0).finish()
    }
}

impl<T: Send + Sync + 'static> Arg for Meta<T> {
    type Value = Chunk<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        f(Some(self.0.dependency()), None)
    }
    fn resolve(self) -> Result<Chunk<T>> {
        self.0.chunk()
    }
}

impl<T: Send + Sync + 'static> IntoArg for Meta<T> {
    type Arg = Meta<T>;
    fn into_arg(self) -> Meta<T> {
        self
    }
}

macro_rules! tuple_args {
    ($($n:ident $v:ident),*) => {
        #[allow(clippy::unused_unit)]
        impl<$($n: Arg),*> Args for ($($n,)*) {
            type Values = ($($n::Value,)*);
            #[allow(unused_variables)]
            fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
                let ($($v,)*) = self;
                $($v.visit(f);)*
            }
            #[allow(unused_variables)]
            #[inline(always)]
            fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
                let ($($v,)*) = self;
                $($v.accesses(f);)*
            }
            fn resolve(self) -> Result<Self::Values> {
                let ($($v,)*) = self;
                Ok(($($v.resolve()?,)*))
            }
        }
        #[allow(clippy::unused_unit)]
        impl<$($n: IntoArg),*> IntoArgs for ($($n,)*) {
            type Args = ($($n::Arg,)*);
            fn into_args(self) -> Self::Args {
                let ($($v,)*) = self;
                ($($v.into_arg(),)*)
            }
        }
    };
}
tuple_args!();
tuple_args!(A a);
tuple_args!(A a, B b);
tuple_args!(A a, B b, C c);
tuple_args!(A a, B b, C c, D d);
tuple_args!(A a, B b, C c, D d, E e);
tuple_args!(A a, B b, C c, D d, E e, F f);
tuple_args!(A a, B b, C c, D d, E e, F f, G g);
tuple_args!(A a, B b, C c, D d, E e, F f, G g, H h);
