//! [`Codec`](dagger_core::Codec) implementations: how values become bytes and back.
//!
//! - [`Postcard`]: any `serde` type, compact and self-delimiting; the general default.
//! - [`RawLe`]: vectors of plain numbers as raw little-endian bytes, with no per-element
//!   encoding (a `memcpy` on little-endian hosts), for array blocks.
//!
//! Both return [`Error::Codec`](dagger_core::Error::Codec) for malformed input, never panic.

mod postcard;
mod raw_le;

pub use self::postcard::Postcard;
pub use self::raw_le::{RawLe, RawNumber};

#[cfg(test)]
mod test;
