//! Pieces of the dashboard's overhead benchmark (`cargo xtask bench dashboard`, which runs
//! the task suite's workloads with and without the dashboard in the same run): a minimal
//! live-stream client, the collector's own cost per task measured alone, and an observer
//! that does nothing (the baseline).

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

/// An observer that does nothing: what the scheduler's own event reporting costs, the
/// baseline the dashboard's cost is measured against.
///
/// ```
/// use dagger_dashboard::bench::NoopObserver;
/// let ctx = dagger_sched::Context::builder().observer(std::sync::Arc::new(NoopObserver)).build();
/// assert_eq!(ctx.spawn(|()| 2, ()).fetch().unwrap(), 2);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl dagger_sched::Observer for NoopObserver {
    fn on_event(&self, _: &dagger_sched::TaskEvent) {}
}

/// Nanoseconds the collector spends per task (one spawned, started and finished event),
/// called directly on one thread, less the same calls into an observer that does nothing:
/// the dashboard's own cost without the scheduler's noise.
pub fn collector_ns_per_task(n: u64) -> f64 {
    let c = crate::collect::Collector::new();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        best = best.min(events_ns_per_task(&c, n) - events_ns_per_task(&NoopObserver, n));
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
        kind: TaskEventKind::Finished {
            ok: true,
            started: true,
        },
    };
    let t0 = Instant::now();
    for i in 1..=n {
        ev.task = TaskId(i);
        ev.kind = TaskEventKind::Spawned { deps: &[] };
        c.on_event(&ev);
        ev.kind = TaskEventKind::Started { processor: p };
        c.on_event(&ev);
        ev.kind = TaskEventKind::Finished {
            ok: true,
            started: true,
        };
        c.on_event(&ev);
    }
    t0.elapsed().as_nanos() as f64 / n as f64
}
