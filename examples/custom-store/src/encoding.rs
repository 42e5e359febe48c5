//! The store's own key encoding.
//!
//! A [`StoreKey`] is a `/`-separated path. Inside a shard this store keys values by the
//! key's bytes with every `/` replaced by the ASCII unit separator `0x1F`, a byte no valid
//! key contains. The mapping is one byte for one byte, so "key starts with prefix" is the
//! same test on either side; but it does *not* keep the order (`0x1F` sorts before every
//! key character while `/` sorts between `.` and `0`), which is why
//! [`ShardedStore::list`](crate::ShardedStore) sorts what it decodes, as the trait asks.
//!
//! ```
//! use custom_store::encoding::{decode, encode, encode_prefix};
//! use dagger_core::StoreKey;
//! let k = StoreKey::new("a/b.c").unwrap();
//! assert_eq!(encode(&k), b"a\x1fb.c");
//! assert_eq!(decode(&encode(&k)).unwrap(), k);
//! assert_eq!(encode_prefix("a/"), Some(b"a\x1f".to_vec()));
//! assert_eq!(encode_prefix("a\u{1f}"), None); // can match no valid key
//! ```

use dagger_core::{Error, Result, StoreKey};

/// The byte that stands for `/`.
pub const SEPARATOR: u8 = 0x1F;

/// The bytes a shard keys `key` by.
pub fn encode(key: &StoreKey) -> Vec<u8> {
    key.as_str()
        .bytes()
        .map(|b| if b == b'/' { SEPARATOR } else { b })
        .collect()
}

/// A `list` prefix in encoded form; `None` when the prefix holds the separator byte itself
/// (no valid key does, so nothing can match).
pub fn encode_prefix(prefix: &str) -> Option<Vec<u8>> {
    if prefix.as_bytes().contains(&SEPARATOR) {
        return None;
    }
    Some(
        prefix
            .bytes()
            .map(|b| if b == b'/' { SEPARATOR } else { b })
            .collect(),
    )
}

/// The key `bytes` encode.
///
/// # Errors
///
/// [`Error::Corrupt`] if the bytes are not the encoding of a valid key (which would mean
/// the map was damaged: only [`encode`] writes keys).
pub fn decode(bytes: &[u8]) -> Result<StoreKey> {
    let text: String = bytes
        .iter()
        .map(|&b| if b == SEPARATOR { '/' } else { char::from(b) })
        .collect();
    if !bytes.is_ascii() || bytes.contains(&b'/') {
        return Err(corrupt(bytes, "not an encoded key"));
    }
    StoreKey::new(text).map_err(|e| corrupt(bytes, &e.to_string()))
}

fn corrupt(bytes: &[u8], detail: &str) -> Error {
    Error::Corrupt {
        what: format!(
            "custom-store key {}",
            String::from_utf8_lossy(bytes).escape_debug()
        ),
        detail: detail.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_valid_key_round_trips() {
        for k in ["a", "a/b", "x.y/z-1/_", "deep/er/and/deeper", "A9/..a"] {
            let key = StoreKey::new(k).unwrap();
            assert_eq!(decode(&encode(&key)).unwrap(), key, "{k}");
        }
    }

    #[test]
    fn foreign_bytes_are_corrupt_not_a_panic() {
        for bad in [&b""[..], b"a/b", b"\xff", b"a\x1f\x1fb", b"\x1f", b"a b"] {
            assert!(matches!(decode(bad), Err(Error::Corrupt { .. })), "{bad:?}");
        }
    }

    #[test]
    fn prefix_test_agrees_with_strings() {
        let keys = ["ls/a/1", "ls/ab", "ls/b/1", "ls.x"];
        for prefix in ["ls/a", "ls/", "ls", "ls.", ""] {
            let p = encode_prefix(prefix).unwrap();
            for k in keys {
                let e = encode(&StoreKey::new(k).unwrap());
                assert_eq!(e.starts_with(&p), k.starts_with(prefix), "{k} / {prefix}");
            }
        }
    }
}
