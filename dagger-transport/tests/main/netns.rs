//! TCP between two network namespaces, as between two machines: a listener in `dgr-a`
//! (10.231.0.1), a client in `dgr-b` (10.231.0.2), linked by a veth pair that
//! `scripts/dagger-transport/netns.sh` sets up. No traffic leaves this machine.
//!
//! Needs root (to create namespaces); without it the test prints why and passes. Each side
//! runs on its own thread that enters its namespace with `setns(2)`: a thread's network
//! namespace decides where the sockets it creates live.

use crate::common::current_thread_rt;
use bytes::Bytes;
use dagger_core::{Error, Transport};
use dagger_transport::Tcp;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const COOKIE: &str = "netns-cookie";
const FRAMES: usize = 1000;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/dagger-transport/netns.sh")
}

/// Why namespaces cannot be used here, if they cannot.
fn unavailable() -> Option<String> {
    let probe = format!("dgr-probe-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Err(e) => Some(format!("cannot run `ip`: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "`ip netns add` failed (not root, or no CAP_SYS_ADMIN?): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => {
            let _ = Command::new("ip")
                .args(["netns", "delete", &probe])
                .status();
            None
        }
    }
}

/// The two namespaces, torn down on drop (also when the test panics).
struct Namespaces;

impl Namespaces {
    fn up() -> Namespaces {
        let out = Command::new("bash")
            .arg(script())
            .arg("up")
            .output()
            .expect("run netns.sh");
        // Clean up a half-built set-up before failing.
        let guard = Namespaces;
        assert!(
            out.status.success(),
            "netns.sh up failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        guard
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        match Command::new("bash").arg(script()).arg("down").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "netns.sh down failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("cannot run netns.sh down: {e}"),
        }
    }
}

/// Runs `f` on a new thread that lives in network namespace `ns`.
fn in_netns<T: Send + 'static>(
    ns: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::spawn(move || {
        let file =
            std::fs::File::open(format!("/var/run/netns/{ns}")).expect("open namespace file");
        // SAFETY: setns only changes this thread's network namespace; the fd is valid for
        // the duration of the call.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns({ns}): {}", std::io::Error::last_os_error());
        f()
    })
}

#[test]
fn tcp_between_two_network_namespaces() {
    if let Some(reason) = unavailable() {
        eprintln!("skipping tcp_between_two_network_namespaces: {reason}");
        return;
    }
    let _ns = Namespaces::up();
    let (port_tx, port_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();

    let done = done_tx.clone();
    let _server = in_netns("dgr-a", move || {
        let r = current_thread_rt().block_on(async {
            let tcp = Tcp::new(COOKIE).handshake_timeout(Duration::from_secs(5));
            let mut l = tcp.listen("10.231.0.1:0").await?;
            let _ = port_tx.send(l.local_addr());
            // First a client with the wrong cookie, then a good one.
            let refused = l.accept().await;
            assert!(
                matches!(refused, Err(Error::Auth(_))),
                "wrong cookie got {refused:?}"
            );
            let mut conn = l.accept().await?;
            let peer = conn.peer.clone();
            let mut n = 0;
            while let Some(f) = conn.receiver.recv().await? {
                conn.sender.send(f).await?;
                n += 1;
            }
            Ok::<_, Error>(format!("server: {n} frames echoed to {peer}"))
        });
        let _ = done.send(r);
    });

    let addr = port_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the server never listened");
    assert!(addr.starts_with("10.231.0.1:"), "{addr}");
    let _client = in_netns("dgr-b", move || {
        let r = current_thread_rt().block_on(async {
            let wrong = Tcp::new("wrong")
                .handshake_timeout(Duration::from_secs(5))
                .connect(&addr)
                .await;
            assert!(
                matches!(wrong, Err(Error::Auth(_))),
                "wrong cookie got {wrong:?}"
            );
            let mut c = Tcp::new(COOKIE)
                .handshake_timeout(Duration::from_secs(5))
                .connect(&addr)
                .await?;
            let frames: Vec<Bytes> = (0..FRAMES)
                .map(|i| Bytes::from(format!("frame {i}")))
                .collect();
            c.sender.send_many(frames.clone()).await?;
            for f in &frames {
                let got = c.receiver.recv().await?;
                assert_eq!(got.as_ref(), Some(f));
            }
            Ok::<_, Error>(format!(
                "client: {FRAMES} frames round-tripped via {}",
                c.peer
            ))
        });
        let _ = done_tx.send(r);
    });

    // Each side reports once; a panic on either side drops its sender, which ends the wait.
    let mut reports = Vec::new();
    for _ in 0..2 {
        match done_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(r) => reports.push(r.expect("a side failed")),
            Err(e) => panic!("a side did not finish ({e}); reports so far: {reports:?}"),
        }
    }
    eprintln!("{reports:#?}");
    let all = reports.join("\n");
    assert!(
        all.contains(&format!("server: {FRAMES} frames echoed to 10.231.0.2:")),
        "{all}"
    );
    assert!(all.contains("via 10.231.0.1:"), "{all}");
}
