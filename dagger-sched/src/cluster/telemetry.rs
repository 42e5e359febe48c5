//! The profiling hook of worker processes: how a worker records spans and hands them over.

use bytes::Bytes;
use std::sync::{Arc, OnceLock};

/// How a worker records profile spans and hands them over; installed by the `dagger`
/// facade (with `dagger-profile`) so the scheduler needs no profiler of its own.
pub trait Telemetry: Send + Sync {
    /// Starts recording.
    fn start(&self);
    /// Stops and returns what was recorded, encoded (the driver's side decodes it).
    fn take(&self) -> Bytes;
}

static TELEMETRY: OnceLock<Arc<dyn Telemetry>> = OnceLock::new();

/// Installs this process's [`Telemetry`] (first call wins).
pub fn set_telemetry(t: Arc<dyn Telemetry>) {
    let _ = TELEMETRY.set(t);
}

pub(crate) fn telemetry() -> Option<&'static Arc<dyn Telemetry>> {
    TELEMETRY.get()
}
