//! `cargo xtask demo`: a short tour of dagger-rs (well under a minute).
//!
//! 1. the quickstart DAG, lazily and eagerly;
//! 2. a lazy graph in which one task fails, and the root cause its dependents report;
//! 3. a progress bar over a few thousand tasks, driven by an [`Observer`];
//! 4. a shard of per-thread counters;
//! 5. a driver and two worker processes running registered functions;
//! 6. a profiled computation: its summary, and a Chrome trace, a Gantt chart and a picture
//!    of the task graph written to `target/demo/`.
//!
//! Worker processes are re-executions of the xtask binary, whose `main` calls
//! `dagger::init()` first.

use dagger::profile::{summarize_events, write_chrome_trace, write_gantt, Progress, TaskGraph};
use dagger::shard::{shard_with, ShardOptions};
use dagger::{
    debug_compute, delayed, delayed_with, fetch_all, Context, Observer, Options, Scope, TaskEvent,
    TaskEventKind, Thunk, WorkerId,
};
use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

dagger::register! {
    /// `x²`, and the worker that computed it.
    fn demo_square(x: i64) -> (i64, u32) {
        (x * x, dagger::myid().0)
    }
    /// The sum of two partial results, and the worker that added them.
    fn demo_add(a: (i64, u32), b: (i64, u32)) -> (i64, u32) {
        (a.0 + b.0, dagger::myid().0)
    }
}

type DemoResult = Result<(), Box<dyn Error>>;

/// Runs the tour, printing as it goes; fails on the first step that does not behave.
pub(crate) fn run() -> DemoResult {
    let t0 = Instant::now();
    let ctx = Context::local();
    println!(
        "dagger-rs demo: {} thread processors in this process\n",
        ctx.num_threads()
    );
    step("1. The quickstart DAG", || quickstart(&ctx))?;
    step("2. A failing task and its root cause", || failure(&ctx))?;
    step("3. Progress over many tasks", progress)?;
    step("4. A shard of per-thread counters", || counters(&ctx))?;
    step("5. A driver and two worker processes", cluster)?;
    step("6. Profiling", profile)?;
    println!("demo finished in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(())
}

fn step(title: &str, f: impl FnOnce() -> DemoResult) -> DemoResult {
    println!("== {title}");
    let t = Instant::now();
    f()?;
    println!("   ({:.0} ms)\n", t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}

fn check(ok: bool, what: &str) -> DemoResult {
    if ok {
        Ok(())
    } else {
        Err(format!("demo check failed: {what}").into())
    }
}

/// `p = f(42); q = g(p); r = h(53); s = combine(p, q, r)`.
fn quickstart(ctx: &Context) -> DemoResult {
    let p = delayed(|(x,)| x + 1, (42i64,));
    let q = delayed(|(p,)| p * 2, (&p,));
    let r = delayed(|(x,)| x - 1, (53i64,));
    let s = delayed(|(p, q, r)| p + q + r, (&p, &q, &r));
    let chunk = s.compute(ctx)?;
    println!(
        "   lazy:  s = {}, a chunk of {} on {}",
        chunk.fetch()?,
        chunk.type_name(),
        chunk.processor()
    );
    let p = ctx.spawn(|(x,)| x + 1, (42i64,));
    let q = ctx.spawn(|(p,)| p * 2, (&p,));
    let r = ctx.spawn(|(x,)| x - 1, (53i64,));
    let s = ctx.spawn(|(p, q, r)| p + q + r, (&p, &q, &r));
    let v = s.fetch()?;
    println!("   eager: s = {v}");
    check(v == 43 + 86 + 52, "quickstart sum")
}

/// A lazy graph where one input fails: every dependent fails with an error naming the
/// failed task and carrying the root cause; unrelated branches are unaffected.
fn failure(ctx: &Context) -> DemoResult {
    let reading = delayed_with(
        Options::new().name("read sensor"),
        |()| -> f64 { panic!("sensor 7 offline") },
        (),
    );
    let calibrated = delayed(|(x,)| x * 1.02, (&reading,));
    let report = delayed(|(c,)| format!("{c:.1} °C"), (&calibrated,));
    let other = delayed(|()| 21.5f64, ());
    // The panic is the failure under study; keep the default hook's backtrace note out of
    // the tour's output while it happens.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = report.collect(ctx);
    std::panic::set_hook(hook);
    match result {
        Ok(v) => return Err(format!("a failed input produced {v:?}").into()),
        Err(e) => {
            let msg = e.to_string();
            println!("   report failed: {msg}");
            check(msg.contains("sensor 7 offline"), "root cause in the error")?;
        }
    }
    println!(
        "   an unrelated thunk still computes: {}",
        other.collect(ctx)?
    );
    Ok(())
}

/// Advances a progress bar as tasks finish.
struct ProgressObserver(Progress);

impl Observer for ProgressObserver {
    fn on_event(&self, e: &TaskEvent) {
        if let TaskEventKind::Finished { .. } = e.kind {
            self.0.inc(1);
        }
    }
}

fn progress() -> DemoResult {
    let n: u64 = 4000;
    let bar = Arc::new(ProgressObserver(Progress::new(n, "tasks")));
    if !bar.0.is_enabled() {
        println!("   (the bar shows on a terminal; stderr is not one, or DAGGER_PROGRESS=0)");
    }
    let ctx = Context::builder().observer(bar.clone()).build();
    let ts: Vec<_> = (0..n)
        .map(|i| {
            ctx.spawn(
                |(i,)| {
                    // About 0.2 ms of work, so the bar has something to show.
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(200) {}
                    i % 7
                },
                (i,),
            )
        })
        .collect();
    let total: u64 = fetch_all(&ts)?.iter().sum();
    bar.0.finish();
    if bar.0.is_enabled() {
        // The finished bar stays on its line of the terminal; end that line.
        eprintln!();
    }
    println!("   {n} tasks done, checksum {total}");
    check(
        total == (0..n).map(|i| i % 7).sum::<u64>(),
        "progress checksum",
    )
}

fn counters(ctx: &Context) -> DemoResult {
    let cs = shard_with(ctx, ShardOptions::new().per_thread(true), || {
        AtomicI64::new(0)
    })?;
    let ts: Vec<_> = (0..1000)
        .map(|_| {
            ctx.spawn(
                |(c,)| {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(20) {}
                    c.fetch_add(1, Ordering::Relaxed)
                },
                (&cs,),
            )
        })
        .collect();
    fetch_all(&ts)?;
    let parts = fetch_all(&cs.map(ctx, |c| c.load(Ordering::Relaxed)))?;
    let total: i64 = parts.iter().sum();
    println!(
        "   {} counters (one per thread) counted {parts:?}: {total} in all",
        cs.len()
    );
    check(total == 1000, "shard total")
}

fn cluster() -> DemoResult {
    let t = Instant::now();
    let ctx = Context::builder()
        .threads(2)
        .workers(2)
        .worker_threads(2)
        .try_build()?;
    println!(
        "   workers {:?} up in {:.0} ms",
        ctx.workers(),
        t.elapsed().as_secs_f64() * 1e3
    );
    // Squares anywhere but the driver, then a tree of additions wherever is best.
    let remote = Scope::union(
        ctx.workers()
            .into_iter()
            .filter(|w| *w != WorkerId::DRIVER)
            .map(Scope::Process),
    )?;
    let opts = Options::new().scope(remote);
    let leaves: Vec<_> = (1..=6i64)
        .map(|x| ctx.spawn_registered_with(&opts, DEMO_SQUARE, (x,)))
        .collect();
    let mut level = leaves.clone();
    while level.len() > 1 {
        let mut next: Vec<_> = level
            .chunks_exact(2)
            .map(|p| ctx.spawn_registered(DEMO_ADD, (&p[0], &p[1])))
            .collect();
        if level.len() % 2 == 1 {
            next.extend(level.last().cloned());
        }
        level = next;
    }
    let (total, at) = level[0].fetch()?;
    let placed: Vec<String> = fetch_all(&leaves)?
        .iter()
        .zip(1..)
        .map(|((sq, w), x)| format!("{x}²={sq}@w{w}"))
        .collect();
    println!("   {}", placed.join("  "));
    println!("   sum of squares 1..=6 = {total} (last addition on w{at})");
    check(total == 91, "cluster sum")
}

/// Collects dependency edges from spawn events, for the task-graph picture.
#[derive(Default)]
struct Edges(Mutex<Vec<(u64, u64)>>);

impl Observer for Edges {
    fn on_event(&self, e: &TaskEvent) {
        if let TaskEventKind::Spawned { deps } = &e.kind {
            let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
            v.extend(deps.iter().map(|d| (d.0, e.task.0)));
        }
    }
}

fn profile() -> DemoResult {
    let edges = Arc::new(Edges::default());
    let ctx = Context::builder().observer(edges.clone()).build();
    // Sum of squares of 8 blocks of 250 000 numbers, summed as a tree.
    let blocks: Vec<Thunk<Vec<f64>>> = (0..8u64)
        .map(|b| {
            delayed_with(
                Options::new().name("make"),
                move |()| {
                    (0..250_000u64)
                        .map(|i| ((i * 31 + b * 7) % 1000) as f64 / 1000.0)
                        .collect()
                },
                (),
            )
        })
        .collect();
    let mut level: Vec<Thunk<f64>> = blocks
        .iter()
        .map(|b| {
            delayed_with(
                Options::new().name("sumsq"),
                |(v,)| v.iter().map(|x| x * x).sum(),
                (b,),
            )
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| delayed_with(Options::new().name("add"), |(a, b)| a + b, (&p[0], &p[1])))
            .collect();
    }
    let (spans, result) = debug_compute(&ctx, &level[0]);
    println!("   sum of squares = {:.1}", result?.fetch()?);
    println!("{}", indent(&summarize_events(&spans).to_string()));

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/demo");
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    write_chrome_trace(&spans, dir.join("trace.json"))?;
    write_gantt(&spans, dir.join("gantt.png"))?;
    let graph_edges = edges.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    TaskGraph::from_timespans(&spans, graph_edges).write_graph(dir.join("graph.svg"))?;
    println!(
        "   wrote trace.json (open in ui.perfetto.dev), gantt.png and graph.svg to {}",
        dir.display()
    );
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("   {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
