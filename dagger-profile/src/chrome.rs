//! Chrome / Perfetto trace export: open the file in `ui.perfetto.dev` or `chrome://tracing`.
//!
//! Each timespan becomes a complete event (`"ph": "X"`) with `ts`/`dur` in microseconds.
//! Each timeline gets its own track (`tid`), named by a `thread_name` metadata event;
//! tracks are grouped into one process (`pid`) per worker when the spans name it.

use crate::timespan::Timespan;
use dagger_core::Error;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The trace as a JSON value (`{"traceEvents": [...], "displayTimeUnit": "ms"}`).
///
/// ```
/// use dagger_profile::{chrome_trace, Timespan};
/// let v = chrome_trace(&[Timespan::new("compute", 1, "ThreadProc(w1, 1)", 1_000, 3_000)]);
/// let x = &v["traceEvents"].as_array().unwrap().iter().find(|e| e["ph"] == "X").unwrap();
/// assert_eq!((x["ts"].as_f64(), x["dur"].as_f64()), (Some(1.0), Some(2.0)));
/// ```
pub fn chrome_trace(spans: &[Timespan]) -> Value {
    // One tid per timeline, numbered in name order so the file is deterministic; the pid is
    // the worker of the timeline's first span that names one (0 if none does).
    let mut lanes: BTreeMap<&str, u64> = BTreeMap::new();
    for t in spans {
        let pid = lanes.entry(&t.timeline).or_insert(0);
        if *pid == 0 {
            *pid = t.worker.unwrap_or(0);
        }
    }
    let tids: BTreeMap<&str, (u64, u64)> = lanes
        .iter()
        .enumerate()
        .map(|(i, (name, pid))| (*name, (*pid, i as u64 + 1)))
        .collect();

    let mut events = Vec::with_capacity(spans.len() + 2 * tids.len());
    let mut pids: Vec<u64> = tids.values().map(|(p, _)| *p).collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        let name = if pid == 0 {
            "dagger".to_owned()
        } else {
            format!("worker {pid}")
        };
        events.push(
            json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                           "args": {"name": name}}),
        );
    }
    for (name, (pid, tid)) in &tids {
        events.push(
            json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                           "args": {"name": name}}),
        );
        events.push(
            json!({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                           "args": {"sort_index": tid}}),
        );
    }
    for t in spans {
        let (pid, tid) = tids.get(t.timeline.as_str()).copied().unwrap_or((0, 0));
        let mut args = serde_json::Map::new();
        args.insert("id".into(), json!(t.id));
        if t.bytes > 0 {
            args.insert("bytes".into(), json!(t.bytes));
        }
        if t.alloc_bytes > 0 {
            args.insert("alloc_bytes".into(), json!(t.alloc_bytes));
        }
        if let Some(w) = t.from {
            args.insert("from".into(), json!(w));
        }
        if let Some(w) = t.to {
            args.insert("to".into(), json!(w));
        }
        events.push(json!({
            "ph": "X",
            "name": t.label(),
            "cat": t.category,
            "ts": t.start_ns as f64 / 1e3,
            "dur": t.duration_ns() as f64 / 1e3,
            "pid": pid,
            "tid": tid,
            "args": args,
        }));
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// Write [`chrome_trace`] to `path`.
///
/// # Errors
///
/// [`Error::Io`] naming the path if the file cannot be written.
///
/// ```
/// let path = std::env::temp_dir().join("dagger-profile-doc-trace.json");
/// dagger_profile::write_chrome_trace(&[], &path).unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().contains("traceEvents"));
/// ```
pub fn write_chrome_trace(spans: &[Timespan], path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    let text = serde_json::to_string(&chrome_trace(spans))
        .map_err(|e| Error::Codec(format!("chrome trace: {e}")))?;
    std::fs::write(path, text).map_err(|e| Error::Io(format!("writing {}: {e}", path.display())))
}
