use super::*;
use crate::handshake::PROTOCOL_VERSION;
use tokio::io::AsyncReadExt;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn hello_info_and_role_reach_both_sides() {
    rt().block_on(async {
        let server = Tcp::new("c")
            .role(Role::Driver)
            .info(Bytes::from_static(b"driver-1"));
        let client = Tcp::new("c")
            .role(Role::Worker)
            .info(Bytes::from_static(b"worker-7"));
        let mut l = server.bind("127.0.0.1:0").await.unwrap();
        let addr = l.socket_addr().to_string();
        let (c, s) = tokio::join!(client.connect_with_hello(&addr), l.accept_with_hello());
        let ((_, from_server), (_, from_client)) = (c.unwrap(), s.unwrap());
        assert_eq!(
            (from_server.role, &from_server.info[..]),
            (Role::Driver, &b"driver-1"[..])
        );
        assert_eq!(
            (from_client.role, &from_client.info[..]),
            (Role::Worker, &b"worker-7"[..])
        );
        assert_eq!(from_client.version, PROTOCOL_VERSION);
    });
}

#[test]
fn frames_sent_right_after_the_handshake_are_not_lost() {
    rt().block_on(async {
        let t = Tcp::new("c");
        let mut l = t.bind("127.0.0.1:0").await.unwrap();
        let addr = l.socket_addr().to_string();
        let client = tokio::spawn(async move {
            let mut c = t.connect(&addr).await.unwrap();
            let frames: Vec<Bytes> = (0..5000u32)
                .map(|i| Bytes::from(i.to_le_bytes().to_vec()))
                .collect();
            c.sender.send_many(frames).await.unwrap();
            c.sender.send(Bytes::from(vec![9; 300_000])).await.unwrap();
        });
        let mut s = l.accept().await.unwrap();
        for i in 0..5000u32 {
            assert_eq!(
                s.receiver.recv().await.unwrap().unwrap()[..],
                i.to_le_bytes()
            );
        }
        assert_eq!(s.receiver.recv().await.unwrap().unwrap().len(), 300_000);
        client.await.unwrap();
        assert_eq!(s.receiver.recv().await.unwrap(), None);
    });
}

#[test]
fn oversized_send_is_refused_before_anything_is_written() {
    rt().block_on(async {
        let t = Tcp::new("c").max_frame_len(100);
        let mut l = t.bind("127.0.0.1:0").await.unwrap();
        let addr = l.socket_addr().to_string();
        let (c, s) = tokio::join!(t.connect(&addr), l.accept());
        let (mut c, mut s) = (c.unwrap(), s.unwrap());
        let batch = vec![Bytes::from_static(b"ok"), Bytes::from(vec![0; 101])];
        assert!(matches!(
            c.sender.send_many(batch).await,
            Err(Error::Protocol(_))
        ));
        // The connection is still usable and the refused batch left no trace.
        c.sender.send(Bytes::from_static(b"after")).await.unwrap();
        assert_eq!(&s.receiver.recv().await.unwrap().unwrap()[..], b"after");
    });
}

#[test]
fn silent_peer_times_out_without_blocking_other_accepts() {
    rt().block_on(async {
        let t = Tcp::new("c").handshake_timeout(Duration::from_millis(300));
        let mut l = t.bind("127.0.0.1:0").await.unwrap();
        let addr = l.socket_addr().to_string();
        // A peer that connects and says nothing.
        let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
        // A good client is served while the silent one is still pending.
        let (c, s) = tokio::join!(t.connect(&addr), l.accept());
        assert!(c.is_ok() && s.is_ok());
        let e = l.accept().await.unwrap_err();
        assert!(
            matches!(&e, Error::Transport(m) if m.contains("timed out")),
            "{e}"
        );
        // The silent peer read our hello, then saw the socket close.
        let mut buf = Vec::new();
        let _ = silent.read_to_end(&mut buf).await;
        assert_eq!(&buf[4..8], b"DGRH");
    });
}

#[test]
fn connect_to_nothing_is_a_transport_error() {
    rt().block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let e = Tcp::new("c").connect(&addr).await.unwrap_err();
        assert!(
            matches!(&e, Error::Transport(m) if m.contains(&addr)),
            "{e}"
        );
    });
}

#[test]
fn dropping_the_listener_closes_the_port() {
    rt().block_on(async {
        let t = Tcp::new("c");
        let l = t.bind("127.0.0.1:0").await.unwrap();
        let addr = l.socket_addr().to_string();
        drop(l);
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t.connect(&addr).await.is_err());
    });
}
