//! List arguments (`All`) on a worker: the encoding of a `Vec<T>` assembled from the
//! encodings of its elements, wherever each element came from.
//!
//! postcard encodes a sequence as its length (an unsigned LEB128 varint) followed by each
//! element's encoding, with nothing between them. So a worker that has every element's bytes
//! — inline, held here, or fetched from the peer that owns it — builds the `Vec<T>`
//! argument's bytes by concatenation, without knowing `T`, and the function decodes it as
//! it decodes any other argument.

use bytes::{BufMut, Bytes, BytesMut};

/// The most bytes an unsigned LEB128 varint of a `u64` takes.
const MAX_VARINT: usize = 10;

/// Appends `n` as postcard writes a sequence length (unsigned LEB128: seven bits a byte,
/// low bits first, the high bit set on every byte but the last).
fn put_varint(out: &mut BytesMut, mut n: u64) {
    while n >= 0x80 {
        out.put_u8((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.put_u8(n as u8);
}

/// The postcard encoding of a `Vec<T>` whose elements' encodings are `items`, in order.
///
/// One allocation of the exact size; each element is copied once.
pub(crate) fn sequence(items: &[Bytes]) -> Bytes {
    let body: usize = items.iter().map(Bytes::len).sum();
    let mut out = BytesMut::with_capacity(MAX_VARINT + body);
    put_varint(&mut out, items.len() as u64);
    for i in items {
        out.extend_from_slice(i);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;

    fn assembled<T: Serialize>(v: &[T]) -> Bytes {
        let items: Vec<Bytes> = v
            .iter()
            .map(|x| Bytes::from(postcard::to_allocvec(x).unwrap()))
            .collect();
        sequence(&items)
    }

    #[test]
    fn lengths_across_varint_boundaries_match_postcard() {
        for n in [0usize, 1, 2, 127, 128, 129, 300, 16_383, 16_384, 20_000] {
            let v: Vec<u8> = (0..n).map(|i| i as u8).collect();
            assert_eq!(
                assembled(&v).as_ref(),
                postcard::to_allocvec(&v).unwrap().as_slice(),
                "{n} elements"
            );
        }
    }

    #[test]
    fn nested_and_structured_elements_match_postcard() {
        let v: Vec<(String, Vec<f64>, Option<u64>)> = vec![
            ("a".into(), vec![1.5; 3], Some(u64::MAX)),
            (String::new(), Vec::new(), None),
            ("long".repeat(100), vec![-0.0, f64::INFINITY], Some(7)),
        ];
        let b = assembled(&v);
        assert_eq!(b.as_ref(), postcard::to_allocvec(&v).unwrap().as_slice());
        let back: Vec<(String, Vec<f64>, Option<u64>)> = postcard::from_bytes(&b).unwrap();
        assert_eq!(back, v);
    }

    proptest! {
        #[test]
        fn any_vec_of_vecs_matches_postcard(v in proptest::collection::vec(proptest::collection::vec(any::<u64>(), 0..40), 0..200)) {
            let want = postcard::to_allocvec(&v).unwrap();
            let got = assembled(&v);
            prop_assert_eq!(got.as_ref(), want.as_slice());
        }

        #[test]
        fn varint_matches_postcard_for_any_length(n in any::<u64>()) {
            let mut out = BytesMut::new();
            put_varint(&mut out, n);
            // postcard writes a usize length the same way it writes a u64 varint.
            let want = postcard::to_allocvec(&n).unwrap();
            prop_assert_eq!(out.as_ref(), want.as_slice());
        }
    }
}
