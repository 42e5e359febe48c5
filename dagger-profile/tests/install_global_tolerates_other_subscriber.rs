// A binary of its own: it installs a global subscriber other than dagger-profile's.
//! With another global subscriber in place, `install_global` reports it instead of
//! panicking, and `record` still captures the calling thread's spans.

#[test]
fn another_global_subscriber_is_reported_not_fatal() {
    let other = tracing_subscriber::registry();
    assert!(tracing::subscriber::set_global_default(other).is_ok());
    assert!(!dagger_profile::install_global());
    assert!(!dagger_profile::install_global(), "same answer again");
    let (spans, ()) = dagger_profile::record(|| {
        tracing::info_span!(target: "dagger", "storage", bytes = 8u64).in_scope(|| {});
    });
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].bytes, 8);
}
