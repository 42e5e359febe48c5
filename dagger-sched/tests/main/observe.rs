//! Observers: what tasks report, and how an observer is held (moved from the unit tests of
//! `src/observe.rs`, which may not import the `Context` above it).

use dagger_core::TaskId;
use dagger_sched::{Context, Observer, TaskEvent, TaskEventKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Default)]
struct Count(AtomicUsize);
impl Observer for Count {
    fn on_event(&self, e: &TaskEvent) {
        if matches!(e.kind, TaskEventKind::Finished { .. }) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn tasks_do_not_count_references_to_the_observer() {
    let count = Arc::new(Count::default());
    let ctx = Context::builder()
        .threads(2)
        .observer(count.clone())
        .build();
    let after_build = Arc::strong_count(&count);
    let gate = Arc::new(std::sync::Barrier::new(2));
    let g = gate.clone();
    let first = ctx.spawn(move |()| g.wait(), ());
    let live: Vec<_> = (0..50).map(|i| ctx.spawn(|(x,)| x, (i,))).collect();
    // Tasks alive (one still running, 50 held by handles): no clone of the observer.
    assert_eq!(Arc::strong_count(&count), after_build);
    gate.wait();
    first.wait();
    for t in &live {
        t.wait();
    }
    assert_eq!(count.0.load(Ordering::Relaxed), 51);
}

#[test]
fn one_observer_on_many_contexts_is_kept_once() {
    let count = Arc::new(Count::default());
    let a = Context::builder()
        .threads(1)
        .observer(count.clone())
        .build();
    let kept = Arc::strong_count(&count);
    let b = Context::builder()
        .threads(1)
        .observer(count.clone())
        .build();
    assert_eq!(Arc::strong_count(&count), kept);
    a.spawn(|()| (), ()).wait();
    b.spawn(|()| (), ()).wait();
    assert_eq!(count.0.load(Ordering::Relaxed), 2);
}

/// Records, per task, whether `Started` came and what `Finished` said about it.
#[derive(Default)]
struct Starts(parking_lot::Mutex<Vec<(TaskId, &'static str)>>);
impl Observer for Starts {
    fn on_event(&self, e: &TaskEvent) {
        let what = match e.kind {
            TaskEventKind::Started { .. } => "started",
            TaskEventKind::Finished { started: true, .. } => "finished after start",
            TaskEventKind::Finished { started: false, .. } => "finished unstarted",
            _ => return,
        };
        self.0.lock().push((e.task, what));
    }
}

#[test]
fn finished_says_whether_the_task_started() {
    let starts = Arc::new(Starts::default());
    let ctx = Context::builder()
        .threads(1)
        .observer(starts.clone())
        .build();
    let gate = Arc::new(std::sync::Barrier::new(2));
    let g = gate.clone();
    let busy = ctx.spawn(move |()| g.wait(), ());
    // The only thread is busy: this one is still queued when cancelled.
    let queued = ctx.spawn(|()| 1, ());
    queued.cancel();
    gate.wait();
    busy.wait();
    let ran = ctx.spawn(|()| 2, ());
    ran.wait();
    let of = |t: TaskId| -> Vec<&str> {
        let v = starts.0.lock();
        v.iter()
            .filter(|(id, _)| *id == t)
            .map(|(_, w)| *w)
            .collect()
    };
    assert_eq!(of(queued.id()), ["finished unstarted"]);
    assert_eq!(of(ran.id()), ["started", "finished after start"]);
    assert_eq!(of(busy.id()), ["started", "finished after start"]);
}
