use super::transport::Tcp;
use crate::handshake::{Role, PROTOCOL_VERSION};
use bytes::Bytes;
use dagger_core::{Error, Result, Transport, TransportListener};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Runs a test body on a 2-thread runtime; a failed step surfaces as the test's error.
fn run<F: std::future::Future<Output = Result<()>>>(body: F) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Io(e.to_string()))?
        .block_on(body)
}

/// The next frame, or an error if the stream ended.
async fn next(r: &mut Box<dyn dagger_core::FrameReceiver>) -> Result<Bytes> {
    r.recv()
        .await?
        .ok_or_else(|| Error::Transport("stream ended".into()))
}

#[test]
fn hello_info_and_role_reach_both_sides() -> Result<()> {
    run(async {
        let server = Tcp::new("c")
            .role(Role::Driver)
            .info(Bytes::from_static(b"driver-1"));
        let client = Tcp::new("c")
            .role(Role::Worker)
            .info(Bytes::from_static(b"worker-7"));
        let mut l = server.bind("127.0.0.1:0").await?;
        let addr = l.socket_addr().to_string();
        let (c, s) = tokio::join!(client.connect_with_hello(&addr), l.accept_with_hello());
        let ((_, from_server), (_, from_client)) = (c?, s?);
        assert_eq!(
            (from_server.role, &from_server.info[..]),
            (Role::Driver, &b"driver-1"[..])
        );
        assert_eq!(
            (from_client.role, &from_client.info[..]),
            (Role::Worker, &b"worker-7"[..])
        );
        assert_eq!(from_client.version, PROTOCOL_VERSION);
        Ok(())
    })
}

#[test]
fn frames_sent_right_after_the_handshake_are_not_lost() -> Result<()> {
    run(async {
        let t = Tcp::new("c");
        let mut l = t.bind("127.0.0.1:0").await?;
        let addr = l.socket_addr().to_string();
        let client = tokio::spawn(async move {
            let mut c = t.connect(&addr).await?;
            let frames: Vec<Bytes> = (0..5000u32)
                .map(|i| Bytes::from(i.to_le_bytes().to_vec()))
                .collect();
            c.sender.send_many(frames).await?;
            c.sender.send(Bytes::from(vec![9; 300_000])).await?;
            Ok::<(), Error>(())
        });
        let mut s = l.accept().await?;
        for i in 0..5000u32 {
            assert_eq!(next(&mut s.receiver).await?[..], i.to_le_bytes());
        }
        assert_eq!(next(&mut s.receiver).await?.len(), 300_000);
        client
            .await
            .map_err(|e| Error::Transport(e.to_string()))??;
        assert_eq!(s.receiver.recv().await?, None);
        Ok(())
    })
}

#[test]
fn oversized_send_is_refused_before_anything_is_written() -> Result<()> {
    run(async {
        let t = Tcp::new("c").max_frame_len(100);
        let mut l = t.bind("127.0.0.1:0").await?;
        let addr = l.socket_addr().to_string();
        let (c, s) = tokio::join!(t.connect(&addr), l.accept());
        let (mut c, mut s) = (c?, s?);
        let batch = vec![Bytes::from_static(b"ok"), Bytes::from(vec![0; 101])];
        assert!(matches!(
            c.sender.send_many(batch).await,
            Err(Error::Protocol(_))
        ));
        // The connection is still usable and the refused batch left no trace.
        c.sender.send(Bytes::from_static(b"after")).await?;
        assert_eq!(&next(&mut s.receiver).await?[..], b"after");
        Ok(())
    })
}

#[test]
fn silent_peer_times_out_without_blocking_other_accepts() -> Result<()> {
    run(async {
        let t = Tcp::new("c").handshake_timeout(Duration::from_millis(300));
        let mut l = t.bind("127.0.0.1:0").await?;
        let addr = l.socket_addr().to_string();
        // A peer that connects and says nothing.
        let mut silent = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| Error::Io(e.to_string()))?;
        // A good client is served while the silent one is still pending.
        let (c, s) = tokio::join!(t.connect(&addr), l.accept());
        assert!(c.is_ok() && s.is_ok());
        let Err(e) = l.accept().await else {
            return Err(Error::Protocol("a silent peer was accepted".into()));
        };
        assert!(
            matches!(&e, Error::Transport(m) if m.contains("timed out")),
            "{e}"
        );
        // The silent peer read our hello, then saw the socket close.
        let mut buf = Vec::new();
        let _ = silent.read_to_end(&mut buf).await;
        assert_eq!(&buf[4..8], b"DGRH");
        Ok(())
    })
}

#[test]
fn connect_to_nothing_is_a_transport_error() -> Result<()> {
    run(async {
        let io = |e: std::io::Error| Error::Io(e.to_string());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(io)?;
        let addr = l.local_addr().map_err(io)?.to_string();
        drop(l);
        let Err(e) = Tcp::new("c").connect(&addr).await else {
            return Err(Error::Protocol("connected to a closed port".into()));
        };
        assert!(
            matches!(&e, Error::Transport(m) if m.contains(&addr)),
            "{e}"
        );
        Ok(())
    })
}

#[test]
fn dropping_the_listener_closes_the_port() -> Result<()> {
    run(async {
        let t = Tcp::new("c");
        let l = t.bind("127.0.0.1:0").await?;
        let addr = l.socket_addr().to_string();
        drop(l);
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t.connect(&addr).await.is_err());
        Ok(())
    })
}
