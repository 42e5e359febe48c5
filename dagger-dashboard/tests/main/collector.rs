//! The collector against a model: any valid sequence of task events (spawns, starts,
//! finishes in nesting order, cancellations of queued tasks, and of running tasks reported
//! from another thread) gives exactly the model's counts per name.

use dagger_core::{ProcessorId, TaskId, WorkerId};
use dagger_dashboard::{Collector, Gauges, Progress};
use dagger_sched::{Observer, TaskEvent, TaskEventKind};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Op {
    Spawn(u8),
    Start(usize),
    Finish(bool),
    CancelQueued(usize),
    CancelRunningElsewhere(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..8).prop_map(Op::Spawn),
        3 => any::<usize>().prop_map(Op::Start),
        3 => any::<bool>().prop_map(Op::Finish),
        1 => any::<usize>().prop_map(Op::CancelQueued),
        1 => any::<usize>().prop_map(Op::CancelRunningElsewhere),
    ]
}

/// Task ids are unique per process, as the scheduler's are.
static NEXT: AtomicU64 = AtomicU64::new(1 << 40);

/// Names 1–3 are fresh `Arc`s on every spawn; 4–7 reuse one `Arc` per text from `shared`
/// (as tasks spawned with one `Options` do), which the collector finds by pointer.
fn name(i: u8, shared: &[Option<Arc<str>>]) -> Option<Arc<str>> {
    match i {
        0 => None,
        1..=3 => Some(format!("name-{i}").into()),
        i => shared[(i as usize) % shared.len()].clone(),
    }
}

fn ev<'a>(task: u64, name: &'a Option<Arc<str>>, kind: TaskEventKind<'a>) -> TaskEvent<'a> {
    TaskEvent {
        task: TaskId(task),
        name,
        kind,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn counts_follow_the_model(ops in proptest::collection::vec(op(), 0..300)) {
        let c = Collector::new();
        let p = ProcessorId::thread(WorkerId(1), 1);
        // "name-1" both fresh and shared: both must land on the same counters.
        let shared: Vec<Option<Arc<str>>> =
            (0..4).map(|i| Some(format!("name-{}", i % 3 + 1).into())).collect();
        let mut queued: Vec<(u64, Option<Arc<str>>)> = Vec::new();
        let mut running: Vec<(u64, Option<Arc<str>>)> = Vec::new();
        let mut model: BTreeMap<String, Progress> = BTreeMap::new();
        let key = |n: &Option<Arc<str>>| n.as_deref().unwrap_or(dagger_dashboard::UNNAMED).to_string();
        for o in ops {
            match o {
                Op::Spawn(i) => {
                    let id = NEXT.fetch_add(1, Ordering::Relaxed);
                    let n = name(i, &shared);
                    c.on_event(&ev(id, &n, TaskEventKind::Spawned { deps: &[] }));
                    model.entry(key(&n)).or_default().queued += 1;
                    queued.push((id, n));
                }
                Op::Start(k) if !queued.is_empty() => {
                    let (id, n) = queued.remove(k % queued.len());
                    c.on_event(&ev(id, &n, TaskEventKind::Started { processor: p }));
                    let m = model.entry(key(&n)).or_default();
                    m.queued -= 1;
                    m.running += 1;
                    running.push((id, n));
                }
                Op::Finish(ok) if !running.is_empty() => {
                    let (id, n) = running.pop().unwrap();
                    c.on_event(&ev(id, &n, TaskEventKind::Finished { ok, started: true }));
                    let m = model.entry(key(&n)).or_default();
                    m.running -= 1;
                    if ok { m.done += 1 } else { m.failed += 1 }
                }
                Op::CancelQueued(k) if !queued.is_empty() => {
                    let (id, n) = queued.remove(k % queued.len());
                    c.on_event(&ev(id, &n, TaskEventKind::Finished { ok: false, started: false }));
                    let m = model.entry(key(&n)).or_default();
                    m.queued -= 1;
                    m.failed += 1;
                }
                Op::CancelRunningElsewhere(k) if !running.is_empty() => {
                    let (id, n) = running.remove(k % running.len());
                    std::thread::scope(|s| {
                        s.spawn(|| c.on_event(&ev(id, &n, TaskEventKind::Finished { ok: false, started: true })));
                    });
                    let m = model.entry(key(&n)).or_default();
                    m.running -= 1;
                    m.failed += 1;
                }
                _ => {}
            }
        }
        let s = c.state(&Gauges::default(), 0);
        let got: BTreeMap<String, Progress> =
            s.names.iter().map(|n| (n.name.clone(), n.progress)).collect();
        let want: BTreeMap<String, Progress> =
            model.into_iter().filter(|(_, p)| p.total() > 0).collect();
        prop_assert_eq!(got, want);
        prop_assert!(s.spans.iter().all(|sp| sp.end_s >= sp.start_s));
    }
}

#[test]
fn a_long_stream_of_tiny_tasks_is_sampled_not_recorded_in_full() {
    let c = Collector::new();
    let p = ProcessorId::thread(WorkerId(1), 1);
    let n = 200_000u64;
    for _ in 0..n {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        c.on_event(&ev(id, &None, TaskEventKind::Spawned { deps: &[] }));
        c.on_event(&ev(id, &None, TaskEventKind::Started { processor: p }));
        c.on_event(&ev(
            id,
            &None,
            TaskEventKind::Finished {
                ok: true,
                started: true,
            },
        ));
    }
    let s = c.state(&Gauges::default(), 0);
    assert_eq!(s.totals.done, n);
    assert!(s.span_stride > 1, "the stride rose: {}", s.span_stride);
    assert!(
        s.spans.len() <= 512,
        "the ring is bounded: {}",
        s.spans.len()
    );
    assert!(
        s.span_seq < n / 4,
        "most tasks were not timed: {}",
        s.span_seq
    );
    assert!(s.graph.truncated);
    assert_eq!(s.graph.nodes.len() as u64, dagger_dashboard::GRAPH_CAP);
}

#[test]
fn names_past_the_limit_are_grouped() {
    let c = Collector::new();
    let p = ProcessorId::thread(WorkerId(1), 1);
    let extra = 44;
    for i in 0..dagger_dashboard::MAX_NAMES + extra {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let n: Option<Arc<str>> = Some(format!("job-{i}").into());
        c.on_event(&ev(id, &n, TaskEventKind::Spawned { deps: &[] }));
        c.on_event(&ev(id, &n, TaskEventKind::Started { processor: p }));
        c.on_event(&ev(
            id,
            &n,
            TaskEventKind::Finished {
                ok: true,
                started: true,
            },
        ));
    }
    let s = c.state(&Gauges::default(), 0);
    assert_eq!(s.names.len(), dagger_dashboard::MAX_NAMES + 1);
    let other = s
        .names
        .iter()
        .find(|n| n.name == dagger_dashboard::OTHER_NAMES)
        .unwrap();
    assert_eq!(other.progress.done, extra as u64);
    assert_eq!(s.totals.done, (dagger_dashboard::MAX_NAMES + extra) as u64);
}

#[test]
fn many_shared_names_counted_by_pointer_stay_exact() {
    // More distinct shared names than the per-thread pointer cache holds, interleaved, so
    // entries are evicted and found again.
    let c = Collector::new();
    let p = ProcessorId::thread(WorkerId(1), 1);
    let names: Vec<Option<Arc<str>>> = (0..37).map(|i| Some(format!("n{i}").into())).collect();
    for round in 0..50 {
        for (k, n) in names.iter().enumerate() {
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            c.on_event(&ev(id, n, TaskEventKind::Spawned { deps: &[] }));
            if (round + k) % 5 == 0 {
                continue; // left queued
            }
            c.on_event(&ev(id, n, TaskEventKind::Started { processor: p }));
            c.on_event(&ev(
                id,
                n,
                TaskEventKind::Finished {
                    ok: true,
                    started: true,
                },
            ));
        }
    }
    let s = c.state(&Gauges::default(), 0);
    assert_eq!(s.names.len(), names.len());
    for np in &s.names {
        assert_eq!(np.progress.queued, 10, "{}", np.name);
        assert_eq!(np.progress.done, 40, "{}", np.name);
        assert_eq!(np.progress.running, 0, "{}", np.name);
    }
}

#[test]
fn spans_from_other_processes_are_bounded_and_sent_once() {
    use dagger_dashboard::ExternalSpan;
    let c = Collector::new();
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let span = |i: u64| ExternalSpan {
        processor: "ThreadProc(w2, 1)".into(),
        task: i,
        name: None,
        start_unix_ns: t + i * 1000,
        end_unix_ns: t + i * 1000 + 500,
        ok: true,
    };
    c.add_spans((0..600).map(span));
    let s = c.state(&Gauges::default(), 0);
    assert_eq!(s.processors, vec!["ThreadProc(w2, 1)".to_string()]);
    assert_eq!(s.spans.len(), 512, "the latest spans only");
    assert_eq!(s.spans.last().unwrap().task, 599);
    assert!(s
        .spans
        .iter()
        .all(|sp| sp.end_s > sp.start_s && sp.start_s >= 0.0));
    // The live stream asks for spans after the last one it sent: only new ones come.
    c.add_spans([span(600)]);
    let again = c.state(&Gauges::default(), s.span_seq);
    assert_eq!(again.spans.len(), 1);
    assert_eq!(again.spans[0].task, 600);
}

#[test]
fn counts_of_exited_threads_are_kept_and_their_lanes_freed() {
    let c = Arc::new(Collector::new());
    let p = ProcessorId::thread(WorkerId(1), 1);
    let name: Option<Arc<str>> = Some("short-lived".into());
    for round in 0..3u64 {
        let (c2, name) = (c.clone(), name.clone());
        std::thread::spawn(move || {
            for k in 0..10u64 {
                let id = NEXT.fetch_add(1, Ordering::Relaxed);
                c2.on_event(&ev(id, &name, TaskEventKind::Spawned { deps: &[] }));
                if k < 7 {
                    c2.on_event(&ev(id, &name, TaskEventKind::Started { processor: p }));
                    c2.on_event(&ev(
                        id,
                        &name,
                        TaskEventKind::Finished {
                            ok: k != round,
                            started: true,
                        },
                    ));
                }
            }
        })
        .join()
        .unwrap();
        let s = c.state(&Gauges::default(), 0);
        let n = (round + 1) * 10;
        assert_eq!(s.totals.total(), n);
        assert_eq!(s.totals.queued, (round + 1) * 3);
        assert_eq!(s.totals.failed, round + 1);
        assert_eq!(s.totals.running, 0);
        assert!(format!("{c:?}").contains("lanes: 0"), "{c:?}");
    }
}
