//! Registered functions: task bodies every process of the executable knows by name.
//!
//! A closure can only run in the process that made it. A function declared with
//! [`register!`](crate::register) is collected at link time (with `inventory`) under a stable
//! name, so a worker process can run it on arguments that arrive as bytes.

use bytes::Bytes;
use dagger_core::{Error, Result};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// Decodes the argument tuple of a registered function from one encoded part per argument.
pub trait DecodeArgs: Sized {
    /// Decodes; a part that does not decode is an error naming the argument.
    fn decode_args(parts: &[Bytes]) -> Result<Self>;
}

macro_rules! decode_tuple {
    ($n:literal; $($t:ident $i:tt),*) => {
        impl<$($t: DeserializeOwned),*> DecodeArgs for ($($t,)*) {
            fn decode_args(parts: &[Bytes]) -> Result<Self> {
                if parts.len() != $n {
                    return Err(Error::Codec(format!("expected {} arguments, got {}", $n, parts.len())));
                }
                Ok(($(
                    postcard::from_bytes::<$t>(&parts[$i]).map_err(|e| Error::Codec(format!(
                        "argument {} as {}: {e}", $i + 1, std::any::type_name::<$t>()
                    )))?,
                )*))
            }
        }
    };
}
decode_tuple!(0;);
decode_tuple!(1; A 0);
decode_tuple!(2; A 0, B 1);
decode_tuple!(3; A 0, B 1, C 2);
decode_tuple!(4; A 0, B 1, C 2, D 3);
decode_tuple!(5; A 0, B 1, C 2, D 3, E 4);
decode_tuple!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// One registered function, as collected at link time.
#[derive(Debug)]
pub struct Registration {
    /// Its stable name (`module::path::name`).
    pub name: &'static str,
    /// Decodes the arguments, runs, encodes the result.
    pub invoke: fn(&[Bytes]) -> Result<Bytes>,
}

inventory::collect!(Registration);

/// Runs `f` on arguments decoded from `parts` and encodes the result (used by `register!`).
pub fn invoke<A: DecodeArgs, R: Serialize>(
    parts: &[Bytes],
    f: impl FnOnce(A) -> R,
) -> Result<Bytes> {
    let args = A::decode_args(parts)?;
    let r = f(args);
    postcard::to_allocvec(&r)
        .map(Bytes::from)
        .map_err(|e| Error::Codec(format!("result {}: {e}", std::any::type_name::<R>())))
}

/// A registered function's entry point: encoded arguments in, encoded result out.
pub(crate) type Invoke = fn(&[Bytes]) -> Result<Bytes>;

fn table() -> &'static HashMap<&'static str, Invoke> {
    static T: OnceLock<HashMap<&'static str, Invoke>> = OnceLock::new();
    T.get_or_init(|| {
        inventory::iter::<Registration>
            .into_iter()
            .map(|r| (r.name, r.invoke))
            .collect()
    })
}

/// Looks up a registered function by name.
pub(crate) fn lookup(name: &str) -> Result<Invoke> {
    table()
        .get(name)
        .copied()
        .ok_or_else(|| Error::UnknownFunction(format!("{name} is not registered in this process")))
}

/// The names of every function registered in this executable.
pub fn registered_names() -> Vec<&'static str> {
    let mut v: Vec<_> = table().keys().copied().collect();
    v.sort_unstable();
    v
}

/// A typed handle to a registered function: what `spawn_fn` takes. Made by
/// [`register!`](crate::register).
pub struct Registered<A, R> {
    /// The stable name.
    pub name: &'static str,
    /// The function itself, for running in this process without encoding anything.
    pub local: fn(A) -> R,
    _marker: PhantomData<fn(A) -> R>,
}

impl<A, R> Registered<A, R> {
    /// A handle (used by `register!`).
    pub const fn new(name: &'static str, local: fn(A) -> R) -> Self {
        Registered {
            name,
            local,
            _marker: PhantomData,
        }
    }
}

impl<A, R> Clone for Registered<A, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, R> Copy for Registered<A, R> {}

impl<A, R> std::fmt::Debug for Registered<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registered({})", self.name)
    }
}

/// Declares functions that any process of the executable can run, by name.
///
/// Each `fn name(args..) -> R` stays an ordinary function and gains a constant `NAME`
/// (upper case) to pass to [`Context::spawn_fn`](crate::Context::spawn_fn). Arguments and
/// result are serde types.
///
/// ```
/// dagger_sched::register! {
///     /// Adds two numbers.
///     pub fn add(a: i64, b: i64) -> i64 { a + b }
/// }
/// let ctx = dagger_sched::Context::builder().threads(1).build();
/// let t = ctx.spawn_fn(ADD, (2i64, 40i64));
/// assert_eq!(t.fetch().unwrap(), 42);
/// assert_eq!(add(1, 2), 3);
/// assert!(dagger_sched::registered_names().iter().any(|n| n.ends_with("::add")));
/// ```
#[macro_export]
macro_rules! register {
    ($($(#[$m:meta])* $vis:vis fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty $body:block)*) => {$(
        $(#[$m])* $vis fn $name($($arg: $ty),*) -> $ret $body
        $crate::__private::paste! {
            #[doc = concat!("The registered function [`", stringify!($name), "`], for `spawn_fn`.")]
            #[allow(dead_code)]
            $vis const [<$name:upper>]: $crate::Registered<($($ty,)*), $ret> =
                $crate::Registered::new(concat!(module_path!(), "::", stringify!($name)), [<__dagger_local_ $name>]);
            #[allow(non_snake_case)]
            fn [<__dagger_local_ $name>](($($arg,)*): ($($ty,)*)) -> $ret { $name($($arg),*) }
            #[allow(non_snake_case)]
            fn [<__dagger_invoke_ $name>](parts: &[$crate::__private::Bytes]) -> $crate::Result<$crate::__private::Bytes> {
                $crate::__private::invoke::<($($ty,)*), $ret>(parts, [<__dagger_local_ $name>])
            }
            $crate::__private::inventory::submit! {
                $crate::Registration {
                    name: concat!(module_path!(), "::", stringify!($name)),
                    invoke: [<__dagger_invoke_ $name>],
                }
            }
        }
    )*};
}
