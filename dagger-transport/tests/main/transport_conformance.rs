//! Both transports pass the same conformance suite (framing, cookie, oversized frames,
//! peer death).

use crate::common::two_thread_rt as rt;
use dagger_core::Transport;
use dagger_transport::conformance::{self, Subjects};
use dagger_transport::{InProcess, Tcp};

/// The suite's verdict as a test failure that names the check.
fn check(r: conformance::CheckResult) {
    if let Err(f) = r {
        panic!("{f}");
    }
}

/// Runs the whole suite: `good` and `wrong` differ in their cookie, `limited` is `good`
/// with frames of at most 1000 bytes.
fn conforms(good: &dyn Transport, wrong: &dyn Transport, limited: &dyn Transport, at: &str) {
    check(rt().block_on(conformance::run_all(&Subjects {
        transport: good,
        wrong_cookie: wrong,
        limited,
        max_frame_len: 1000,
        listen_addr: at,
    })));
}

#[test]
fn tcp_conforms() {
    let limited = Tcp::new("cookie").max_frame_len(1000);
    conforms(
        &Tcp::new("cookie"),
        &Tcp::new("not the cookie"),
        &limited,
        "127.0.0.1:0",
    );
}

#[test]
fn in_process_conforms() {
    let limited = InProcess::new("cookie").max_frame_len(1000);
    let wrong = InProcess::new("not the cookie");
    conforms(&InProcess::new("cookie"), &wrong, &limited, "inproc://");
}

#[test]
fn boxed_transports_conform_too() {
    rt().block_on(async {
        let t: Box<dyn Transport> = Box::new(Tcp::new("k"));
        check(conformance::frames_round_trip(t.as_ref(), "127.0.0.1:0").await);
        let t: std::sync::Arc<dyn Transport> = std::sync::Arc::new(InProcess::new("k"));
        check(conformance::frames_round_trip(t.as_ref(), "inproc://").await);
    });
}

#[test]
fn a_failure_names_its_check() {
    // An unusable address: the suite reports which check could not listen, and why.
    let t = InProcess::new("k");
    let subjects = Subjects {
        transport: &t,
        wrong_cookie: &t,
        limited: &t,
        max_frame_len: 1000,
        listen_addr: "not-an-inproc-address",
    };
    let Err(f) = rt().block_on(conformance::run_all(&subjects)) else {
        panic!("listening on a bad address passed");
    };
    assert_eq!(f.check, "pair");
    assert!(f.detail.starts_with("listen: "), "{}", f.detail);
    assert!(f.to_string().contains("`pair` failed"), "{f}");
}

#[test]
fn a_transport_that_lets_a_wrong_cookie_in_fails_that_check() {
    // The same cookie on both sides: the "wrong" client is accepted, which the check reports.
    let t = InProcess::new("k");
    let r = rt().block_on(conformance::wrong_cookie_is_refused(&t, &t, "inproc://"));
    assert_eq!(r.map_err(|f| f.check), Err("wrong_cookie_is_refused"));
}
