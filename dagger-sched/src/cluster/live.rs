//! The live entry point of registered functions: arguments and result as unserialized values.
//!
//! A worker keeps the results it computes as [`LiveValue`]s. When a task on the same worker
//! uses one, the function gets a clone of the value itself — no encode, no decode. Bytes are
//! made only when they must cross a boundary (the driver, a peer, a spill to storage), through
//! the [`ValueCodec`] carried with the value.
//!
//! [`register!`](crate::register) generates, for every function, an entry point of type
//! [`LiveInvoke`] next to the bytes one. Rust has no specialization, so the macro picks the
//! best way to take each argument and give the result with "autoref specialization" on the
//! concrete types it sees:
//!
//! - an argument of a `Clone` type is cloned out of a live value of that type
//!   ([`ViaClone`]); any other live argument (another type that encodes the same, or a
//!   non-`Clone` type) is encoded through its own codec and decoded ([`ViaCodec`]);
//! - a result that is `Serialize + DeserializeOwned + Send + Sync` is kept live
//!   ([`ViaLive`]); any other is encoded at once and kept as its bytes ([`ViaEncoded`]).
//!
//! # Size accounting
//!
//! A live result's [`size`](LiveValue::size) is what memory limits count. It is the deep size
//! from the scheduler's size registry ([`register_size`](crate::register_size)) when the type
//! is registered (vectors of numbers, strings, array blocks); otherwise it is the larger of
//! the type's shallow size and its postcard-encoded size, computed without allocating (a walk
//! over the value). The encoded size approximates the heap a value owns but is not exact:
//! allocator slack, spare `Vec` capacity and shared `Arc`s are not seen. Clones made for a
//! task's arguments are transient and not counted.

use bytes::Bytes;
use dagger_core::{AnyValue, Error, LiveValue, Result, ValueCodec};
use serde::{de::DeserializeOwned, Serialize};
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

/// One argument of a registered function as the worker has it: bytes (sent inline, fetched
/// from a peer, or held encoded) or a live value held by this worker.
#[derive(Debug, Clone)]
pub enum ArgValue {
    /// The postcard encoding of the argument.
    Bytes(Bytes),
    /// A live value, of the argument's type if produced by a matching function.
    Live(LiveValue),
}

/// A registered function's live entry point.
pub type LiveInvoke = fn(&[ArgValue]) -> Result<LiveValue>;

fn encode_any<T: Serialize + 'static>(v: &(dyn Any + Send + Sync)) -> Result<Bytes> {
    let t = v.downcast_ref::<T>().ok_or_else(|| {
        Error::Codec(format!(
            "the codec for {} was given a value of another type",
            std::any::type_name::<T>()
        ))
    })?;
    postcard::to_allocvec(t)
        .map(Bytes::from)
        .map_err(|e| Error::Codec(format!("result {}: {e}", std::any::type_name::<T>())))
}

fn decode_any<T: DeserializeOwned + Send + Sync + 'static>(b: &[u8]) -> Result<AnyValue> {
    postcard::from_bytes::<T>(b)
        .map(|t| Arc::new(t) as AnyValue)
        .map_err(|e| Error::Codec(format!("{}: {e}", std::any::type_name::<T>())))
}

/// The postcard [`ValueCodec`] for values of type `T` (the wire encoding of every
/// registered function's arguments and results).
///
/// ```
/// let c = dagger_sched::postcard_codec::<Vec<u32>>();
/// let b = c.encode_value(&vec![1u32, 2]).unwrap();
/// assert_eq!(c.decode_value(&b).unwrap().downcast_ref::<Vec<u32>>(), Some(&vec![1, 2]));
/// assert!(c.encode_value(&5u8).is_err()); // not a Vec<u32>
/// ```
pub fn postcard_codec<T: Serialize + DeserializeOwned + Send + Sync + 'static>() -> ValueCodec {
    ValueCodec {
        name: "postcard",
        type_name: std::any::type_name::<T>(),
        encode: encode_any::<T>,
        decode: decode_any::<T>,
    }
}

fn bytes_encode(v: &(dyn Any + Send + Sync)) -> Result<Bytes> {
    v.downcast_ref::<Bytes>()
        .cloned()
        .ok_or_else(|| Error::Codec("an encoded result that is not bytes".into()))
}

fn bytes_decode(b: &[u8]) -> Result<AnyValue> {
    Ok(Arc::new(Bytes::copy_from_slice(b)))
}

/// The codec of a value that is already its own encoding (a result that cannot be kept live).
pub(crate) const ENCODED: ValueCodec = ValueCodec {
    name: "bytes",
    type_name: "(encoded)",
    encode: bytes_encode,
    decode: bytes_decode,
};

/// Wraps bytes that are already an encoding as a live value (size: their length).
pub(crate) fn encoded(b: Bytes) -> LiveValue {
    let size = b.len() as u64;
    LiveValue::new(Arc::new(b), ENCODED, size)
}

/// A live value of `v`, with the postcard codec and its estimated size (see the module
/// docs for how the size is estimated).
///
/// ```
/// let v = dagger_sched::live_value(vec![0.0f64; 1000]);
/// assert_eq!(v.size, 24 + 8000); // known to the size registry
/// assert_eq!(v.downcast_ref::<Vec<f64>>().map(Vec::len), Some(1000));
/// assert_eq!(v.encode().unwrap().len(), 2 + 8000); // postcard: length, then the numbers
/// ```
pub fn live_value<T: Serialize + DeserializeOwned + Send + Sync + 'static>(v: T) -> LiveValue {
    let size = crate::size::registered_size_of(&v).unwrap_or_else(|| {
        let encoded = postcard::experimental::serialized_size(&v).unwrap_or(0) as u64;
        encoded.max(std::mem::size_of::<T>() as u64)
    });
    LiveValue::new(Arc::new(v), postcard_codec::<T>(), size)
}

/// Checks the number of arguments (used by `register!`).
pub fn arity(parts: &[ArgValue], n: usize) -> Result<()> {
    if parts.len() != n {
        return Err(Error::Codec(format!(
            "expected {n} arguments, got {}",
            parts.len()
        )));
    }
    Ok(())
}

/// The error for an argument list shorter than checked (used by `register!`).
pub fn missing_arg() -> Error {
    Error::Codec("fewer arguments than the function takes".into())
}

/// Decodes argument `i` from its bytes (used by `register!`).
pub fn decode_arg<T: DeserializeOwned>(b: &[u8], i: usize) -> Result<T> {
    postcard::from_bytes::<T>(b).map_err(|e| {
        Error::Codec(format!(
            "argument {} as {}: {e}",
            i + 1,
            std::any::type_name::<T>()
        ))
    })
}

fn via_codec<T: DeserializeOwned>(v: &LiveValue, i: usize) -> Result<T> {
    decode_arg(&v.encode()?, i)
}

/// Selects how `register!` takes a live argument of type `T` (see [`ViaClone`], [`ViaCodec`]).
pub struct LiveArg<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for LiveArg<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LiveArg<{}>", std::any::type_name::<T>())
    }
}

impl<T> LiveArg<T> {
    /// The selector.
    pub const fn new() -> Self {
        LiveArg(PhantomData)
    }
}

impl<T> Default for LiveArg<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Takes a live argument of a `Clone` type by cloning it (the fast path).
pub trait ViaClone<T> {
    /// The argument.
    ///
    /// # Errors
    ///
    /// Only when the value is of another type and does not decode as a `T`.
    fn take_live(&self, v: &LiveValue, i: usize) -> Result<T>;
}

impl<T: Clone + DeserializeOwned + 'static> ViaClone<T> for &LiveArg<T> {
    fn take_live(&self, v: &LiveValue, i: usize) -> Result<T> {
        match v.downcast_ref::<T>() {
            Some(t) => Ok(t.clone()),
            None => via_codec(v, i),
        }
    }
}

/// Takes any other live argument through its encoding.
pub trait ViaCodec<T> {
    /// The argument.
    ///
    /// # Errors
    ///
    /// The value does not encode, or its bytes do not decode as a `T`.
    fn take_live(&self, v: &LiveValue, i: usize) -> Result<T>;
}

impl<T: DeserializeOwned> ViaCodec<T> for LiveArg<T> {
    fn take_live(&self, v: &LiveValue, i: usize) -> Result<T> {
        via_codec(v, i)
    }
}

/// Selects how `register!` keeps a result of type `R` (see [`ViaLive`], [`ViaEncoded`]).
pub struct LiveRet<R>(PhantomData<fn() -> R>);

impl<R> std::fmt::Debug for LiveRet<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LiveRet<{}>", std::any::type_name::<R>())
    }
}

impl<R> LiveRet<R> {
    /// The selector.
    pub const fn new() -> Self {
        LiveRet(PhantomData)
    }
}

impl<R> Default for LiveRet<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps a result live (it can be decoded back, so it can also be spilled).
pub trait ViaLive<R> {
    /// The result as a live value.
    ///
    /// # Errors
    ///
    /// None today; the signature matches [`ViaEncoded`].
    fn keep_live(&self, r: R) -> Result<LiveValue>;
}

impl<R: Serialize + DeserializeOwned + Send + Sync + 'static> ViaLive<R> for &LiveRet<R> {
    fn keep_live(&self, r: R) -> Result<LiveValue> {
        Ok(live_value(r))
    }
}

/// Encodes a result that cannot be kept live at once, and keeps its bytes.
pub trait ViaEncoded<R> {
    /// The result's bytes as a live value.
    ///
    /// # Errors
    ///
    /// The result does not encode.
    fn keep_live(&self, r: R) -> Result<LiveValue>;
}

impl<R: Serialize> ViaEncoded<R> for LiveRet<R> {
    fn keep_live(&self, r: R) -> Result<LiveValue> {
        postcard::to_allocvec(&r)
            .map(|b| encoded(Bytes::from(b)))
            .map_err(|e| Error::Codec(format!("result {}: {e}", std::any::type_name::<R>())))
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // `&&` picks the selector, as `register!` does
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct NotClone(u32);

    #[derive(serde::Serialize)]
    struct OnlySerialize(&'static str);

    #[test]
    fn arguments_are_cloned_when_they_can_be_and_decoded_otherwise() {
        let v = live_value(vec![1u8, 2, 3]);
        let a: Vec<u8> = (&&LiveArg::<Vec<u8>>::new()).take_live(&v, 0).unwrap();
        assert_eq!(a, vec![1, 2, 3]);
        // Another type with a compatible encoding: through the codec.
        let w: Vec<u16> = (&&LiveArg::<Vec<u16>>::new()).take_live(&v, 0).unwrap();
        assert_eq!(w, vec![1, 2, 3]);
        let nc = live_value(NotClone(9));
        let back: NotClone = (&&LiveArg::<NotClone>::new()).take_live(&nc, 0).unwrap();
        assert_eq!(back.0, 9);
        let wrong = (&&LiveArg::<String>::new()).take_live(&live_value(7u64), 2);
        assert!(matches!(wrong, Err(Error::Codec(m)) if m.contains("argument 3")));
    }

    #[test]
    fn results_that_cannot_decode_are_kept_encoded() {
        let r = (&&LiveRet::<OnlySerialize>::new())
            .keep_live(OnlySerialize("hi"))
            .unwrap();
        assert_eq!(r.codec.name, "bytes");
        let s: String = (&&LiveArg::<String>::new()).take_live(&r, 0).unwrap();
        assert_eq!(s, "hi");
        let live = (&&LiveRet::<String>::new()).keep_live("hi".into()).unwrap();
        assert_eq!(live.codec.name, "postcard");
        assert_eq!(
            live.downcast_ref::<String>().map(String::as_str),
            Some("hi")
        );
    }

    #[test]
    fn sizes_come_from_the_registry_or_the_encoding() {
        assert_eq!(live_value(vec![0u32; 10]).size, 24 + 40);
        // Unknown type: its encoded size (a length byte and ten u32s of 1 byte each), but
        // never less than its shallow size (24 bytes for a Vec).
        assert_eq!(live_value(vec![(1u32,); 10]).size, 24);
        assert_eq!(live_value(vec![(1000u32,); 100]).size, 1 + 200);
    }

    proptest! {
        #[test]
        fn postcard_codec_round_trips(v in proptest::collection::vec(any::<i64>(), 0..100)) {
            let c = postcard_codec::<Vec<i64>>();
            let b = c.encode_value(&v).unwrap();
            let back = c.decode_value(&b).unwrap();
            prop_assert_eq!(back.downcast_ref::<Vec<i64>>(), Some(&v));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = postcard_codec::<Vec<String>>().decode_value(&b);
            let _ = decode_arg::<(u64, String)>(&b, 0);
        }
    }
}
