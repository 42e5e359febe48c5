//! In-process addresses: names are unique while a listener lives and freed when it drops.

use dagger_core::{Error, Transport, TransportListener};
use dagger_transport::{InProcess, Role};

use crate::common::current_thread_rt as rt;

#[test]
fn a_name_is_taken_until_its_listener_drops() {
    rt().block_on(async {
        let t = InProcess::new("k");
        let l = t.listen("inproc://registry-unique").await.unwrap();
        let e = t.bind("inproc://registry-unique").unwrap_err();
        assert!(
            matches!(&e, Error::Transport(m) if m.contains("in use")),
            "{e}"
        );
        drop(l);
        let e = t.connect("inproc://registry-unique").await.unwrap_err();
        assert!(
            matches!(&e, Error::Transport(m) if m.contains("no in-process listener")),
            "{e}"
        );
        t.listen("inproc://registry-unique").await.unwrap();
    });
}

#[test]
fn anonymous_names_are_distinct_and_bad_addresses_are_refused() {
    rt().block_on(async {
        let t = InProcess::new("k");
        let (a, b) = (
            t.listen("inproc://").await.unwrap(),
            t.listen("inproc://").await.unwrap(),
        );
        assert_ne!(a.local_addr(), b.local_addr());
        assert!(a.local_addr().starts_with("inproc://"));
        assert!(matches!(t.bind("127.0.0.1:0"), Err(Error::Argument(_))));
    });
}

#[test]
fn hello_info_is_exchanged() {
    rt().block_on(async {
        let server = InProcess::new("k").role(Role::Driver).info("d".into());
        let client = InProcess::new("k").role(Role::Worker).info("w".into());
        let mut l = server.bind("inproc://").unwrap();
        let addr = l.local_addr();
        let (c, s) = tokio::join!(client.connect_with_hello(&addr), l.accept_with_hello());
        let ((_, from_server), (_, from_client)) = (c.unwrap(), s.unwrap());
        assert_eq!(
            (from_server.role, &from_server.info[..]),
            (Role::Driver, &b"d"[..])
        );
        assert_eq!(
            (from_client.role, &from_client.info[..]),
            (Role::Worker, &b"w"[..])
        );
    });
}

#[test]
fn a_listener_that_never_accepts_times_out_the_client() {
    rt().block_on(async {
        let t = InProcess::new("k").handshake_timeout(std::time::Duration::from_millis(50));
        let _l = t.listen("inproc://").await.unwrap();
        let addr = _l.local_addr();
        let e = t.connect(&addr).await.unwrap_err();
        assert!(
            matches!(&e, Error::Transport(m) if m.contains("did not accept")),
            "{e}"
        );
    });
}
