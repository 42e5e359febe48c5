//! What the dashboard costs: the `tasks` suite's workloads (`super::tasks`) with no
//! observer, with one that does nothing, and with the dashboard on (with a live-stream
//! client connected, and without), measured in the same run. `cargo xtask bench dashboard`.

use super::tasks::{dagger_chain, dagger_independent, dagger_tree};
use dagger::{Context, Observer};
use dagger_dashboard::bench::{collector_ns_per_task, NoopObserver, SseClient};
use dagger_dashboard::Dashboard;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The median over rounds of `a[r] / b[r]`: each round runs every system back to back, so
/// a ratio within a round sees the same machine load, and the median drops rounds that a
/// neighbour's burst hit on one side only.
fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    if r.is_empty() {
        return f64::NAN;
    }
    r.sort_by(f64::total_cmp);
    r[r.len() / 2]
}

fn summary(t: &mut [f64]) -> (f64, f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

fn error_line(e: dagger::Error) -> Vec<Value> {
    vec![json!({"workload": "dashboard_overhead", "error": e.to_string()})]
}

/// The overhead benchmark: 200 000 tiny tasks (`quick`: 20 000) in 61 rounds (`quick`: 5);
/// the chain in six times and the tree in twice as many rounds (they are shorter, and the
/// chain's per-round spread is wider).
///
/// Each comparison is its own phase with two contexts alive at a time, a plain one
/// (`dagger-local`) and a variant, run back to back in alternating order every round, on a
/// fresh pair every quarter of the rounds (see [`paired_times`]): an observer that does
/// nothing (`dagger-local+noop-observer`: the scheduler's own cost of reporting events), the
/// dashboard on with an SSE client connected (`dagger-local+dashboard`), and on with nobody
/// connected (`dagger-local+dashboard-unwatched`). A first phase compares two plain
/// contexts: its ratio (`aa_ratio_paired`) is the noise floor of the method. The watched
/// dashboard is also measured on the task suite's chain and tree workloads
/// (`overhead_pct_chain`, `overhead_pct_tree`; `overhead_pct_suite` is the geometric mean
/// over the three) and with every pool thread on one CPU (`one_cpu_ratio_paired`: the
/// dashboard's own cost without cross-core timing effects). One JSON line per system, plus a
/// `dashboard_overhead` line with the ratios (of medians, of minima, and the median of the
/// per-round ratios, `ratio_paired`, which `overhead_pct` reports) and the collector's cost
/// per task measured alone ([`collector_ns_per_task`]).
pub(crate) fn run(quick: bool) -> Vec<Value> {
    if quick {
        overhead(20_000, 5, 200_000)
    } else {
        overhead(200_000, 61, 2_000_000)
    }
}

/// Runs `f` with this thread, and the threads it starts, on the first CPU this thread may
/// use; `None` (and `f` not run) where that cannot be set.
#[cfg(target_os = "linux")]
fn on_one_cpu<R>(f: impl FnOnce() -> R) -> Option<R> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain bits (all-zero is the empty set); the calls get and set
    // the calling thread's own mask through pointers to locals of exactly `size` bytes.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut old) != 0 {
            return None;
        }
        let first = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &old))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(first, &mut one);
        if libc::sched_setaffinity(0, size, &one) != 0 {
            return None;
        }
        let r = f();
        libc::sched_setaffinity(0, size, &old);
        Some(r)
    }
}

#[cfg(not(target_os = "linux"))]
fn on_one_cpu<R>(_: impl FnOnce() -> R) -> Option<R> {
    None
}

/// Fresh pairs of contexts per comparison: a pool made first or second can be
/// systematically a few per cent faster (where its threads, their allocator arenas and
/// stacks land), which pairing rounds within one pool pair cannot cancel.
const BLOCKS: usize = 4;

/// The times of `reps` rounds of `work` on a plain context of `threads` threads and on one
/// that reports to `variant` (plain too when `None`: the noise floor), in alternating order
/// so neither always runs first. The rounds are split into [`BLOCKS`] blocks, each on a
/// new pair of contexts made in alternating order and warmed up with one run each.
fn paired_times(
    work: &dyn Fn(&Context),
    reps: usize,
    threads: usize,
    variant: Option<Arc<dyn Observer>>,
) -> [Vec<f64>; 2] {
    let blocks = BLOCKS.clamp(1, reps.max(1));
    let mut times: [Vec<f64>; 2] = Default::default();
    for b in 0..blocks {
        let (base, other) = if b % 2 == 0 {
            let base = context(threads, None);
            (base, context(threads, variant.clone()))
        } else {
            let other = context(threads, variant.clone());
            (context(threads, None), other)
        };
        let both = [&base, &other];
        for ctx in both {
            work(ctx);
        }
        let rounds = reps / blocks + usize::from(b < reps % blocks);
        for r in 0..rounds {
            for k in 0..2 {
                let which = (r + k) % 2;
                let t0 = Instant::now();
                work(both[which]);
                times[which].push(t0.elapsed().as_secs_f64());
            }
        }
    }
    times
}

/// A plain context of `threads` threads, or one reporting to `observer`.
fn context(threads: usize, observer: Option<Arc<dyn Observer>>) -> Context {
    let b = Context::builder().threads(threads);
    match observer {
        Some(o) => b.observer(o),
        None => b,
    }
    .build()
}

fn overhead(n: u64, reps: usize, micro_n: u64) -> Vec<Value> {
    let threads = Context::local().num_threads();
    // The noise floor: plain against plain.
    let independent = |ctx: &Context| dagger_independent(ctx, n as usize);
    let [a, b] = paired_times(&independent, reps, threads, None);
    let paired_aa = paired_ratio(&b, &a);
    let [noop_base, mut t_noop] =
        paired_times(&independent, reps, threads, Some(Arc::new(NoopObserver)));
    let paired_noop = paired_ratio(&t_noop, &noop_base);

    let dash = match Dashboard::start("127.0.0.1:0") {
        Ok(d) => d,
        Err(e) => return error_line(e),
    };
    let client = match SseClient::connect(dash.addr()) {
        Ok(c) => c,
        Err(e) => return error_line(e),
    };
    client.wait_for(1, Duration::from_secs(5));
    let events_before = client.events();
    let [mut t_plain, mut t_dash] =
        paired_times(&independent, reps, threads, Some(dash.observer()));
    let events = client.events() - events_before;
    let state = dash.state();
    let client_bytes = client.bytes();
    let paired = paired_ratio(&t_dash, &t_plain);
    // The task suite's other two workloads (`cargo xtask bench tasks`), watched likewise.
    let (chain_n, leaves) = if n >= 100_000 {
        (10_000, 65_536)
    } else {
        (1_000, 4_096)
    };
    // The watched dashboard's time over plain's (median of the per-round ratios) for `work`.
    let watched_ratio = |work: &dyn Fn(&Context), reps: usize| {
        let [p, d] = paired_times(work, reps, threads, Some(dash.observer()));
        paired_ratio(&d, &p)
    };
    // A chain takes a few milliseconds, so more rounds for the same precision.
    let chain_ratio = watched_ratio(&|ctx| dagger_chain(ctx, chain_n), reps * 6);
    let tree_ratio = watched_ratio(&|ctx| dagger_tree(ctx, leaves), reps * 2);
    // The suite's overhead: the geometric mean of its three workloads' ratios (each phase's
    // own noise, about ±1 %, shrinks by √3).
    let suite_ratio = (paired * chain_ratio * tree_ratio).cbrt();
    // The same comparison with every pool thread on one CPU: the dashboard's own cost,
    // without the cross-core timing effects that swing the two-core figure.
    let one_cpu = on_one_cpu(|| watched_ratio(&independent, reps));
    drop(client);
    drop(dash);

    // A dashboard that nobody looks at: the cost of having it on, unwatched.
    let idle_dash = match Dashboard::start("127.0.0.1:0") {
        Ok(d) => d,
        Err(e) => return error_line(e),
    };
    let [t_idle_base, mut t_idle] =
        paired_times(&independent, reps, threads, Some(idle_dash.observer()));
    let paired_idle = paired_ratio(&t_idle, &t_idle_base);
    let (sp, sn, sd, si) = (
        summary(&mut t_plain),
        summary(&mut t_noop),
        summary(&mut t_dash),
        summary(&mut t_idle),
    );
    let micro = collector_ns_per_task(micro_n);
    let params = json!({"n": n, "threads": threads});
    let line = |system: &str, s: (f64, f64, f64), extra: Value| {
        let mut v = json!({
            "workload": "tasks_independent", "system": system, "params": params,
            "median_s": s.0, "min_s": s.1, "max_s": s.2, "reps": reps,
            "tasks_per_s": n as f64 / s.0,
        });
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    };
    vec![
        line("dagger-local", sp, json!({})),
        line("dagger-local+noop-observer", sn, json!({})),
        line(
            "dagger-local+dashboard",
            sd,
            json!({
                "sse_events_during_run": events,
                "sse_bytes": client_bytes,
                "span_stride": state.span_stride,
                "tasks_seen": state.totals.done,
            }),
        ),
        line(
            "dagger-local+dashboard-unwatched",
            si,
            json!({"clients": idle_dash.state().clients}),
        ),
        json!({
            "workload": "dashboard_overhead", "system": "dagger-local+dashboard",
            "params": params, "reps": reps,
            "median_s": sd.0, "min_s": sd.1, "max_s": sd.2,
            "ratio_median": sd.0 / sp.0, "ratio_min": sd.1 / sp.1,
            "ratio_paired": paired,
            "overhead_pct": (paired - 1.0) * 100.0,
            "overhead_pct_chain": (chain_ratio - 1.0) * 100.0,
            "chain_n": chain_n,
            "chain_reps": reps * 6,
            "tree_reps": reps * 2,
            "overhead_pct_tree": (tree_ratio - 1.0) * 100.0,
            "overhead_pct_suite": (suite_ratio - 1.0) * 100.0,
            "tree_leaves": leaves,
            "aa_ratio_paired": paired_aa,
            "one_cpu_ratio_paired": one_cpu,
            "noop_observer_ratio_paired": paired_noop,
            "unwatched_ratio_paired": paired_idle,
            "collector_ns_per_task": micro,
            "us_per_task_plain": sp.0 * 1e6 / n as f64,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_shared_format() {
        let lines = overhead(2_000, 1, 10_000);
        assert_eq!(lines.len(), 5);
        let systems: Vec<&str> = lines
            .iter()
            .map(|l| l["system"].as_str().unwrap())
            .collect();
        assert_eq!(
            systems,
            [
                "dagger-local",
                "dagger-local+noop-observer",
                "dagger-local+dashboard",
                "dagger-local+dashboard-unwatched",
                "dagger-local+dashboard"
            ]
        );
        for l in &lines[..4] {
            for k in ["median_s", "min_s", "max_s", "tasks_per_s"] {
                assert!(l[k].as_f64().unwrap() > 0.0, "{k} in {l}");
            }
            assert_eq!(l["reps"], 1);
            assert_eq!(l["params"]["n"], 2_000);
        }
        // The dashboard saw every task: 2 000 per run, warm-up included (the last few
        // "finished" events may land just after the values are fetched).
        let seen = lines[2]["tasks_seen"].as_u64().unwrap();
        assert!((3_990..=4_000).contains(&seen), "{seen}");
        assert_eq!(lines[3]["clients"], 0);
        assert!(lines[4]["ratio_median"].as_f64().unwrap() > 0.0);
        for k in [
            "aa_ratio_paired",
            "noop_observer_ratio_paired",
            "unwatched_ratio_paired",
        ] {
            assert!(lines[4][k].as_f64().unwrap() > 0.0, "{k}");
        }
        #[cfg(target_os = "linux")]
        assert!(lines[4]["one_cpu_ratio_paired"].as_f64().unwrap() > 0.0);
        assert!(lines[4]["collector_ns_per_task"].as_f64().unwrap() >= 0.0);
    }
}
