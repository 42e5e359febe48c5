//! Two hosts simulated by network namespaces this test makes itself (`dgr-a`, `dgr-b`, a veth
//! pair, 10.231.0.1 ↔ 10.231.0.2): a driver in one, a worker process in the other joining by
//! address and cookie. Skipped, with the reason printed, where namespaces cannot be made.

use dagger::{Options, Scope, WorkerId};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;

use crate::harness::{as_worker, listening_driver};
use std::time::{Duration, Instant};

dagger::register! {
    fn where_am_i(x: i64) -> (u32, i64) { (dagger::myid().0, x * 2) }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/dagger-transport/netns.sh")
}

fn unavailable() -> Option<String> {
    let probe = format!("dgr-probe-{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Err(e) => Some(format!("cannot run `ip`: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "`ip netns add` failed (not root?): {}",
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

struct Namespaces;

impl Drop for Namespaces {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).arg("down").status();
    }
}

#[test]
fn a_worker_in_another_namespace_joins_by_address_and_cookie() {
    if let Some(reason) = unavailable() {
        eprintln!("skipped: {reason}");
        return;
    }
    let out = Command::new("bash")
        .arg(script())
        .arg("up")
        .output()
        .unwrap();
    let _ns = Namespaces;
    assert!(
        out.status.success(),
        "netns.sh up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dagger::init();
    let exe = std::env::current_exe().unwrap();
    // The driver's sockets are made on a thread inside dgr-a, so they live in dgr-a.
    let driver = std::thread::spawn(move || {
        let f = std::fs::File::open("/var/run/netns/dgr-a").unwrap();
        // SAFETY: changes only this thread's network namespace; the fd is valid.
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let ctx = listening_driver("10.231.0.1:0", "netns-cookie");
        let addr = ctx.cluster_addr().unwrap();
        assert!(addr.starts_with("10.231.0.1:"), "{addr}");
        let mut worker = as_worker(
            Command::new("ip")
                .args(["netns", "exec", "dgr-b"])
                .arg(&exe),
            &addr,
            "netns-cookie",
        )
        .spawn()
        .unwrap();
        ctx.wait_for_workers(1, Duration::from_secs(30)).unwrap();
        let o = Options::new().scope(Scope::Process(WorkerId(2)));
        let t = ctx.spawn_registered_with(&o, WHERE_AM_I, (21i64,));
        assert_eq!(t.fetch().unwrap(), (2, 42));
        drop(t);
        drop(ctx);
        let t0 = Instant::now();
        while worker.try_wait().unwrap().is_none() {
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = worker.kill();
                panic!("the worker did not exit with its driver");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    driver.join().unwrap();
}
