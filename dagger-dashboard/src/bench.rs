//! What the dashboard costs: the tiny-task benchmark with no dashboard, and with the
//! dashboard on and a live-stream client connected, measured in the same run (reps
//! interleaved, so the machine's noise hits both alike).
//!
//! Lines follow DESIGN.md's benchmark format; `cargo xtask bench` or the `dashboard_bench`
//! example prints them.

use crate::server::Dashboard;
use dagger_sched::{fetch_all, Context, DTask};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A minimal live-stream client: a plain `GET /api/events` on a std socket, read on its own
/// thread; it only counts the `state` events it receives. Stops when dropped.
pub struct SseClient {
    events: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseClient")
            .field("events", &self.events())
            .finish_non_exhaustive()
    }
}

impl SseClient {
    /// Connects to the dashboard at `addr` and starts reading its live stream.
    pub fn connect(addr: SocketAddr) -> dagger_core::Result<SseClient> {
        let io = |e: std::io::Error| dagger_core::Error::Io(format!("sse client: {e}"));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(io)?;
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(io)?;
        write!(
            stream,
            "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .map_err(io)?;
        let events = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut reader = stream.try_clone().map_err(io)?;
        let (ev, by, st) = (events.clone(), bytes.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("dashboard-sse-client".into())
            .spawn(move || {
                let needle = b"event: state";
                let mut buf = vec![0u8; 64 * 1024];
                // Keep the tail of the last read so a marker split across reads counts once.
                let mut carry: Vec<u8> = Vec::new();
                while !st.load(Ordering::Relaxed) {
                    match reader.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            by.fetch_add(n as u64, Ordering::Relaxed);
                            carry.extend_from_slice(&buf[..n]);
                            let found = carry.windows(needle.len()).filter(|w| w == needle).count();
                            ev.fetch_add(found as u64, Ordering::Relaxed);
                            let keep = carry.len().min(needle.len() - 1);
                            carry.drain(..carry.len() - keep);
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
            })
            .map_err(io)?;
        Ok(SseClient {
            events,
            bytes,
            stop,
            stream,
            thread: Some(thread),
        })
    }

    /// `state` events received so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` events arrived or `timeout` passed; whether they did.
    pub fn wait_for(&self, n: u64, timeout: Duration) -> bool {
        let t0 = Instant::now();
        while self.events() < n {
            if t0.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for SseClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `n` independent tiny tasks, spawned then fetched together.
fn tiny_tasks(ctx: &Context, n: u64) {
    let ts: Vec<DTask<u64>> = (0..n).map(|i| ctx.spawn(|(x,)| x + 1, (i,))).collect();
    match fetch_all(&ts) {
        Ok(v) if v.last() == Some(&n) => {}
        other => eprintln!(
            "bench_dashboard: unexpected result {:?}",
            other.map(|v| v.len())
        ),
    }
}

fn summary(t: &mut [f64]) -> (f64, f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

/// The overhead benchmark: 100 000 tiny tasks (`quick`: 20 000) with no dashboard
/// (`dagger-local`) and with the dashboard on and an SSE client connected
/// (`dagger-local+dashboard`), reps interleaved in the same run. One JSON line per system,
/// plus a `dashboard_overhead` line with the ratio of medians.
pub fn bench_dashboard(quick: bool) -> Vec<Value> {
    let n: u64 = if quick { 20_000 } else { 100_000 };
    let reps: usize = if quick { 5 } else { 15 };
    let plain = Context::local();
    let threads = plain.num_threads();
    let dash = match Dashboard::start("127.0.0.1:0") {
        Ok(d) => d,
        Err(e) => return vec![json!({"workload": "dashboard_overhead", "error": e.to_string()})],
    };
    let watched = Context::builder()
        .threads(threads)
        .observer(dash.observer())
        .build();
    let client = match SseClient::connect(dash.addr()) {
        Ok(c) => c,
        Err(e) => return vec![json!({"workload": "dashboard_overhead", "error": e.to_string()})],
    };
    client.wait_for(1, Duration::from_secs(5));
    // Warm-up both (allocators, thread pools, the collector's lanes).
    tiny_tasks(&plain, n);
    tiny_tasks(&watched, n);
    let events_before = client.events();
    let mut t_plain = Vec::with_capacity(reps);
    let mut t_dash = Vec::with_capacity(reps);
    for r in 0..reps {
        // Alternate which goes first so neither always runs on a warmer machine.
        let order: [bool; 2] = if r % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with_dash in order {
            let ctx = if with_dash { &watched } else { &plain };
            let t0 = Instant::now();
            tiny_tasks(ctx, n);
            let dt = t0.elapsed().as_secs_f64();
            if with_dash {
                t_dash.push(dt);
            } else {
                t_plain.push(dt);
            }
        }
    }
    let events = client.events() - events_before;
    let state = dash.state();
    let params = json!({"n": n, "threads": threads});
    let line = |system: &str, s: (f64, f64, f64), extra: Value| {
        let mut v = json!({
            "workload": "tasks_independent", "system": system, "params": params,
            "median_s": s.0, "min_s": s.1, "max_s": s.2, "reps": reps,
            "tasks_per_s": n as f64 / s.0,
        });
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    };
    let sp = summary(&mut t_plain);
    let sd = summary(&mut t_dash);
    vec![
        line("dagger-local", sp, json!({})),
        line(
            "dagger-local+dashboard",
            sd,
            json!({
                "sse_events_during_run": events,
                "sse_bytes": client.bytes(),
                "span_stride": state.span_stride,
                "tasks_seen": state.totals.done,
            }),
        ),
        json!({
            "workload": "dashboard_overhead", "system": "dagger-local+dashboard",
            "params": params, "reps": reps,
            "median_s": sd.0, "min_s": sd.1, "max_s": sd.2,
            "ratio_median": sd.0 / sp.0, "ratio_min": sd.1 / sp.1,
            "overhead_pct": (sd.0 / sp.0 - 1.0) * 100.0,
        }),
    ]
}
