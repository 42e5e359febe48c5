use super::*;
use proptest::prelude::*;

#[test]
fn round_trip_keeps_codec_and_payload() {
    let file = encode_chunk_file("raw-le-f64", &[9u8; 100]).unwrap();
    assert_eq!(file.len(), chunk_file_len("raw-le-f64", 100));
    let (h, p) = decode_chunk_file("c1", &file).unwrap();
    assert_eq!(h.codec, "raw-le-f64");
    assert_eq!(h.version, VERSION);
    assert_eq!(&p[..], &[9u8; 100][..]);
}

#[test]
fn truncation_is_corrupt_naming_the_chunk() {
    let file = encode_chunk_file("postcard", b"some payload").unwrap();
    for cut in 0..file.len() {
        let err = decode_chunk_file("chunk c9 (file:///x/c9)", &file.slice(..cut)).unwrap_err();
        match err {
            Error::Corrupt { what, detail } => {
                assert_eq!(what, "chunk c9 (file:///x/c9)");
                assert!(!detail.is_empty());
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}

#[test]
fn appended_bytes_are_corrupt() {
    let mut v = encode_chunk_file("postcard", b"abc").unwrap().to_vec();
    v.push(0);
    let err = decode_chunk_file("c", &Bytes::from(v)).unwrap_err();
    assert!(err.to_string().contains("payload bytes"), "{err}");
}

#[test]
fn overlong_codec_name_is_an_argument_error() {
    let name = "x".repeat(70_000);
    assert!(matches!(
        encode_chunk_file(&name, b""),
        Err(Error::Argument(_))
    ));
}

proptest! {
    #[test]
    fn round_trip(name in "[a-z0-9-]{0,20}", payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let file = encode_chunk_file(&name, &payload).unwrap();
        let (h, p) = decode_chunk_file("c", &file).unwrap();
        prop_assert_eq!(h.codec, name);
        prop_assert_eq!(h.payload_len, payload.len() as u64);
        prop_assert_eq!(&p[..], &payload[..]);
    }

    #[test]
    fn arbitrary_bytes_are_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        // Random bytes essentially never carry the magic and a matching CRC.
        prop_assert!(decode_chunk_file("c", &Bytes::from(bytes)).is_err());
    }

    #[test]
    fn arbitrary_bytes_after_magic_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&VERSION.to_le_bytes());
        v.extend_from_slice(&tail);
        let _ = decode_chunk_file("c", &Bytes::from(v));
    }

    #[test]
    fn any_single_flipped_bit_is_detected(
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        bit in any::<proptest::sample::Index>(),
    ) {
        let file = encode_chunk_file("postcard", &payload).unwrap().to_vec();
        let i = bit.index(file.len() * 8);
        let mut bad = file.clone();
        bad[i / 8] ^= 1 << (i % 8);
        let err = decode_chunk_file("chunk c3", &Bytes::from(bad)).unwrap_err();
        prop_assert!(matches!(err, Error::Corrupt { .. }), "{:?}", err);
    }
}

fn stream_decode(file: &[u8]) -> dagger_core::Result<(String, Vec<u8>)> {
    let mut d = StreamDecoder::begin(file, "c", file.len() as u64)?;
    let mut buf = vec![0u8; d.payload_len as usize];
    d.read_payload(&mut buf)?;
    let codec = d.codec.clone();
    d.finish()?;
    Ok((codec, buf))
}

proptest! {
    #[test]
    fn streaming_write_matches_encode_and_streaming_read_checks(
        payload in proptest::collection::vec(any::<u8>(), 0..2000),
        bit in any::<proptest::sample::Index>(),
    ) {
        let file = encode_chunk_file("raw-le-u8", &payload).unwrap();
        let mut streamed = Vec::new();
        let n = write_chunk_file_to(&mut streamed, "raw-le-u8", &payload).unwrap();
        prop_assert_eq!(n as usize, streamed.len());
        prop_assert_eq!(&streamed[..], &file[..]);
        let (codec, back) = stream_decode(&streamed).unwrap();
        prop_assert_eq!(codec, "raw-le-u8");
        prop_assert_eq!(back, payload);
        let i = bit.index(streamed.len() * 8);
        let mut bad = streamed.clone();
        bad[i / 8] ^= 1 << (i % 8);
        let flipped_is_corrupt = matches!(stream_decode(&bad), Err(Error::Corrupt { .. }));
        prop_assert!(flipped_is_corrupt);
        let cut_is_corrupt =
            matches!(stream_decode(&streamed[..streamed.len() - 1]), Err(Error::Corrupt { .. }));
        prop_assert!(cut_is_corrupt);
    }

    #[test]
    fn streaming_read_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = stream_decode(&bytes);
    }
}

/// A payload large enough for the aligned layout.
fn large_payload() -> Vec<u8> {
    (0..layout::ALIGN_FROM + 1234)
        .map(|i| (i % 253) as u8)
        .collect()
}

#[test]
fn large_payloads_stream_page_aligned_and_both_readers_read_them() {
    let payload = large_payload();
    let mut file = Vec::new();
    let n = write_chunk_file_to(&mut file, "raw-le-u8", &payload).unwrap();
    assert_eq!(n as usize, file.len());
    assert_eq!(file.len(), streamed_file_len("raw-le-u8", payload.len()));
    let (h, p) = decode_chunk_file("c", &Bytes::from(file.clone())).unwrap();
    assert_eq!(
        (h.version, h.codec.as_str()),
        (VERSION_ALIGNED, "raw-le-u8")
    );
    assert_eq!(h.payload_len as usize, payload.len());
    assert_eq!(&p[..], &payload[..]);
    // The payload starts on a page boundary of the file.
    let start = file.len() - 4 - payload.len();
    assert_eq!(start % layout::ALIGN, 0);
    assert_eq!(&file[start..start + 16], &payload[..16]);
    assert_eq!(stream_decode(&file).unwrap(), ("raw-le-u8".into(), payload));
    // Small payloads keep the compact layout, byte for byte what `encode_chunk_file` writes.
    let mut small = Vec::new();
    write_chunk_file_to(&mut small, "postcard", b"tiny").unwrap();
    assert_eq!(
        &small[..],
        &encode_chunk_file("postcard", b"tiny").unwrap()[..]
    );
}

#[test]
fn damage_to_an_aligned_file_is_corrupt_for_both_readers() {
    let payload = large_payload();
    let mut file = Vec::new();
    write_chunk_file_to(&mut file, "raw-le-u8", &payload).unwrap();
    let start = file.len() - 4 - payload.len();
    // Every header and pad byte, bytes of the payload and of the trailer.
    let spots = (0..start + 8).chain([start + 5000, file.len() - 5, file.len() - 1]);
    for at in spots {
        let mut bad = file.clone();
        bad[at] ^= 0x04;
        let whole = decode_chunk_file("c", &Bytes::from(bad.clone()));
        assert!(
            matches!(whole, Err(Error::Corrupt { .. })),
            "byte {at}: {whole:?}"
        );
        let streamed = stream_decode(&bad);
        assert!(
            matches!(streamed, Err(Error::Corrupt { .. })),
            "byte {at}: {streamed:?}"
        );
    }
    for cut in (0..start + 8).chain([start + 5000, file.len() - 1]) {
        let whole = decode_chunk_file("c", &Bytes::from(file[..cut].to_vec()));
        assert!(
            matches!(whole, Err(Error::Corrupt { .. })),
            "cut {cut}: {whole:?}"
        );
        let streamed = stream_decode(&file[..cut]);
        assert!(
            matches!(streamed, Err(Error::Corrupt { .. })),
            "cut {cut}: {streamed:?}"
        );
    }
}
