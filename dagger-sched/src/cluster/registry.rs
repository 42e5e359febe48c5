//! Registered functions: task bodies every process of the executable knows by name.
//!
//! A closure can only run in the process that made it. A function declared with
//! [`register!`](crate::register) is collected at link time (with `inventory`) under a stable
//! name, so a worker process can run it on arguments that arrive as bytes, or — for results
//! it already holds — as live values (see the `live` module: no encode or decode on the
//! same-worker path).

use super::live::LiveInvoke;
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
    /// Takes live or encoded arguments, runs, keeps the result live.
    pub live: LiveInvoke,
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

fn table() -> &'static HashMap<&'static str, &'static Registration> {
    static T: OnceLock<HashMap<&'static str, &'static Registration>> = OnceLock::new();
    T.get_or_init(|| {
        inventory::iter::<Registration>
            .into_iter()
            .map(|r| (r.name, r))
            .collect()
    })
}

fn registration(name: &str) -> Result<&'static Registration> {
    table()
        .get(name)
        .copied()
        .ok_or_else(|| Error::UnknownFunction(format!("{name} is not registered in this process")))
}

/// Looks up a registered function's bytes entry point by name.
#[allow(dead_code)] // the bytes path stays for callers that only have bytes
pub(crate) fn lookup(name: &str) -> Result<Invoke> {
    registration(name).map(|r| r.invoke)
}

/// Looks up a registered function's live entry point by name.
pub(crate) fn lookup_live(name: &str) -> Result<LiveInvoke> {
    registration(name).map(|r| r.live)
}

/// The names of every function registered in this executable.
pub fn registered_names() -> Vec<&'static str> {
    let mut v: Vec<_> = table().keys().copied().collect();
    v.sort_unstable();
    v
}

/// A typed handle to a registered function: what `spawn_registered` takes. Made by
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
/// (upper case) to pass to [`Context::spawn_registered`](crate::Context::spawn_registered).
/// Arguments and result are serde types.
///
/// ```
/// dagger_sched::register! {
///     /// Adds two numbers.
///     pub fn add(a: i64, b: i64) -> i64 { a + b }
/// }
/// let ctx = dagger_sched::Context::builder().threads(1).build();
/// let t = ctx.spawn_registered(ADD, (2i64, 40i64));
/// assert_eq!(t.fetch().unwrap(), 42);
/// assert_eq!(add(1, 2), 3);
/// assert!(dagger_sched::registered_names().iter().any(|n| n.ends_with("::add")));
/// ```
#[macro_export]
macro_rules! register {
    ($($(#[$m:meta])* $vis:vis fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty $body:block)*) => {$(
        $(#[$m])* $vis fn $name($($arg: $ty),*) -> $ret $body
        $crate::__private::paste! {
            #[doc = concat!("The registered function [`", stringify!($name), "`], for `spawn_registered`.")]
            #[allow(dead_code)]
            $vis const [<$name:upper>]: $crate::Registered<($($ty,)*), $ret> =
                $crate::Registered::new(concat!(module_path!(), "::", stringify!($name)), [<__dagger_local_ $name>]);
            #[allow(non_snake_case)]
            fn [<__dagger_local_ $name>](($($arg,)*): ($($ty,)*)) -> $ret { $name($($arg),*) }
            #[allow(non_snake_case)]
            fn [<__dagger_invoke_ $name>](parts: &[$crate::__private::Bytes]) -> $crate::Result<$crate::__private::Bytes> {
                $crate::__private::invoke::<($($ty,)*), $ret>(parts, [<__dagger_local_ $name>])
            }
            // The live entry point: each argument cloned out of a live value or decoded
            // from bytes, the result kept live (see the `live` module for the selection).
            #[allow(non_snake_case, unused_mut, unused_variables, clippy::needless_borrow)]
            fn [<__dagger_live_ $name>](parts: &[$crate::__private::ArgValue]) -> $crate::Result<$crate::__private::LiveValue> {
                #[allow(unused_imports)]
                use $crate::__private::{ViaClone as _, ViaCodec as _, ViaEncoded as _, ViaLive as _};
                $crate::__private::arity(parts, 0usize $(+ { let _ = stringify!($arg); 1usize })*)?;
                let mut next = parts.iter().enumerate();
                $(
                    let $arg: $ty = match next.next().ok_or_else($crate::__private::missing_arg)? {
                        (i, $crate::__private::ArgValue::Bytes(b)) => $crate::__private::decode_arg::<$ty>(b, i)?,
                        (i, $crate::__private::ArgValue::Live(v)) => (&&$crate::__private::LiveArg::<$ty>::new()).take_live(v, i)?,
                    };
                )*
                (&&$crate::__private::LiveRet::<$ret>::new()).keep_live($name($($arg),*))
            }
            $crate::__private::inventory::submit! {
                $crate::Registration {
                    name: concat!(module_path!(), "::", stringify!($name)),
                    invoke: [<__dagger_invoke_ $name>],
                    live: [<__dagger_live_ $name>],
                }
            }
        }
    )*};
}
