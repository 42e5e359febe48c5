use super::*;
use dagger_core::Codec;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    values: Vec<f64>,
    tag: Option<i8>,
}

fn record() -> impl Strategy<Value = Record> {
    (
        any::<u64>(),
        ".{0,16}",
        proptest::collection::vec(any::<f64>(), 0..16),
        any::<Option<i8>>(),
    )
        .prop_map(|(id, name, values, tag)| Record {
            id,
            name,
            values,
            tag,
        })
}

fn raw_round_trip<T: RawNumber + PartialEq + std::fmt::Debug>(
    v: Vec<T>,
) -> Result<(), TestCaseError> {
    let bytes = RawLe.encode(&v).unwrap();
    prop_assert_eq!(bytes.len(), v.len() * std::mem::size_of::<T>());
    let back: Vec<T> = RawLe.decode(&bytes).unwrap();
    // Compare bit patterns so NaNs round trip too.
    prop_assert_eq!(
        bytemuck::cast_slice::<T, u8>(&back),
        bytemuck::cast_slice::<T, u8>(&v)
    );
    Ok(())
}

#[test]
fn raw_le_is_little_endian_bytes() {
    let bytes = RawLe.encode(&vec![0x0102_0304u32]).unwrap();
    assert_eq!(&bytes[..], &[4, 3, 2, 1]);
    let boxed: Box<[i16]> = vec![-2i16, 3].into_boxed_slice();
    let b = RawLe.encode(&boxed).unwrap();
    assert_eq!(
        <RawLe as Codec<Box<[i16]>>>::decode(&RawLe, &b).unwrap(),
        boxed
    );
    assert_eq!(<RawLe as Codec<Vec<f32>>>::name(&RawLe), "raw-le-f32");
}

#[test]
fn postcard_rejects_trailing_bytes() {
    let mut b = Postcard.encode(&7u32).unwrap().to_vec();
    b.push(0);
    let err = <Postcard as Codec<u32>>::decode(&Postcard, &b).unwrap_err();
    assert!(err.to_string().contains("trailing"), "{err}");
}

proptest! {
    #[test]
    fn postcard_round_trips(r in record()) {
        let bytes = Postcard.encode(&r).unwrap();
        let back: Record = Postcard.decode(&bytes).unwrap();
        // NaN != NaN, so compare the re-encoding.
        prop_assert_eq!(Postcard.encode(&back).unwrap(), bytes);
    }

    #[test]
    fn postcard_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = <Postcard as Codec<Record>>::decode(&Postcard, &b);
        let _ = <Postcard as Codec<Vec<String>>>::decode(&Postcard, &b);
    }

    #[test]
    fn raw_le_round_trips(
        a in proptest::collection::vec(any::<u8>(), 0..64),
        b in proptest::collection::vec(any::<i16>(), 0..64),
        c in proptest::collection::vec(any::<u32>(), 0..64),
        d in proptest::collection::vec(any::<i64>(), 0..64),
        e in proptest::collection::vec(any::<f32>(), 0..64),
        f in proptest::collection::vec(any::<f64>(), 0..64),
    ) {
        raw_round_trip(a)?;
        raw_round_trip(b)?;
        raw_round_trip(c)?;
        raw_round_trip(d)?;
        raw_round_trip(e)?;
        raw_round_trip(f)?;
    }

    #[test]
    fn raw_le_arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let r: dagger_core::Result<Vec<f64>> = RawLe.decode(&b);
        prop_assert_eq!(r.is_ok(), b.len() % 8 == 0);
        let r: dagger_core::Result<Vec<u16>> = RawLe.decode(&b);
        prop_assert_eq!(r.is_ok(), b.len() % 2 == 0);
        let r: dagger_core::Result<Vec<i8>> = RawLe.decode(&b);
        prop_assert!(r.is_ok());
    }
}
