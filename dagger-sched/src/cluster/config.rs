//! How a context becomes a cluster: the builder's settings and the transport it uses.

use super::launch::WorkerProgram;
use dagger_core::Transport;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Makes the transport a cluster uses, given its cookie. The `dagger` facade installs TCP as
/// the default with [`set_default_transport`].
pub trait TransportFactory: Send + Sync {
    /// A transport that authenticates with `cookie`.
    fn transport(&self, cookie: &str) -> Arc<dyn Transport>;
}

static DEFAULT_TRANSPORT: OnceLock<Arc<dyn TransportFactory>> = OnceLock::new();

/// Sets the transport clusters use when the builder names none (first call wins).
pub fn set_default_transport(f: Arc<dyn TransportFactory>) {
    let _ = DEFAULT_TRANSPORT.set(f);
}

/// Workers started by something else (the ranks of an MPI job): the address the first
/// cluster listens on and how many workers join it, in place of launching its own.
static PRELAUNCHED: std::sync::Mutex<Option<(String, usize)>> = std::sync::Mutex::new(None);

/// Makes the next cluster a context builds listen on `listen` and wait for `n` workers
/// started by the launcher (`dagger::init()` calls it on rank 0 of an MPI job), instead of
/// launching the workers it asks for. Only one cluster gets them.
pub fn set_prelaunched_workers(listen: &str, n: usize) {
    if let Ok(mut p) = PRELAUNCHED.lock() {
        *p = Some((listen.to_string(), n));
    }
}

pub(crate) fn take_prelaunched() -> Option<(String, usize)> {
    PRELAUNCHED.lock().ok().and_then(|mut p| p.take())
}

pub(crate) fn default_transport() -> Option<Arc<dyn TransportFactory>> {
    DEFAULT_TRANSPORT.get().cloned()
}

/// How a context becomes a cluster: set by `ContextBuilder::workers`/`listen`.
#[derive(Clone)]
pub(crate) struct ClusterConfig {
    pub workers: usize,
    pub listen: String,
    pub cookie: Option<String>,
    pub transport: Option<Arc<dyn TransportFactory>>,
    pub program: Option<WorkerProgram>,
    pub worker_threads: Option<usize>,
    pub inline_limit: u32,
    pub join_timeout: Duration,
    pub env: Vec<(String, String)>,
    pub max_retries: u32,
    pub heartbeat: Duration,
    pub heartbeat_timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            workers: 0,
            listen: "127.0.0.1:0".into(),
            cookie: None,
            transport: None,
            program: None,
            worker_threads: None,
            inline_limit: 64 * 1024,
            join_timeout: Duration::from_secs(60),
            env: Vec::new(),
            max_retries: 3,
            heartbeat: Duration::from_millis(500),
            heartbeat_timeout: Duration::from_secs(10),
        }
    }
}
