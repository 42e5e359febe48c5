//! What the dashboard costs: the task benchmark's workloads with no dashboard, and with the
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

/// A chain of `n` tasks, each adding one to the previous one's value.
fn chain(ctx: &Context, n: u64) {
    let mut t = ctx.spawn(|()| 0u64, ());
    for _ in 0..n {
        t = ctx.spawn(|(x,)| x + 1, (t,));
    }
    if t.fetch().ok() != Some(n) {
        eprintln!("bench_dashboard: chain of {n} went wrong");
    }
}

/// Pairwise sums over `leaves` ones (`2 * leaves - 1` tasks).
fn tree(ctx: &Context, leaves: u64) {
    let mut level: Vec<DTask<u64>> = (0..leaves).map(|_| ctx.spawn(|()| 1u64, ())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [a, b] => ctx.spawn(|(a, b)| a + b, (a, b)),
                _ => ctx.spawn(|(a,)| a, (&p[0],)),
            })
            .collect();
    }
    if level[0].fetch().ok() != Some(leaves) {
        eprintln!("bench_dashboard: tree over {leaves} went wrong");
    }
}

/// An observer that does nothing: what the scheduler's own event reporting costs.
struct Noop;

impl dagger_sched::Observer for Noop {
    fn on_event(&self, _: &dagger_sched::TaskEvent) {}
}

/// Nanoseconds the collector spends per task (one spawned, started and finished event),
/// called directly on one thread, less the same calls into an observer that does nothing:
/// the dashboard's own cost without the scheduler's noise.
pub fn collector_ns_per_task(n: u64) -> f64 {
    let c = crate::Collector::new();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        best = best.min(events_ns_per_task(&c, n) - events_ns_per_task(&Noop, n));
    }
    best.max(0.0)
}

/// Time per task of reporting one task's three events to `o`.
#[inline(never)]
fn events_ns_per_task(o: &dyn dagger_sched::Observer, n: u64) -> f64 {
    use dagger_core::{ProcessorId, TaskId, WorkerId};
    use dagger_sched::{TaskEvent, TaskEventKind};
    let c = std::hint::black_box(o);
    let p = ProcessorId::thread(WorkerId(1), 1);
    let mut ev = TaskEvent {
        task: TaskId(0),
        name: &None,
        kind: TaskEventKind::Finished { ok: true },
    };
    let t0 = Instant::now();
    for i in 1..=n {
        ev.task = TaskId(i);
        ev.kind = TaskEventKind::Spawned { deps: Vec::new() };
        c.on_event(&ev);
        ev.kind = TaskEventKind::Started { processor: p };
        c.on_event(&ev);
        ev.kind = TaskEventKind::Finished { ok: true };
        c.on_event(&ev);
    }
    t0.elapsed().as_nanos() as f64 / n as f64
}

/// The median over rounds of `a[r] / b[r]`: each round runs every system back to back, so
/// a ratio within a round sees the same machine load, and the median drops rounds that a
/// neighbour's burst hit on one side only.
fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    if r.is_empty() {
        return f64::NAN;
    }
    r.sort_by(f64::total_cmp);
    r[r.len() / 2]
}

fn summary(t: &mut [f64]) -> (f64, f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

fn error_line(e: dagger_core::Error) -> Vec<Value> {
    vec![json!({"workload": "dashboard_overhead", "error": e.to_string()})]
}

/// The overhead benchmark: 200 000 tiny tasks (`quick`: 20 000) in 31 rounds (`quick`: 5).
///
/// Each comparison is its own phase with exactly two contexts alive, a plain one
/// (`dagger-local`) and a variant, run back to back in alternating order every round: an
/// observer that does nothing (`dagger-local+noop-observer`: the scheduler's own cost of
/// reporting events), the dashboard on with an SSE client connected
/// (`dagger-local+dashboard`), and on with nobody connected
/// (`dagger-local+dashboard-unwatched`). A first phase compares two plain contexts: its
/// ratio (`aa_ratio_paired`) is the noise floor of the method. The watched dashboard is
/// also measured on the task suite's chain and tree workloads (`overhead_pct_chain`,
/// `overhead_pct_tree`) and with every pool thread on one CPU (`one_cpu_ratio_paired`: the
/// dashboard's own cost without cross-core timing effects). One JSON line per system, plus a
/// `dashboard_overhead` line with the ratios (of medians, of minima, and the median of the
/// per-round ratios, `ratio_paired`, which `overhead_pct` reports) and the collector's cost
/// per task measured alone ([`collector_ns_per_task`]).
pub fn bench_dashboard(quick: bool) -> Vec<Value> {
    if quick {
        run(20_000, 5, 200_000)
    } else {
        run(200_000, 31, 2_000_000)
    }
}

/// Runs `f` with this thread, and the threads it starts, on the first CPU this thread may
/// use; `None` (and `f` not run) where that cannot be set.
#[cfg(target_os = "linux")]
fn on_one_cpu<R>(f: impl FnOnce() -> R) -> Option<R> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain bits (all-zero is the empty set); the calls get and set
    // the calling thread's own mask through pointers to locals of exactly `size` bytes.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut old) != 0 {
            return None;
        }
        let first = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &old))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(first, &mut one);
        if libc::sched_setaffinity(0, size, &one) != 0 {
            return None;
        }
        let r = f();
        libc::sched_setaffinity(0, size, &old);
        Some(r)
    }
}

#[cfg(not(target_os = "linux"))]
fn on_one_cpu<R>(_: impl FnOnce() -> R) -> Option<R> {
    None
}

/// The times of `reps` rounds of `n` independent tiny tasks on `base` and on `variant`
/// (after one warm-up run of each), in alternating order so neither always runs first.
fn paired_times(n: u64, reps: usize, base: &Context, variant: &Context) -> [Vec<f64>; 2] {
    paired_times_of(&|ctx| tiny_tasks(ctx, n), reps, base, variant)
}

/// [`paired_times`] of any workload.
fn paired_times_of(
    work: &dyn Fn(&Context),
    reps: usize,
    base: &Context,
    variant: &Context,
) -> [Vec<f64>; 2] {
    let both = [base, variant];
    for ctx in both {
        work(ctx);
    }
    let mut times: [Vec<f64>; 2] = Default::default();
    for r in 0..reps {
        for k in 0..2 {
            let which = (r + k) % 2;
            let t0 = Instant::now();
            work(both[which]);
            times[which].push(t0.elapsed().as_secs_f64());
        }
    }
    times
}

/// A plain context of `threads` threads, or one reporting to `observer`.
fn context(threads: usize, observer: Option<Arc<dyn dagger_sched::Observer>>) -> Context {
    let b = Context::builder().threads(threads);
    match observer {
        Some(o) => b.observer(o),
        None => b,
    }
    .build()
}

fn run(n: u64, reps: usize, micro_n: u64) -> Vec<Value> {
    let threads = Context::local().num_threads();
    // The noise floor: plain against plain.
    let [a, b] = paired_times(n, reps, &context(threads, None), &context(threads, None));
    let paired_aa = paired_ratio(&b, &a);
    let [noop_base, mut t_noop] = paired_times(
        n,
        reps,
        &context(threads, None),
        &context(threads, Some(Arc::new(Noop))),
    );
    let paired_noop = paired_ratio(&t_noop, &noop_base);

    let dash = match Dashboard::start("127.0.0.1:0") {
        Ok(d) => d,
        Err(e) => return error_line(e),
    };
    let client = match SseClient::connect(dash.addr()) {
        Ok(c) => c,
        Err(e) => return error_line(e),
    };
    client.wait_for(1, Duration::from_secs(5));
    let events_before = client.events();
    let [mut t_plain, mut t_dash] = paired_times(
        n,
        reps,
        &context(threads, None),
        &context(threads, Some(dash.observer())),
    );
    let events = client.events() - events_before;
    let state = dash.state();
    let client_bytes = client.bytes();
    let paired = paired_ratio(&t_dash, &t_plain);
    // The task suite's other two workloads (`cargo xtask bench tasks`), watched likewise.
    let (chain_n, leaves) = if n >= 100_000 {
        (10_000, 65_536)
    } else {
        (1_000, 4_096)
    };
    // The watched dashboard's time over plain's (median of the per-round ratios) for `work`.
    let watched_ratio = |work: &dyn Fn(&Context)| {
        let [p, d] = paired_times_of(
            work,
            reps,
            &context(threads, None),
            &context(threads, Some(dash.observer())),
        );
        paired_ratio(&d, &p)
    };
    let overhead_chain = (watched_ratio(&|ctx| chain(ctx, chain_n)) - 1.0) * 100.0;
    let overhead_tree = (watched_ratio(&|ctx| tree(ctx, leaves)) - 1.0) * 100.0;
    // The same comparison with every pool thread on one CPU: the dashboard's own cost,
    // without the cross-core timing effects that swing the two-core figure.
    let one_cpu = on_one_cpu(|| watched_ratio(&|ctx| tiny_tasks(ctx, n)));
    drop(client);
    drop(dash);

    // A dashboard that nobody looks at: the cost of having it on, unwatched.
    let idle_dash = match Dashboard::start("127.0.0.1:0") {
        Ok(d) => d,
        Err(e) => return error_line(e),
    };
    let [t_idle_base, mut t_idle] = paired_times(
        n,
        reps,
        &context(threads, None),
        &context(threads, Some(idle_dash.observer())),
    );
    let paired_idle = paired_ratio(&t_idle, &t_idle_base);
    let (sp, sn, sd, si) = (
        summary(&mut t_plain),
        summary(&mut t_noop),
        summary(&mut t_dash),
        summary(&mut t_idle),
    );
    let micro = collector_ns_per_task(micro_n);
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
    vec![
        line("dagger-local", sp, json!({})),
        line("dagger-local+noop-observer", sn, json!({})),
        line(
            "dagger-local+dashboard",
            sd,
            json!({
                "sse_events_during_run": events,
                "sse_bytes": client_bytes,
                "span_stride": state.span_stride,
                "tasks_seen": state.totals.done,
            }),
        ),
        line(
            "dagger-local+dashboard-unwatched",
            si,
            json!({"clients": idle_dash.state().clients}),
        ),
        json!({
            "workload": "dashboard_overhead", "system": "dagger-local+dashboard",
            "params": params, "reps": reps,
            "median_s": sd.0, "min_s": sd.1, "max_s": sd.2,
            "ratio_median": sd.0 / sp.0, "ratio_min": sd.1 / sp.1,
            "ratio_paired": paired,
            "overhead_pct": (paired - 1.0) * 100.0,
            "overhead_pct_chain": overhead_chain,
            "chain_n": chain_n,
            "overhead_pct_tree": overhead_tree,
            "tree_leaves": leaves,
            "aa_ratio_paired": paired_aa,
            "one_cpu_ratio_paired": one_cpu,
            "noop_observer_ratio_paired": paired_noop,
            "unwatched_ratio_paired": paired_idle,
            "collector_ns_per_task": micro,
            "us_per_task_plain": sp.0 * 1e6 / n as f64,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_shared_format() {
        let lines = run(2_000, 1, 10_000);
        assert_eq!(lines.len(), 5);
        let systems: Vec<&str> = lines
            .iter()
            .map(|l| l["system"].as_str().unwrap())
            .collect();
        assert_eq!(
            systems,
            [
                "dagger-local",
                "dagger-local+noop-observer",
                "dagger-local+dashboard",
                "dagger-local+dashboard-unwatched",
                "dagger-local+dashboard"
            ]
        );
        for l in &lines[..4] {
            for k in ["median_s", "min_s", "max_s", "tasks_per_s"] {
                assert!(l[k].as_f64().unwrap() > 0.0, "{k} in {l}");
            }
            assert_eq!(l["reps"], 1);
            assert_eq!(l["params"]["n"], 2_000);
        }
        // The dashboard saw every task: 2 000 per run, warm-up included (the last few
        // "finished" events may land just after the values are fetched).
        let seen = lines[2]["tasks_seen"].as_u64().unwrap();
        assert!((3_990..=4_000).contains(&seen), "{seen}");
        assert_eq!(lines[3]["clients"], 0);
        assert!(lines[4]["ratio_median"].as_f64().unwrap() > 0.0);
        for k in [
            "aa_ratio_paired",
            "noop_observer_ratio_paired",
            "unwatched_ratio_paired",
        ] {
            assert!(lines[4][k].as_f64().unwrap() > 0.0, "{k}");
        }
        #[cfg(target_os = "linux")]
        assert!(lines[4]["one_cpu_ratio_paired"].as_f64().unwrap() > 0.0);
        assert!(lines[4]["collector_ns_per_task"].as_f64().unwrap() >= 0.0);
    }
}
