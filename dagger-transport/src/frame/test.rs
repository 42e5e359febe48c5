use super::*;
use proptest::prelude::*;

fn wire(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for f in frames {
        encode_frame_into(&mut buf, f, DEFAULT_MAX_FRAME_LEN).unwrap();
    }
    buf.to_vec()
}

fn drain(dec: &mut FrameDecoder, out: &mut Vec<Vec<u8>>) -> Result<()> {
    while let Some(f) = dec.next_frame()? {
        out.push(f.to_vec());
    }
    Ok(())
}

#[test]
fn header_is_u32_little_endian() {
    let f = encode_frame(&[7; 258], 1024).unwrap();
    assert_eq!(&f[..4], &[2, 1, 0, 0]);
    assert_eq!(f.len(), 262);
}

#[test]
fn oversized_length_is_a_protocol_error_and_sticks() {
    let mut dec = FrameDecoder::new(10);
    dec.push(&11u32.to_le_bytes());
    let e = dec.next_frame().unwrap_err();
    assert!(
        matches!(&e, Error::Protocol(m) if m.contains("11") && m.contains("maximum")),
        "{e}"
    );
    assert!(dec.is_failed());
    // Valid bytes after the failure do not revive the stream.
    dec.push(&wire(&[b"x".to_vec()]));
    assert!(matches!(dec.next_frame(), Err(Error::Protocol(_))));
    assert!(dec.finish().is_err());
}

#[test]
fn sender_side_refuses_oversized_payloads() {
    assert!(matches!(encode_frame(&[0; 11], 10), Err(Error::Protocol(m)) if m.contains("11")));
    assert!(encode_frame(&[0; 10], 10).is_ok());
}

#[test]
fn truncation_at_eof_names_what_is_missing() {
    let mut dec = FrameDecoder::default();
    dec.push(&[5, 0]);
    assert_eq!(dec.next_frame().unwrap(), None);
    let e = dec.finish().unwrap_err();
    assert!(
        matches!(&e, Error::Protocol(m) if m.contains("header") && m.contains("2 of 4")),
        "{e}"
    );

    let mut dec = FrameDecoder::default();
    dec.push(&[5, 0, 0, 0, 1, 2]);
    assert_eq!(dec.next_frame().unwrap(), None);
    let e = dec.finish().unwrap_err();
    assert!(
        matches!(&e, Error::Protocol(m) if m.contains("says 5") && m.contains("2 arrived")),
        "{e}"
    );
}

#[test]
fn max_len_can_grow_after_the_handshake_without_losing_bytes() {
    let bytes = wire(&[vec![1; 3], vec![2; 100]]);
    let mut dec = FrameDecoder::new(8);
    dec.push(&bytes);
    assert_eq!(dec.next_frame().unwrap().unwrap().len(), 3);
    dec.set_max_len(1000);
    assert_eq!(dec.next_frame().unwrap().unwrap().len(), 100);
    assert!(dec.finish().is_ok());
}

#[test]
fn read_target_reserves_room_without_trusting_huge_lengths() {
    let mut dec = FrameDecoder::default();
    dec.push(&u32::MAX.to_le_bytes()[..]);
    dec.set_max_len(ABSOLUTE_MAX_FRAME_LEN);
    let t = dec.read_target();
    assert!(t.capacity() - t.len() >= MIN_READ);
    assert!(
        t.capacity() < 2 * MAX_GROWTH + 64,
        "grew to {}",
        t.capacity()
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                   max in 0usize..300, cut in 0usize..512) {
        let mut dec = FrameDecoder::new(max);
        let cut = cut.min(bytes.len());
        let mut out = Vec::new();
        dec.push(&bytes[..cut]);
        let first = drain(&mut dec, &mut out);
        dec.push(&bytes[cut..]);
        let second = drain(&mut dec, &mut out);
        let _ = dec.finish();
        let _ = dec.read_target();
        for f in &out { prop_assert!(f.len() <= max); }
        if first.is_err() { prop_assert!(second.is_err()); }
    }

    #[test]
    fn round_trip_with_arbitrary_splits(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..20),
        chunks in proptest::collection::vec(1usize..64, 1..50),
    ) {
        let bytes = wire(&frames);
        let mut dec = FrameDecoder::new(200);
        let mut out = Vec::new();
        let (mut at, mut i) = (0, 0);
        while at < bytes.len() {
            let n = chunks[i % chunks.len()].min(bytes.len() - at);
            dec.push(&bytes[at..at + n]);
            drain(&mut dec, &mut out).unwrap();
            at += n;
            i += 1;
        }
        prop_assert!(dec.finish().is_ok());
        prop_assert_eq!(out, frames);
    }

    #[test]
    fn any_proper_prefix_is_reported_truncated(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..50), 1..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = wire(&frames);
        let cut = cut.index(bytes.len());
        let mut dec = FrameDecoder::default();
        dec.push(&bytes[..cut]);
        let mut out = Vec::new();
        drain(&mut dec, &mut out).unwrap();
        // Either the cut fell on a frame boundary, or finish says the stream was truncated.
        let on_boundary = wire(&frames[..out.len()]).len() == cut;
        prop_assert_eq!(dec.finish().is_ok(), on_boundary);
    }
}
