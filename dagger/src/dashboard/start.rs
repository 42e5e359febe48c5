//! Starting a dashboard from the facade: one the caller owns ([`with_dashboard`]), or the
//! process-wide one (one per process: [`DashboardExt::dashboard`], or `DAGGER_DASHBOARD` in
//! the driver's environment, read by [`init`](crate::init)).

use dagger_dashboard::Dashboard;
use dagger_sched::ContextBuilder;
use std::sync::{Mutex, OnceLock};

/// Starts a dashboard on `addr` and installs its observer on `builder` (the reference-style
/// `Context::builder().dashboard(addr)`, with a dashboard the caller owns).
pub fn with_dashboard(
    builder: ContextBuilder,
    addr: &str,
) -> dagger_core::Result<(ContextBuilder, Dashboard)> {
    let dash = Dashboard::start(addr)?;
    let b = builder.observer(dash.observer());
    Ok((b, dash))
}

/// The process-wide dashboard, once started.
static GLOBAL: OnceLock<Dashboard> = OnceLock::new();
/// Serialises starting it, so two racing callers bind one address once.
static STARTING: Mutex<()> = Mutex::new(());

/// The process-wide dashboard, if [`DashboardExt::dashboard`] or `DAGGER_DASHBOARD` (read by
/// [`init`](crate::init)) started it.
///
/// ```
/// // Nothing started one in this process.
/// assert!(dagger::dashboard::global_dashboard().is_none() || std::env::var_os("DAGGER_DASHBOARD").is_some());
/// ```
pub fn global_dashboard() -> Option<&'static Dashboard> {
    GLOBAL.get()
}

/// The process-wide dashboard: the running one (whatever its address: one per process), or
/// a new one on `addr`.
pub fn global_dashboard_on(addr: &str) -> dagger_core::Result<&'static Dashboard> {
    if let Some(d) = GLOBAL.get() {
        return Ok(d);
    }
    let _one = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(d) = GLOBAL.get() {
        return Ok(d);
    }
    let d = Dashboard::start(addr)?;
    Ok(GLOBAL.get_or_init(|| d))
}

/// Starts the process-wide dashboard if `DAGGER_DASHBOARD` asks for one (an address, or
/// `1`/`on` for `127.0.0.1:8787`); [`init`](crate::init) calls it in the driver. A bad value
/// or a busy address is an error; unset or `0`/`off` is `Ok(None)`.
pub fn dashboard_from_env() -> dagger_core::Result<Option<&'static Dashboard>> {
    match Dashboard::env_addr()? {
        Some(addr) => global_dashboard_on(&addr).map(Some),
        None => Ok(None),
    }
}

/// `Context::builder().dashboard(addr)`: the dashboard as a builder option.
///
/// ```
/// use dagger::DashboardExt;
/// let ctx = dagger::Context::builder().threads(1).dashboard("127.0.0.1:0")?.build();
/// let _watch = dagger::dashboard::watch(&ctx); // worker memory into the memory panel (clusters)
/// ctx.spawn_with(&dagger::Options::new().name("one"), |()| 1, ()).fetch()?;
/// let dash = dagger::dashboard::global_dashboard().unwrap();
/// println!("open {}", dash.url());
/// # let t0 = std::time::Instant::now();
/// # while dash.state().totals.done < 1 && t0.elapsed().as_secs() < 5 {}
/// assert_eq!(dash.state().names[0].name, "one");
/// # Ok::<(), dagger::Error>(())
/// ```
pub trait DashboardExt: Sized {
    /// Starts the process-wide dashboard on `addr` (or reuses the running one: there is one
    /// per process, the first address wins) and shows this context on it.
    fn dashboard(self, addr: &str) -> dagger_core::Result<Self>;

    /// Shows this context on the process-wide dashboard if one runs (e.g. `DAGGER_DASHBOARD`
    /// was set when [`init`](crate::init) ran); otherwise leaves the builder as it is.
    fn env_dashboard(self) -> Self;
}

impl DashboardExt for ContextBuilder {
    fn dashboard(self, addr: &str) -> dagger_core::Result<Self> {
        Ok(self.observer(global_dashboard_on(addr)?.observer()))
    }

    fn env_dashboard(self) -> Self {
        match global_dashboard() {
            Some(d) => self.observer(d.observer()),
            None => self,
        }
    }
}
