// A binary of its own: it needs tracing's process-wide interest cache to itself.
//! While its collector is stopped, the profile layer turns dagger callsites off: a span is
//! not even created, so it costs only tracing's cached callsite check. Alone in its test
//! binary, because other live dispatchers in the process share tracing's interest cache.

use dagger_profile::Collector;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn a_stopped_collector_disables_dagger_spans() {
    // The cheap path: while stopped, a dagger span is not even created (no registry slot,
    // no layer call), so its cost is tracing's callsite check.
    fn make() -> tracing::Span {
        tracing::info_span!(target: "dagger", "compute", task = 1u64)
    }
    let collector = Collector::new();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(collector.layer()));
    tracing::dispatcher::with_default(&dispatch, || {
        assert!(make().is_disabled());
        collector.start();
        assert!(!make().is_disabled());
        collector.stop();
        assert!(make().is_disabled());
    });
    // Started from a thread where this dispatcher is not the default: still takes effect.
    collector.start();
    tracing::dispatcher::with_default(&dispatch, || assert!(!make().is_disabled()));
    collector.stop();
}
