//! The dashboard on a cluster: its observer sees tasks run on worker processes and its
//! memory panel shows what each worker holds (feature `dashboard`).

use dagger::dashboard::Progress;
use dagger::{Context, DTask, Options, Scope, WorkerId};
use std::time::{Duration, Instant};

use crate::harness::cluster_builder;

dagger::register! {
    fn chunky(n: u64) -> Vec<u8> { vec![1; n as usize] }
    fn slow(ms: u64) -> u64 { std::thread::sleep(Duration::from_millis(ms)); ms }
}

/// A driver with one thread and `workers` one-thread worker processes, shown on a dashboard
/// of its own.
fn watched_cluster(workers: usize) -> (Context, dagger::dashboard::Dashboard) {
    let b = cluster_builder(workers).threads(1).worker_threads(1);
    let (b, dash) = dagger::with_dashboard(b, "127.0.0.1:0").unwrap();
    (b.build(), dash)
}

/// The progress the dashboard shows for the tasks called `name`, if it has seen any.
fn progress_of(dash: &dagger::dashboard::Dashboard, name: &str) -> Option<Progress> {
    dash.state()
        .names
        .iter()
        .find(|n| n.name == name)
        .map(|n| n.progress)
}

/// Runs `n` `CHUNKY(len)` tasks called `name` on worker 2 and waits for them; the handles
/// keep their results alive on the worker.
fn run_chunky_on_worker_2(ctx: &Context, name: &str, n: usize, len: u64) -> Vec<DTask<Vec<u8>>> {
    let o = Options::new().scope(Scope::Process(WorkerId(2))).name(name);
    let ts: Vec<_> = (0..n)
        .map(|_| ctx.spawn_registered_with(&o, CHUNKY, (len,)))
        .collect();
    for t in &ts {
        t.wait();
    }
    ts
}

#[test]
fn the_dashboard_shows_remote_tasks_and_worker_memory() {
    let (ctx, dash) = watched_cluster(2);
    let _feed = dagger::dashboard::feed_gauges(&ctx, dash.gauges(), Duration::from_millis(50));
    let _held = run_chunky_on_worker_2(&ctx, "chunky", 5, 1_000_000);
    let t0 = Instant::now();
    loop {
        let w2 = dash
            .state()
            .memory
            .iter()
            .find(|m| m.worker == 2)
            .map_or(0, |m| m.in_use_bytes);
        let done = progress_of(&dash, "chunky").map_or(0, |p| p.done);
        if w2 >= 5_000_000 && done == 5 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "memory {w2}, done {done}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What an observer heard of one task (events borrow from the task, so a kept copy is owned).
#[derive(Clone, Debug, PartialEq)]
enum Heard {
    Spawned,
    Started,
    /// Sent to this worker.
    Dispatched(WorkerId),
    Finished {
        ok: bool,
        started: bool,
    },
}

/// Every event an observer hears, in order.
#[derive(Default)]
struct Events(std::sync::Mutex<Vec<(dagger::ids::TaskId, Heard)>>);

impl dagger::observe::Observer for Events {
    fn on_event(&self, e: &dagger::observe::TaskEvent) {
        let heard = match e.kind {
            dagger::observe::TaskEventKind::Spawned { .. } => Heard::Spawned,
            dagger::observe::TaskEventKind::Started { .. } => Heard::Started,
            dagger::observe::TaskEventKind::Dispatched { processor } => {
                Heard::Dispatched(processor.worker)
            }
            dagger::observe::TaskEventKind::Finished { ok, started } => {
                Heard::Finished { ok, started }
            }
            _ => return,
        };
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.push((e.task, heard));
    }
}

/// A task sent to a worker is reported dispatched (to that worker) before it is reported
/// finished, and finished as not started here (its start is the dispatch).
#[test]
fn an_observer_hears_remote_tasks_dispatched_before_they_finish() {
    let events = std::sync::Arc::new(Events::default());
    let ctx = cluster_builder(1)
        .threads(1)
        .worker_threads(1)
        .observer(events.clone())
        .build();
    let o = Options::new().scope(Scope::Process(WorkerId(2)));
    let ts: Vec<_> = (0..3)
        .map(|_| ctx.spawn_registered_with(&o, CHUNKY, (10u64,)))
        .collect();
    for t in &ts {
        assert_eq!(t.fetch().unwrap().len(), 10);
    }
    let v = events.0.lock().unwrap().clone();
    for t in &ts {
        let mine: Vec<Heard> = v
            .iter()
            .filter(|(id, _)| *id == t.id())
            .map(|(_, k)| k.clone())
            .collect();
        assert_eq!(
            mine,
            [
                Heard::Spawned,
                Heard::Dispatched(WorkerId(2)),
                Heard::Finished {
                    ok: true,
                    started: false
                },
            ]
        );
    }
}

/// Many remote tasks in flight at once (each running from its dispatch to its finish, on
/// different threads): once they finish, the dashboard shows them all done and none running.
#[test]
fn many_remote_tasks_in_flight_end_done_not_running() {
    let (ctx, dash) = watched_cluster(1);
    let _held = run_chunky_on_worker_2(&ctx, "many", 300, 4);
    let t0 = Instant::now();
    loop {
        let p = progress_of(&dash, "many");
        if let Some(p) = p {
            if p.done == 300 {
                assert_eq!((p.running, p.queued, p.failed), (0, 0, 0), "{p:?}");
                break;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{p:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A task running on a worker process shows as running (from its dispatch) until it
/// finishes, then as done.
#[test]
fn a_remote_task_shows_running_while_it_runs() {
    let (ctx, dash) = watched_cluster(1);
    let o = Options::new()
        .scope(Scope::Process(WorkerId(2)))
        .name("slow");
    let t = ctx.spawn_registered_with(&o, SLOW, (1_500u64,));
    let progress = || progress_of(&dash, "slow");
    let t0 = Instant::now();
    loop {
        let p = progress();
        if p.is_some_and(|p| p.running == 1) {
            break;
        }
        assert!(!t.is_ready(), "finished before it was seen running: {p:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(t0.elapsed() < Duration::from_millis(1_500));
    assert_eq!(t.fetch().unwrap(), 1_500);
    let t1 = Instant::now();
    loop {
        let p = progress();
        if p.is_some_and(|p| (p.running, p.done, p.queued) == (0, 1, 0)) {
            break;
        }
        assert!(t1.elapsed() < Duration::from_secs(10), "{p:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run by `dagger_dashboard_env_starts_the_process_wide_dashboard` in a child process with
/// `DAGGER_DASHBOARD` set (the variable is process-wide, so it gets a process of its own).
#[test]
#[ignore]
fn env_child() {
    use dagger::DashboardExt;
    dagger::init();
    let dash = dagger::dashboard::global_dashboard().expect("init started the dashboard");
    let ctx = Context::builder().threads(1).env_dashboard().build();
    let o = Options::new().name("from-env");
    let ts: Vec<_> = (0..3u64)
        .map(|i| ctx.spawn_with(&o, |(x,)| x * 2, (i,)))
        .collect();
    assert_eq!(dagger::fetch_all(&ts).unwrap(), vec![0, 2, 4]);
    let t0 = Instant::now();
    while dash.state().totals.done < 3 {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = dash.state();
    assert_eq!(s.names[0].name, "from-env");
    // `.dashboard(addr)` reuses the process-wide one: one dashboard per process.
    let b = Context::builder()
        .threads(1)
        .dashboard("127.0.0.1:1")
        .unwrap();
    drop(b);
    assert_eq!(
        dagger::dashboard::global_dashboard().unwrap().addr(),
        dash.addr()
    );
    // A plain context, with no dashboard option, is watched too: init made the dashboard the
    // default observer.
    let plain = Context::builder().threads(1).build();
    let o = Options::new().name("plain");
    let ts: Vec<_> = (0..2u64)
        .map(|i| plain.spawn_with(&o, |(x,)| x + 1, (i,)))
        .collect();
    assert_eq!(dagger::fetch_all(&ts).unwrap(), vec![1, 2]);
    let t0 = Instant::now();
    while dash.state().totals.done < 5 {
        assert!(t0.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(dash.state().names.iter().any(|n| n.name == "plain"));
    println!("ENV-CHILD-OK {}", dash.url());
}

#[test]
fn dagger_dashboard_env_starts_the_process_wide_dashboard() {
    let run = |value: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "dashboard_cluster::env_child",
                "--ignored",
                "--nocapture",
            ])
            .env("DAGGER_DASHBOARD", value)
            .env_remove("DAGGER_SCHEDULER")
            .output()
            .unwrap()
    };
    let out = run("127.0.0.1:0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ENV-CHILD-OK http://127.0.0.1:"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Off: init starts nothing, so the child's `expect` fails.
    let out = run("off");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("init started the dashboard"));
}

dagger::register! {
    fn total_len(v: Vec<u8>) -> u64 { v.len() as u64 }
}

/// While a browser watches, the workers' own task executions reach the task stream and
/// their fetches from each other the transfers panel.
#[cfg(feature = "profile")]
#[test]
fn a_watched_dashboard_shows_worker_spans_and_transfers() {
    let (ctx, dash) = watched_cluster(2);
    let _feed = dagger::dashboard::feed_dashboard(&ctx, dash.handle(), Duration::from_millis(50));
    let client = dagger::dashboard::bench::SseClient::connect(dash.addr()).unwrap();
    assert!(client.wait_for(1, Duration::from_secs(10)));
    // Wait for the feeder to see the client and start the workers' recording.
    std::thread::sleep(Duration::from_millis(200));
    let on2 = Options::new()
        .scope(Scope::Process(WorkerId(2)))
        .name("chunky");
    let on3 = Options::new()
        .scope(Scope::Process(WorkerId(3)))
        .name("total_len");
    let t0 = Instant::now();
    loop {
        // Big results stay on worker 2; worker 3 fetches them from there.
        let data = ctx.spawn_registered_with(&on2, CHUNKY, (200_000u64,));
        let len = ctx.spawn_registered_with(&on3, TOTAL_LEN, (&data,));
        assert_eq!(len.fetch().unwrap(), 200_000);
        let st = dash.state();
        // A worker's span carries the task's name.
        let w2_spans = st.spans.iter().any(|s| {
            s.processor == "ThreadProc(w2, 1)" && s.name == "chunky" && s.end_s >= s.start_s
        });
        let w3_spans = st.processors.iter().any(|p| p.contains("w3"));
        let moved = st
            .transfers
            .iter()
            .any(|t| t.from == 2 && t.to == 3 && t.count > 0 && t.bytes >= 200_000);
        if w2_spans && w3_spans && moved {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "spans on w2 {w2_spans}, w3 {w3_spans}, transfers {:?}, processors {:?}",
            st.transfers,
            st.processors
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
