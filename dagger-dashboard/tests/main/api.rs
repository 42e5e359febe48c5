//! The dashboard's numbers against computations of known shape, over the Rust API, the JSON
//! endpoint and the live stream.

use dagger_core::{Options, WorkerId};
use dagger_dashboard::bench::SseClient;
use dagger_dashboard::{Dashboard, NodeState, Progress, State};
use dagger_sched::{delayed_with, All, Context, DTask};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn named(n: &str) -> Options {
    Options::new().name(n)
}

fn progress(s: &State, name: &str) -> Progress {
    s.names
        .iter()
        .find(|n| n.name == name)
        .map(|n| n.progress)
        .unwrap_or_default()
}

/// A task's value is visible a moment before its "finished" event is counted: poll.
fn settle(dash: &Dashboard, ok: impl Fn(&State) -> bool) -> State {
    let t0 = Instant::now();
    loop {
        let s = dash.state();
        if ok(&s) || t0.elapsed() > Duration::from_secs(10) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[test]
fn counts_match_a_computation_with_names_and_failures() {
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(2)
        .observer(dash.observer())
        .build();
    let squares: Vec<DTask<u64>> = (0..200u64)
        .map(|i| ctx.spawn_with(named("square"), |(x,)| x * x, (i,)))
        .collect();
    let sums: Vec<DTask<u64>> = squares
        .chunks(10)
        .map(|c| {
            ctx.spawn_with(
                named("sum"),
                |(v,)| v.iter().sum::<u64>(),
                (All(c.to_vec()),),
            )
        })
        .collect();
    let bad: Vec<DTask<u64>> = (0..3)
        .map(|i| ctx.try_spawn_with(named("bad"), |(i,)| Err::<u64, _>(format!("bad {i}")), (i,)))
        .collect();
    let plain = ctx.spawn(|()| 7, ());
    let total: u64 = sums.iter().map(|t| t.fetch().unwrap()).sum();
    assert_eq!(total, (0..200u64).map(|i| i * i).sum::<u64>());
    assert!(bad.iter().all(|t| t.fetch().is_err()));
    assert_eq!(plain.fetch().unwrap(), 7);

    let s = settle(&dash, |s| s.totals.done + s.totals.failed == 224);
    let p = |done, failed| Progress {
        queued: 0,
        running: 0,
        done,
        failed,
    };
    assert_eq!(progress(&s, "square"), p(200, 0));
    assert_eq!(progress(&s, "sum"), p(20, 0));
    assert_eq!(progress(&s, "bad"), p(0, 3));
    assert_eq!(progress(&s, dagger_dashboard::UNNAMED), p(1, 0));
    assert_eq!(s.totals, p(221, 3));
    // Either thread may have run every task (work stealing): a non-empty subset, in order.
    let all = ["ThreadProc(w1, 1)", "ThreadProc(w1, 2)"];
    assert!(!s.processors.is_empty());
    assert!(s.processors.windows(2).all(|w| w[0] < w[1]));
    assert!(
        s.processors.iter().all(|p| all.contains(&p.as_str())),
        "{:?}",
        s.processors
    );
    assert!(!s.spans.is_empty(), "tasks were timed for the task stream");
    assert!(s.spans.iter().all(|sp| sp.end_s >= sp.start_s));
    assert!(s.spans.iter().any(|sp| sp.name == "square"));
    assert!(s
        .spans
        .iter()
        .filter(|sp| sp.name == "bad")
        .all(|sp| !sp.ok));
    // The graph window holds the first tasks, with the sums' edges to their squares.
    let g = &s.graph;
    assert!(!g.truncated, "224 tasks fit the graph window");
    assert_eq!(g.nodes.len(), 224);
    let sum_nodes: Vec<_> = g.nodes.iter().filter(|n| n.name == "sum").collect();
    assert_eq!(sum_nodes.len(), 20);
    assert!(sum_nodes.iter().all(|n| n.deps.len() == 10));
    assert!(g.nodes.iter().all(|n| n.state != NodeState::Queued));
    // The driver worker is listed in the memory panel, at zero until storage reports.
    assert_eq!(s.memory.len(), 1);
    assert_eq!(s.memory[0].worker, 1);
}

#[test]
fn http_endpoints_serve_the_page_the_json_and_the_stream() {
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(2)
        .observer(dash.observer())
        .build();
    let ts: Vec<DTask<u32>> = (0..50u32)
        .map(|i| ctx.spawn_with(named("inc"), |(x,)| x + 1, (i,)))
        .collect();
    dagger_sched::fetch_all(&ts).unwrap();
    dash.gauges().set_memory(WorkerId(2), 1 << 20, 4096);
    dash.gauges()
        .record_transfer(WorkerId(1), WorkerId(2), 1000);
    settle(&dash, |s| s.totals.done == 50);

    let (head, body) = http_get(dash.addr(), "/");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("id=\"progress\"") && body.contains("EventSource"));
    assert!(
        !body.contains("http://") || !body.contains("<script src"),
        "no CDN"
    );

    let (head, body) = http_get(dash.addr(), "/api/state");
    assert!(
        head.to_ascii_lowercase().contains("application/json"),
        "{head}"
    );
    let s: State = serde_json::from_str(&body).unwrap();
    assert_eq!(progress(&s, "inc").done, 50);
    assert_eq!(s.memory.len(), 2);
    assert_eq!(s.memory[1].in_use_bytes, 1 << 20);
    assert_eq!(s.memory[1].spilled_bytes, 4096);
    assert_eq!((s.transfers[0].from, s.transfers[0].to), (1, 2));
    assert_eq!(s.transfers[0].bytes, 1000);

    let (head, _) = http_get(dash.addr(), "/nope");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    let client = SseClient::connect(dash.addr()).unwrap();
    assert!(
        client.wait_for(2, Duration::from_secs(10)),
        "two live updates"
    );
    assert_eq!(dash.state().clients, 1);
    drop(client);
    let t0 = Instant::now();
    while dash.state().clients != 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dash.state().clients, 0, "a closed stream is noticed");
}

#[test]
fn a_cancelled_queued_task_is_failed_not_queued() {
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(1)
        .observer(dash.observer())
        .build();
    let (tx, rx) = mpsc::channel::<()>();
    let blocker = ctx.spawn_with(named("blocker"), move |()| rx.recv().is_ok(), ());
    let victim = ctx.spawn_with(named("victim"), |()| 1, ());
    let s = settle(&dash, |s| progress(s, "blocker").running == 1);
    assert_eq!(progress(&s, "victim").queued, 1);
    victim.cancel();
    tx.send(()).unwrap();
    assert!(blocker.fetch().unwrap());
    assert!(victim.fetch().is_err());
    let s = settle(&dash, |s| s.totals.done + s.totals.failed == 2);
    assert_eq!(
        progress(&s, "victim"),
        Progress {
            failed: 1,
            ..Progress::default()
        }
    );
    assert_eq!(s.totals.queued + s.totals.running, 0);
}

#[test]
fn a_task_cancelled_while_running_is_not_left_running() {
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(1)
        .observer(dash.observer())
        .build();
    let (tx, rx) = mpsc::channel::<()>();
    let t = ctx.spawn_with(named("slow"), move |()| rx.recv().is_ok(), ());
    settle(&dash, |s| progress(s, "slow").running == 1);
    t.cancel(); // reported finished from this thread while its body still runs
    tx.send(()).unwrap();
    let after = ctx.spawn_with(named("after"), |()| 2, ());
    assert_eq!(after.fetch().unwrap(), 2);
    let s = settle(&dash, |s| progress(s, "after").done == 1);
    assert_eq!(
        progress(&s, "slow"),
        Progress {
            failed: 1,
            ..Progress::default()
        }
    );
    assert_eq!(s.totals.running + s.totals.queued, 0);
}

#[test]
fn nested_waits_keep_counts_right() {
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(1)
        .observer(dash.observer())
        .build();
    let c2 = ctx.clone();
    // The outer task waits for inner ones; on the only thread, the wait runs them inline.
    let outer = ctx.spawn_with(
        named("outer"),
        move |()| {
            let inner: Vec<DTask<u32>> = (0..5u32)
                .map(|i| c2.spawn_with(named("inner"), |(x,)| x * 2, (i,)))
                .collect();
            inner.iter().map(|t| t.fetch().unwrap()).sum::<u32>()
        },
        (),
    );
    assert_eq!(outer.fetch().unwrap(), 20);
    let s = settle(&dash, |s| s.totals.done == 6);
    assert_eq!(progress(&s, "outer").done, 1);
    assert_eq!(progress(&s, "inner").done, 5);
    assert_eq!(s.totals.running + s.totals.queued, 0);
}

#[test]
fn the_graph_panel_shows_a_lazy_computation() {
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(2)
        .observer(dash.observer())
        .build();
    let leaves: Vec<_> = (0..8u64)
        .map(|i| delayed_with(named("leaf"), |(x,)| x, (i,)))
        .collect();
    let mut level = leaves;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| delayed_with(named("add"), |(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    assert_eq!(level[0].collect(&ctx).unwrap(), 28);
    let s = settle(&dash, |s| s.totals.done == 15);
    let g = &s.graph;
    assert_eq!(g.nodes.len(), 15);
    assert!(!g.truncated);
    assert_eq!(g.nodes.iter().filter(|n| n.name == "leaf").count(), 8);
    assert!(g
        .nodes
        .iter()
        .filter(|n| n.name == "add")
        .all(|n| n.deps.len() == 2));
    let s = settle(&dash, |s| {
        s.graph.nodes.iter().all(|n| n.state == NodeState::Done)
    });
    assert!(s.graph.nodes.iter().all(|n| n.state == NodeState::Done));
}

#[test]
fn binding_a_busy_address_is_an_error() {
    let a = Dashboard::start("127.0.0.1:0").unwrap();
    let e = Dashboard::start(a.addr()).unwrap_err();
    assert!(e.to_string().contains("cannot bind"), "{e}");
}
