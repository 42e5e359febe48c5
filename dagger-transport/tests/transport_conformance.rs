//! Both transports pass the same conformance suite (framing, cookie, oversized frames,
//! peer death).

use dagger_transport::{conformance, InProcess, Tcp};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn tcp_conforms() {
    rt().block_on(async {
        conformance::run_all(
            &Tcp::new("cookie"),
            &Tcp::new("not the cookie"),
            "127.0.0.1:0",
        )
        .await;
        conformance::oversized_send_is_refused(
            &Tcp::new("cookie").max_frame_len(1000),
            1000,
            "127.0.0.1:0",
        )
        .await;
    });
}

#[test]
fn in_process_conforms() {
    rt().block_on(async {
        conformance::run_all(
            &InProcess::new("cookie"),
            &InProcess::new("not the cookie"),
            "inproc://",
        )
        .await;
        conformance::oversized_send_is_refused(
            &InProcess::new("cookie").max_frame_len(1000),
            1000,
            "inproc://",
        )
        .await;
    });
}

#[test]
fn boxed_transports_conform_too() {
    rt().block_on(async {
        let t: Box<dyn dagger_core::Transport> = Box::new(Tcp::new("k"));
        conformance::frames_round_trip(t.as_ref(), "127.0.0.1:0").await;
        let t: std::sync::Arc<dyn dagger_core::Transport> =
            std::sync::Arc::new(InProcess::new("k"));
        conformance::frames_round_trip(t.as_ref(), "inproc://").await;
    });
}
