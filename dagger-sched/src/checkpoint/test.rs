//! The checkpoint file codec and lineage keys: round trips, and no panic on any bytes.

use super::*;
use proptest::prelude::*;

#[test]
fn every_damage_is_a_typed_error() {
    let key = LineageKey([3; 32]);
    let file = encode_file(&key, "v1", "u64", b"payload");
    assert_eq!(check_file(&file, &key, "v1", "u64"), Ok(&b"payload"[..]));
    assert_eq!(
        check_file(&file, &key, "v2", "u64"),
        Err(CheckpointError::OtherTag("v1".into()))
    );
    assert_eq!(
        check_file(&file, &key, "v1", "u32"),
        Err(CheckpointError::OtherType("u64".into()))
    );
    assert_eq!(
        check_file(&file, &LineageKey([4; 32]), "v1", "u64"),
        Err(CheckpointError::OtherKey)
    );
    assert!(matches!(
        decode_file(&file[..file.len() - 1]),
        Err(CheckpointError::Checksum { .. } | CheckpointError::Truncated { .. })
    ));
    assert_eq!(
        decode_file(b"DGRCKPT"),
        Err(CheckpointError::Truncated { len: 7 })
    );
    assert_eq!(
        decode_file(b"NOTACKPTxxxxxxxxx"),
        Err(CheckpointError::BadMagic)
    );
    let mut flipped = file.clone();
    flipped[60] ^= 1;
    assert!(matches!(
        decode_file(&flipped),
        Err(CheckpointError::Checksum { .. })
    ));
}

#[test]
fn keys_are_fanned_out_hex_store_keys() {
    let key = LineageKey([0xab; 32]);
    let sk = store_key(&key);
    assert_eq!(sk.as_str(), format!("{PREFIX}/ab/{}", "ab".repeat(32)));
}

proptest! {
    #[test]
    fn file_round_trips(key in any::<[u8; 32]>(), tag in ".{0,40}", ty in "[a-z:<>]{0,40}",
                        payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let key = LineageKey(key);
        let file = encode_file(&key, &tag, &ty, &payload);
        let (h, p) = decode_file(&file).unwrap();
        prop_assert_eq!(h, CheckpointHeader { key, tag: tag.clone(), type_name: ty.clone() });
        prop_assert_eq!(p, &payload[..]);
        prop_assert_eq!(check_file(&file, &key, &tag, &ty), Ok(&payload[..]));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_file(&bytes);
        // Bytes that start like a checkpoint reach the length and checksum checks too.
        let mut framed = MAGIC.to_vec();
        framed.extend_from_slice(&1u16.to_le_bytes());
        framed.extend_from_slice(&bytes);
        let _ = decode_file(&framed);
    }

    #[test]
    fn any_truncation_or_bit_flip_is_refused(payload in proptest::collection::vec(any::<u8>(), 0..200),
                                             at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let key = LineageKey([9; 32]);
        let file = encode_file(&key, "t", "T", &payload);
        let cut = at.index(file.len());
        prop_assert!(decode_file(&file[..cut]).is_err());
        let mut flipped = file.clone();
        flipped[cut] ^= 1 << bit;
        prop_assert!(decode_file(&flipped).is_err());
    }

    #[test]
    fn keys_round_trip_through_hex_and_separate_lineages(
        name in "[a-z:]{1,20}", tag in "[a-z0-9]{0,8}",
        a in proptest::collection::vec(any::<u8>(), 0..20),
        b in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        let key = |args: &[&[u8]]| {
            let mut h = KeyHasher::new(&name, &tag);
            args.iter().for_each(|x| h.value(x));
            h.finish()
        };
        let k = key(&[&a, &b]);
        prop_assert_eq!(LineageKey::from_hex(&k.to_hex()), Some(k));
        prop_assert_eq!(LineageKey::from_hex(&k.to_hex().to_uppercase()), Some(k));
        prop_assert_eq!(key(&[&a, &b]), k); // stable
        // Moving bytes between arguments changes the key (lengths are hashed).
        if !a.is_empty() {
            let (a1, a2) = a.split_at(a.len() - 1);
            let mut b2 = a2.to_vec();
            b2.extend_from_slice(&b);
            prop_assert_ne!(key(&[a1, &b2]), k);
        }
        let mut other = KeyHasher::new(&name, &format!("{tag}x"));
        other.value(&a);
        other.value(&b);
        prop_assert_ne!(other.finish(), k);
    }
}
