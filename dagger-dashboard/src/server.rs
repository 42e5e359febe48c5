//! [`Dashboard`]: the HTTP server (axum on its own one-thread tokio runtime) that serves the
//! page, the JSON state and the live stream.
//!
//! Routes: `/` the page, `/api/state` the [`State`] as JSON, `/api/events` server-sent
//! events (one `state` event per tick, spans sent once). Nothing is computed unless someone
//! asks: with no client connected the server sleeps.

use crate::collect::Collector;
use crate::gauges::Gauges;
use crate::page::PAGE;
use crate::state::State;
use axum::extract::State as AxumState;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Json};
use axum::routing::get;
use axum::Router;
use dagger_core::{Error, Result};
use dagger_sched::Observer;
use futures::stream::{self, Stream};
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// How often the live stream sends an update.
pub const TICK: Duration = Duration::from_millis(200);

/// The environment variable [`Dashboard::from_env`] reads.
pub const ENV_VAR: &str = "DAGGER_DASHBOARD";

#[derive(Clone)]
struct Shared {
    collector: Arc<Collector>,
    gauges: Gauges,
}

/// A running dashboard: a web page showing the computation live. Stops when dropped.
///
/// Install its [`observer`](Dashboard::observer) on the context to watch:
///
/// ```
/// use dagger_dashboard::Dashboard;
/// use dagger_sched::Context;
/// let dash = Dashboard::start("127.0.0.1:0").unwrap(); // port 0: any free port
/// let ctx = Context::builder().threads(2).observer(dash.observer()).build();
/// let t = ctx.spawn_with(&dagger_core::Options::new().name("inc"), |(x,)| x + 1, (1,));
/// assert_eq!(t.fetch().unwrap(), 2);
/// let s = dash.state();
/// assert_eq!(s.names[0].name, "inc");
/// assert_eq!(s.names[0].progress.done, 1);
/// assert!(dash.url().starts_with("http://127.0.0.1:"));
/// ```
pub struct Dashboard {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Dashboard {
    /// The address used when none is given: `127.0.0.1:8787`.
    pub const DEFAULT_ADDR: &'static str = "127.0.0.1:8787";

    /// Binds `addr`, prints `dagger dashboard at http://…` on stderr and serves in a
    /// background thread. Port 0 picks a free port ([`Dashboard::addr`] tells which).
    pub fn start(addr: impl ToSocketAddrs) -> Result<Dashboard> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| Error::Io(format!("dashboard: cannot bind its address: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::Io(format!("dashboard: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Io(format!("dashboard: {e}")))?;
        let shared = Shared {
            collector: Arc::new(Collector::new()),
            gauges: Gauges::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::Io(format!("dashboard: cannot start its runtime: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(shared.clone());
        let thread = std::thread::Builder::new()
            .name("dagger-dashboard".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("dagger dashboard: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        r = axum::serve(listener, app) => {
                            if let Err(e) = r {
                                eprintln!("dagger dashboard stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                // Open live streams never end by themselves: drop them with the runtime.
                runtime.shutdown_background();
            })
            .map_err(|e| Error::Io(format!("dashboard: cannot start its thread: {e}")))?;
        eprintln!("dagger dashboard at http://{addr}");
        Ok(Dashboard {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Starts a dashboard if `DAGGER_DASHBOARD` is set: to an address (`127.0.0.1:9000`),
    /// or to `1`/`on`/empty for [`Dashboard::DEFAULT_ADDR`]. `Ok(None)` when it is unset or
    /// `0`/`off`.
    pub fn from_env() -> Result<Option<Dashboard>> {
        match Dashboard::env_addr()? {
            Some(addr) => Dashboard::start(addr.as_str()).map(Some),
            None => Ok(None),
        }
    }

    /// The address `DAGGER_DASHBOARD` asks for (see [`Dashboard::from_env`]), without
    /// starting anything.
    pub fn env_addr() -> Result<Option<String>> {
        match std::env::var(ENV_VAR) {
            Ok(v) => parse_env(&v),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::Argument(format!("{ENV_VAR} is not valid UTF-8")))
            }
        }
    }

    /// The observer to install with `Context::builder().observer(..)`.
    pub fn observer(&self) -> Arc<dyn Observer> {
        self.shared.collector.clone()
    }

    /// Memory and transfer gauges for other parts of the system to feed.
    pub fn gauges(&self) -> Gauges {
        self.shared.gauges.clone()
    }

    /// A handle for feeding this dashboard from other threads (it does not keep the server
    /// running).
    pub fn handle(&self) -> DashboardHandle {
        DashboardHandle(self.shared.clone())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's address, `http://host:port/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The numbers the page shows, now (the same as `/api/state`).
    pub fn state(&self) -> State {
        self.shared.collector.state(&self.shared.gauges, 0)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A cheap, cloneable handle on a [`Dashboard`]'s numbers, for whatever feeds it from
/// elsewhere (worker memory, spans recorded by worker processes, transfers).
///
/// ```
/// use dagger_dashboard::{Dashboard, ExternalSpan};
/// let dash = Dashboard::start("127.0.0.1:0").unwrap();
/// let h = dash.handle();
/// assert!(!h.watched()); // no live-stream client yet
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
/// let t = now.as_nanos() as u64;
/// h.add_spans([ExternalSpan {
///     processor: "ThreadProc(w2, 1)".into(), task: 7, name: Some("load".into()),
///     start_unix_ns: t, end_unix_ns: t + 1_000_000, ok: true,
/// }]);
/// let s = dash.state();
/// assert!(s.processors.contains(&"ThreadProc(w2, 1)".to_string()));
/// assert_eq!(s.spans[0].name, "load");
/// ```
#[derive(Clone)]
pub struct DashboardHandle(Shared);

impl std::fmt::Debug for DashboardHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DashboardHandle")
    }
}

impl DashboardHandle {
    /// The memory and transfer gauges.
    pub fn gauges(&self) -> Gauges {
        self.0.gauges.clone()
    }

    /// Whether a live-stream client (a browser) is connected: feeders that cost something
    /// (recording on workers) run only then.
    pub fn watched(&self) -> bool {
        self.0.collector.watched()
    }

    /// Adds task spans that ran in other processes to the task stream (bounded per
    /// processor).
    pub fn add_spans(&self, spans: impl IntoIterator<Item = crate::collect::ExternalSpan>) {
        self.0.collector.add_spans(spans)
    }
}

/// What `DAGGER_DASHBOARD=value` asks for: an address, or nothing.
pub(crate) fn parse_env(v: &str) -> Result<Option<String>> {
    let v = v.trim();
    match v.to_ascii_lowercase().as_str() {
        "0" | "off" | "false" | "no" => Ok(None),
        "" | "1" | "on" | "true" | "yes" => Ok(Some(Dashboard::DEFAULT_ADDR.to_string())),
        _ if v.parse::<SocketAddr>().is_ok()
            || v.rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
        {
            Ok(Some(v.to_string()))
        }
        _ => Err(Error::Argument(format!(
            "{ENV_VAR}={v:?}: expected host:port, 1/on or 0/off"
        ))),
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/state", get(api_state))
        .route("/api/events", get(events))
        .with_state(shared)
}

async fn page() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE))
}

async fn api_state(AxumState(s): AxumState<Shared>) -> Json<State> {
    Json(s.collector.state(&s.gauges, 0))
}

/// Counts a connected live-stream client while it exists.
struct ClientGuard(Arc<Collector>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn events(
    AxumState(s): AxumState<Shared>,
) -> Sse<impl Stream<Item = std::result::Result<Event, Infallible>>> {
    s.collector.clients.fetch_add(1, Ordering::Relaxed);
    let guard = ClientGuard(s.collector.clone());
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = stream::unfold(
        (s, interval, 0u64, guard),
        |(s, mut interval, since, guard)| async move {
            interval.tick().await;
            let state = s.collector.state(&s.gauges, since);
            let next = state.span_seq.max(since);
            let event = match serde_json::to_string(&state) {
                Ok(json) => Event::default().event("state").data(json),
                Err(e) => Event::default().event("error").data(e.to_string()),
            };
            Some((Ok(event), (s, interval, next, guard)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values() {
        assert_eq!(parse_env("0").unwrap(), None);
        assert_eq!(parse_env("off").unwrap(), None);
        assert_eq!(
            parse_env("1").unwrap().as_deref(),
            Some(Dashboard::DEFAULT_ADDR)
        );
        assert_eq!(
            parse_env("").unwrap().as_deref(),
            Some(Dashboard::DEFAULT_ADDR)
        );
        assert_eq!(
            parse_env("127.0.0.1:9000").unwrap().as_deref(),
            Some("127.0.0.1:9000")
        );
        assert_eq!(
            parse_env("localhost:0").unwrap().as_deref(),
            Some("localhost:0")
        );
        assert!(parse_env("nonsense").is_err());
        assert!(parse_env("host:notaport").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_env_value_parses_or_errs_without_panicking(v in ".{0,40}") {
            if let Ok(Some(addr)) = parse_env(&v) {
                proptest::prop_assert!(addr.contains(':'));
            }
        }
    }
}
