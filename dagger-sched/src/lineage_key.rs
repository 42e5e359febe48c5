//! Stable keys of task lineages: what a checkpoint is stored under.
//!
//! A key is the SHA-256 of a task's lineage, written as an unambiguous byte string (every
//! field length-prefixed, so two different lineages never hash the same bytes):
//!
//! 1. a format tag, the function's stable name (a registered function's `module::name`, or
//!    the name a user gave a closure) and the code tag of the run;
//! 2. per argument, in order: the key of the task that produces it (`t`), the SHA-256-fed
//!    postcard encoding of a plain value (`v`), or a list (`l`, its length, then each
//!    element).
//!
//! Keys come from lineage, never from task ids, so a re-run of the same program builds the
//! same keys. An argument without a key (a handle to a task that has none: an unnamed
//! closure, a `tochunk` value) makes the whole task keyless, and a keyless task is never
//! checkpointed.

use sha2::{Digest, Sha256};
use std::fmt;

/// The stable key of a task's lineage (see [`crate::checkpoint`]).
///
/// ```
/// use dagger_sched::checkpoint::{KeyHasher, LineageKey};
/// let mut h = KeyHasher::new("my_crate::add", "v1");
/// h.value(&[1, 2]);
/// let k: LineageKey = h.finish();
/// assert_eq!(LineageKey::from_hex(&k.to_hex()), Some(k));
/// let mut other = KeyHasher::new("my_crate::add", "v2"); // another code tag
/// other.value(&[1, 2]);
/// assert_ne!(other.finish(), k);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineageKey(pub [u8; 32]);

impl LineageKey {
    /// The key as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Parses 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.as_bytes();
        if s.len() != 64 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16);
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Some(LineageKey(out))
    }
}

impl fmt::Debug for LineageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LineageKey({})", self.to_hex())
    }
}

impl fmt::Display for LineageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Builds a [`LineageKey`] from a function, a code tag and the arguments, in order.
#[derive(Clone)]
pub struct KeyHasher(Sha256);

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHasher")
    }
}

/// Bumped when the byte string hashed changes: old checkpoints then simply stop matching.
const FORMAT: &[u8] = b"dagger-lineage-1";

impl KeyHasher {
    /// Starts the key of a task of function `func` under code tag `tag`.
    pub fn new(func: &str, tag: &str) -> Self {
        let mut h = KeyHasher(Sha256::new());
        h.bytes(FORMAT);
        h.bytes(func.as_bytes());
        h.bytes(tag.as_bytes());
        h
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    /// Adds an argument that is a plain value, by its encoded bytes.
    pub fn value(&mut self, encoded: &[u8]) {
        self.0.update(b"v");
        self.bytes(encoded);
    }

    /// Adds an argument that is the result of the task with key `key`.
    pub fn task(&mut self, key: &LineageKey) {
        self.0.update(b"t");
        self.0.update(key.0);
    }

    /// Adds a list argument of `len` elements (each added next, in order).
    pub fn list(&mut self, len: usize) {
        self.0.update(b"l");
        self.0.update((len as u64).to_le_bytes());
    }

    /// The key.
    pub fn finish(self) -> LineageKey {
        LineageKey(self.0.finalize().into())
    }
}
