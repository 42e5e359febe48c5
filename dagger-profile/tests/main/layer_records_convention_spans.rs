//! The layer turns spans of the convention into timespans: every category, fields, nesting,
//! threads; and it ignores what it should ignore.
//! Reference: readme "Debugging performance" (Timespan fields, categories).

use crate::common::*;
use dagger_profile::{category, Collector, Timespan};
use std::collections::BTreeSet;
use tracing_subscriber::layer::SubscriberExt;

fn find<'a>(spans: &'a [Timespan], cat: &str, id: u64) -> &'a Timespan {
    spans
        .iter()
        .find(|t| t.category == cat && t.id == id)
        .unwrap_or_else(|| panic!("no {cat} span for task {id}"))
}

#[test]
fn every_category_is_recorded_with_its_fields() {
    let collector = Collector::new();
    let spans = run_recorded(&collector);
    let cats: BTreeSet<&str> = spans.iter().map(|t| t.category.as_str()).collect();
    assert_eq!(cats, category::ALL.iter().copied().collect::<BTreeSet<_>>());
    let per_thread_tasks = (THREADS * TASKS) as usize;
    assert_eq!(spans.len(), 2 + 3 * per_thread_tasks);

    let compute = find(&spans, "compute", task_id(1, 2));
    assert_eq!(compute.timeline, timeline(1));
    assert_eq!(compute.name.as_deref(), Some("square"));
    assert_eq!(compute.alloc_bytes, 64, "recorded after creation");

    let comm = find(&spans, "comm", task_id(2, 3));
    assert_eq!(
        (comm.from, comm.to, comm.bytes),
        (Some(2), Some(1), COMM_BYTES)
    );

    let storage = find(&spans, "storage", task_id(0, 0));
    assert_eq!((storage.worker, storage.bytes), (Some(1), STORE_BYTES));
    assert_eq!(
        storage.timeline, "OSProc(w1)",
        "no timeline field: from the worker"
    );

    let compute_lanes: BTreeSet<&str> = spans
        .iter()
        .filter(|t| t.category == "compute")
        .map(|t| t.timeline.as_str())
        .collect();
    assert_eq!(compute_lanes.len(), THREADS as usize);
}

#[test]
fn times_are_ordered_and_children_lie_within_parents() {
    let collector = Collector::new();
    let spans = run_recorded(&collector);
    assert!(
        spans.windows(2).all(|w| w[0].start_ns <= w[1].start_ns),
        "take() sorts by start"
    );
    for t in &spans {
        assert!(t.start_ns <= t.finish_ns, "{t:?}");
    }
    let scheduler = spans
        .iter()
        .find(|t| t.category == "scheduler")
        .expect("a scheduler span");
    let init = spans
        .iter()
        .find(|t| t.category == "scheduler_init")
        .expect("an init span");
    assert!(init.finish_ns <= scheduler.start_ns);
    for thread in 0..THREADS {
        let mut previous_finish = 0;
        for k in 0..TASKS {
            let id = task_id(thread, k);
            let parent = find(&spans, "compute", id);
            assert!(
                scheduler.start_ns <= parent.start_ns && parent.finish_ns <= scheduler.finish_ns
            );
            assert!(
                previous_finish <= parent.start_ns,
                "tasks of one thread run one after another"
            );
            previous_finish = parent.finish_ns;
            let comm = find(&spans, "comm", id);
            let store = find(&spans, "storage", id);
            for child in [comm, store] {
                assert!(parent.start_ns <= child.start_ns && child.finish_ns <= parent.finish_ns);
                assert!(child.duration_ns() > 0);
            }
            assert!(comm.finish_ns <= store.start_ns);
        }
    }
}

#[test]
fn nothing_is_recorded_while_stopped_or_for_other_targets() {
    let collector = Collector::new();
    let subscriber = tracing_subscriber::registry().with(collector.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!(target: "dagger", "compute", task = 1u64).in_scope(|| {});
        collector.start();
        tracing::info_span!(target: "not_dagger", "compute", task = 2u64).in_scope(|| {});
        tracing::info_span!("compute", task = 3u64).in_scope(|| {});
        // Created and closed without being entered: creation to close.
        drop(tracing::info_span!(target: "dagger", "comm", task = 4u64));
        // Still open when recording stops: not recorded.
        let open = tracing::info_span!(target: "dagger", "compute", task = 5u64);
        collector.stop();
        drop(open);
    });
    let spans = collector.take();
    assert_eq!(spans.iter().map(|t| t.id).collect::<Vec<_>>(), vec![4]);
    assert!(collector.take().is_empty(), "take empties the buffer");
}

#[test]
fn the_buffer_is_bounded() {
    let collector = Collector::with_capacity(5);
    let spans = run_recorded(&collector);
    assert_eq!(spans.len(), 5);
    assert_eq!(collector.dropped(), 2 + 3 * THREADS * TASKS - 5);
}

#[test]
fn stacking_with_another_layer_hides_nothing_from_it() {
    // A second layer that counts every span it sees: the profile layer's filter must not
    // take spans away from it, recording or not.
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct Count(Arc<AtomicUsize>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
        fn on_new_span(
            &self,
            _: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let seen = Arc::new(AtomicUsize::new(0));
    let collector = Collector::new();
    let subscriber = tracing_subscriber::registry()
        .with(collector.layer())
        .with(Count(seen.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!(target: "dagger", "compute", task = 1u64).in_scope(|| {});
        collector.start();
        tracing::info_span!(target: "dagger", "compute", task = 2u64).in_scope(|| {});
        tracing::info_span!(target: "other", "x").in_scope(|| {});
    });
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(collector.take().len(), 1);
}

#[test]
fn ingested_timespans_join_recorded_ones() {
    let collector = Collector::new();
    let mut remote = Timespan::new("compute", 9, "ThreadProc(w2, 1)", 0, 5);
    remote.worker = Some(2);
    // Shipped as JSON here; any serde format works.
    let wire = serde_json::to_vec(&vec![remote.clone()]).unwrap_or_default();
    let back: Vec<Timespan> = serde_json::from_slice(&wire).unwrap_or_default();
    collector.ingest(back);
    let spans = collector.take();
    assert_eq!(spans, vec![remote]);
}
