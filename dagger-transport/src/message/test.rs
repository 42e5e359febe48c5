use super::*;
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum Msg {
    Hello {
        worker: u64,
        name: String,
    },
    Run {
        task: u64,
        args: Vec<u8>,
        deps: Vec<(u64, bool)>,
    },
    Meta(BTreeMap<String, f64>),
    Bye,
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (any::<u64>(), ".{0,20}").prop_map(|(worker, name)| Msg::Hello { worker, name }),
        (
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<(u64, bool)>(), 0..8)
        )
            .prop_map(|(task, args, deps)| Msg::Run { task, args, deps }),
        proptest::collection::btree_map(".{0,8}", -1e9f64..1e9, 0..6).prop_map(Msg::Meta),
        Just(Msg::Bye),
    ]
}

#[test]
fn trailing_bytes_are_a_protocol_error_naming_the_type() {
    let mut b = encode_message(&Msg::Bye).unwrap().to_vec();
    b.push(0);
    let e = decode_message::<Msg>(&b).unwrap_err();
    assert!(
        matches!(&e, Error::Protocol(m) if m.contains("Msg") && m.contains("1 trailing")),
        "{e}"
    );
}

#[test]
fn garbage_is_a_codec_error_naming_the_type() {
    let e = decode_message::<Msg>(&[200]).unwrap_err();
    assert!(matches!(&e, Error::Codec(m) if m.contains("Msg")), "{e}");
    assert!(matches!(decode_message::<u32>(&[]), Err(Error::Codec(_))));
}

#[test]
fn raw_frames_are_plain_little_endian() {
    let b = encode_raw_f64(&[1.5, -0.0]);
    assert_eq!(&b[..4], b"DRAW");
    assert_eq!(&b[16..24], &1.5f64.to_le_bytes());
    assert_eq!(&b[24..], &(-0.0f64).to_le_bytes());
    assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 2);
}

#[test]
fn raw_type_mismatch_names_both_types() {
    let e = decode_raw_f64(&encode_raw_f32(&[1.0])).unwrap_err();
    assert!(
        matches!(&e, Error::Codec(m) if m.contains("f32") && m.contains("f64")),
        "{e}"
    );
}

#[test]
fn raw_count_mismatch_is_a_protocol_error() {
    let mut b = encode_raw(&[1u16, 2, 3]).to_vec();
    b.pop();
    assert!(matches!(decode_raw::<u16>(&b), Err(Error::Protocol(m)) if m.contains("3 elements")));
    // A header claiming an absurd count allocates nothing.
    let mut h = b[..16].to_vec();
    h[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(decode_raw::<u16>(&h), Err(Error::Protocol(_))));
}

proptest! {
    #[test]
    fn messages_round_trip(m in msg()) {
        prop_assert_eq!(decode_message::<Msg>(&encode_message(&m).unwrap()).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic_decoders(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_message::<Msg>(&b);
        let _ = decode_message::<Vec<String>>(&b);
        let _ = decode_raw_f64(&b);
        let _ = decode_raw::<u8>(&b);
        let _ = RawHeader::parse(&b);
    }

    #[test]
    fn raw_round_trips(f in proptest::collection::vec(any::<f64>(), 0..100),
                       i in proptest::collection::vec(any::<i16>(), 0..100),
                       u in proptest::collection::vec(any::<u8>(), 0..100)) {
        let back = decode_raw_f64(&encode_raw_f64(&f)).unwrap();
        prop_assert_eq!(back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                        f.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        prop_assert_eq!(decode_raw::<i16>(&encode_raw(&i)).unwrap(), i);
        prop_assert_eq!(decode_raw::<u8>(&encode_raw(&u)).unwrap(), u);
    }
}
