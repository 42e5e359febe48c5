//! Properties of the key encoding, over arbitrary keys and bytes.

use custom_store::encoding::{decode, encode, encode_prefix};
use dagger_core::StoreKey;
use proptest::prelude::*;

/// Valid keys: 1–4 segments of key characters, none `.` or `..`.
fn key() -> impl Strategy<Value = StoreKey> {
    prop::collection::vec("[A-Za-z0-9._-]{1,8}", 1..5)
        .prop_filter_map("valid key", |segs| StoreKey::new(segs.join("/")).ok())
}

proptest! {
    #[test]
    fn keys_round_trip(k in key()) {
        prop_assert_eq!(decode(&encode(&k)).unwrap(), k);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        // Either the encoding of a valid key, or an error; never a panic.
        if let Ok(k) = decode(&bytes) {
            prop_assert_eq!(encode(&k), bytes);
        }
    }

    #[test]
    fn encoded_prefix_test_is_the_string_prefix_test(k in key(), cut in 0usize..40) {
        let s = k.as_str();
        let prefix = &s[..cut.min(s.len())];
        let p = encode_prefix(prefix).unwrap();
        prop_assert!(encode(&k).starts_with(&p));
        let other = format!("{prefix}~");
        let q = encode_prefix(&other).unwrap();
        prop_assert_eq!(encode(&k).starts_with(&q), s.starts_with(&other));
    }
}
