use super::*;
use proptest::prelude::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs both sides of a handshake over an in-memory pipe.
fn both(a: Cookie, b: Cookie) -> (Result<Hello>, Result<Hello>) {
    rt().block_on(async {
        let (mut x, mut y) = tokio::io::duplex(1 << 16);
        let ha = Hello::new(Role::Driver, Bytes::from_static(b"driver"));
        let hb = Hello::new(Role::Worker, Bytes::from_static(b"w2"));
        let (mut da, mut db) = (FrameDecoder::default(), FrameDecoder::default());
        tokio::join!(
            perform(&mut x, &mut da, &a, Side::Acceptor, &ha, "b"),
            perform(&mut y, &mut db, &b, Side::Initiator, &hb, "a"),
        )
    })
}

#[test]
fn same_cookie_succeeds_and_exchanges_info() {
    let (a, b) = both(Cookie::from("k"), Cookie::from("k"));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.role, &a.info[..]), (Role::Worker, &b"w2"[..]));
    assert_eq!((b.role, &b.info[..]), (Role::Driver, &b"driver"[..]));
}

#[test]
fn wrong_cookie_is_auth_on_both_sides() {
    let (a, b) = both(Cookie::from("k"), Cookie::from("K"));
    assert!(matches!(a, Err(Error::Auth(_))), "{a:?}");
    assert!(matches!(b, Err(Error::Auth(_))), "{b:?}");
}

#[test]
fn version_mismatch_names_both_versions() {
    let mut h = Hello::new(Role::Worker, Bytes::new());
    h.version = PROTOCOL_VERSION + 6;
    let e = Hello::parse(&h.encode().unwrap()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Protocol(_)));
    assert!(
        msg.contains(&format!("version {}", PROTOCOL_VERSION + 6)),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("version {PROTOCOL_VERSION}")),
        "{msg}"
    );
}

#[test]
fn garbage_peer_is_a_protocol_error() {
    let r = rt().block_on(async {
        let (mut x, mut y) = tokio::io::duplex(1 << 16);
        let mut garbage = encode_frame(b"not a hello at all", 1 << 10)
            .unwrap()
            .to_vec();
        garbage.extend_from_slice(&[0xff; 64]);
        y.write_all(&garbage).await.unwrap();
        let h = Hello::new(Role::Driver, Bytes::new());
        perform(
            &mut x,
            &mut FrameDecoder::default(),
            &Cookie::from("k"),
            Side::Acceptor,
            &h,
            "y",
        )
        .await
    });
    assert!(
        matches!(&r, Err(Error::Protocol(m)) if m.contains("magic")),
        "{r:?}"
    );
}

#[test]
fn oversized_handshake_frame_is_refused_before_buffering() {
    let r = rt().block_on(async {
        let (mut x, mut y) = tokio::io::duplex(1 << 16);
        y.write_all(&(1u32 << 30).to_le_bytes()).await.unwrap();
        let h = Hello::new(Role::Driver, Bytes::new());
        perform(
            &mut x,
            &mut FrameDecoder::default(),
            &Cookie::from("k"),
            Side::Acceptor,
            &h,
            "y",
        )
        .await
    });
    assert!(
        matches!(&r, Err(Error::Protocol(m)) if m.contains("exceeds")),
        "{r:?}"
    );
}

#[test]
fn hangup_mid_handshake_is_a_protocol_error() {
    let r = rt().block_on(async {
        let (mut x, y) = tokio::io::duplex(1 << 16);
        drop(y);
        let h = Hello::new(Role::Driver, Bytes::new());
        perform(
            &mut x,
            &mut FrameDecoder::default(),
            &Cookie::from("k"),
            Side::Acceptor,
            &h,
            "y",
        )
        .await
    });
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn proofs_are_bound_to_side_and_hellos() {
    let c = Cookie::from("k");
    let p = compute_proof(&c, Side::Initiator, b"v", b"p");
    assert_ne!(
        p,
        compute_proof(&c, Side::Acceptor, b"v", b"p"),
        "reflection must fail"
    );
    assert_ne!(p, compute_proof(&c, Side::Initiator, b"v2", b"p"));
    assert_ne!(
        p,
        compute_proof(&Cookie::from("j"), Side::Initiator, b"v", b"p")
    );
    assert!(verify_proof(&c, Side::Initiator, b"v", b"p", &p, "x").is_ok());
    assert!(matches!(
        verify_proof(&c, Side::Acceptor, b"v", b"p", &p, "x"),
        Err(Error::Auth(_))
    ));
    assert_eq!(parse_proof(&encode_proof(&p)).unwrap(), p);
}

#[test]
fn oversized_info_is_refused_when_encoding() {
    let h = Hello::new(Role::Client, Bytes::from(vec![0; MAX_INFO_LEN + 1]));
    assert!(matches!(h.encode(), Err(Error::Argument(_))));
    let h = Hello::new(Role::Client, Bytes::from(vec![0; MAX_INFO_LEN]));
    assert_eq!(h.encode().unwrap().len(), MAX_HANDSHAKE_FRAME_LEN);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(b in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = Hello::parse(&b);
        let _ = parse_proof(&b);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(b in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut m = MAGIC.to_vec();
        m.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        m.extend_from_slice(&b);
        let _ = Hello::parse(&m);
        let mut p = PROOF_MAGIC.to_vec();
        p.extend_from_slice(&b);
        let _ = parse_proof(&p);
    }

    #[test]
    fn hello_round_trips(role in prop::sample::select(vec![Role::Driver, Role::Worker, Role::Client]),
                         nonce in any::<[u8; 32]>(),
                         info in proptest::collection::vec(any::<u8>(), 0..300)) {
        let h = Hello { version: PROTOCOL_VERSION, role, nonce, info: info.into() };
        prop_assert_eq!(Hello::parse(&h.encode().unwrap()).unwrap(), h);
    }
}
