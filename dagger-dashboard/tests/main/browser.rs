//! The page in a real browser: a computation of known shape runs with the dashboard on,
//! headless chromium (Debian's, driven by playwright-core: tests/browser/check.cjs) opens
//! the page, and the counts the page shows must equal the computation's. The screenshot
//! is saved to target/dashboard-screenshot.png.
//!
//! Needs `scripts/dagger-dashboard/browser-setup.sh` (chromium, node, playwright-core);
//! without them the test prints "skipped: <reason>" and passes.

use dagger_core::Options;
use dagger_dashboard::{Dashboard, State};
use dagger_sched::{All, Context, DTask};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

const SQUARES: u64 = 200;
const SUMS: u64 = 20;
const BAD: u64 = 3;

/// Holds every task until the page has shown its first numbers, so the page must see them
/// change while the computation runs.
#[derive(Default)]
struct Gate(Mutex<bool>, Condvar);

impl Gate {
    fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }
}

/// Opens the gate and kills the browser if the test fails half-way.
struct Cleanup<'a>(&'a Gate, Option<Child>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.open();
        if let Some(c) = self.1.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn missing_tools(script_dir: &Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} not found (run scripts/dagger-dashboard/browser-setup.sh)"
        ));
    }
    if Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        return Some("node not found".into());
    }
    if !script_dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Some(format!(
            "playwright-core not installed in {} (run scripts/dagger-dashboard/browser-setup.sh)",
            script_dir.display()
        ));
    }
    None
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn counts(v: &Value) -> [u64; 4] {
    ["queued", "running", "done", "failed"].map(|k| v[k].as_u64().unwrap_or(u64::MAX))
}

fn page_counts(page: &Value, name: &str) -> [u64; 4] {
    page["names"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == name))
        .map(counts)
        .unwrap_or([u64::MAX; 4])
}

fn state_counts(s: &State, name: &str) -> [u64; 4] {
    s.names
        .iter()
        .find(|n| n.name == name)
        .map(|n| {
            let p = n.progress;
            [p.queued, p.running, p.done, p.failed]
        })
        .unwrap_or([u64::MAX; 4])
}

#[test]
fn the_page_shows_the_computation_live() {
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if let Some(reason) = missing_tools(&script_dir) {
        println!("skipped: {reason}");
        return;
    }
    let screenshot = target_dir().join("dashboard-screenshot.png");
    let dash = Dashboard::start("127.0.0.1:0").unwrap();
    let ctx = Context::builder()
        .threads(2)
        .observer(dash.observer())
        .build();
    let gate = Arc::new(Gate::default());
    let mut cleanup = Cleanup(&gate, None);

    // 200 squares, 20 sums of 10 squares each, 3 tasks that fail.
    let squares: Vec<DTask<u64>> = (0..SQUARES)
        .map(|i| {
            let g = gate.clone();
            ctx.spawn_with(
                Options::new().name("square"),
                move |(x,)| {
                    g.wait();
                    std::thread::sleep(Duration::from_millis(4));
                    x * x
                },
                (i,),
            )
        })
        .collect();
    let sums: Vec<DTask<u64>> = squares
        .chunks((SQUARES / SUMS) as usize)
        .map(|c| {
            ctx.spawn_with(
                Options::new().name("sum"),
                |(v,)| v.iter().sum::<u64>(),
                (All(c.to_vec()),),
            )
        })
        .collect();
    let bad: Vec<DTask<u64>> = (0..BAD)
        .map(|i| {
            let g = gate.clone();
            ctx.try_spawn_with(
                Options::new().name("bad"),
                move |(i,)| {
                    g.wait();
                    Err::<u64, _>(format!("bad input {i}"))
                },
                (i,),
            )
        })
        .collect();

    let mut child = Command::new("node")
        .arg(script_dir.join("check.cjs"))
        .arg(dash.url())
        .arg(&screenshot)
        .arg((SQUARES + SUMS + BAD).to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    cleanup.1 = Some(child);
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                Err(_) => eprintln!("check.cjs: {line}"),
            }
        }
    });

    let first = rx
        .recv_timeout(Duration::from_secs(90))
        .expect("the page showed a first update");
    assert_eq!(first["phase"], "first");
    let [queued, running, done, failed] = counts(&first["totals"]);
    assert_eq!(done + failed, 0, "the gate holds every task: {first}");
    assert_eq!(queued + running, SQUARES + SUMS + BAD, "{first}");
    gate.open();

    let total: u64 = sums.iter().map(|t| t.fetch().unwrap()).sum();
    assert_eq!(total, (0..SQUARES).map(|i| i * i).sum::<u64>());
    assert!(bad.iter().all(|t| t.fetch().is_err()));

    let last = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the page showed the finished computation");
    assert_eq!(last["phase"], "final");
    println!("page: {last}");
    let status = cleanup.1.take().unwrap().wait().unwrap();
    assert!(status.success(), "check.cjs exited with {status}");

    // What the page shows is what was computed ...
    assert_eq!(page_counts(&last, "square"), [0, 0, SQUARES, 0]);
    assert_eq!(page_counts(&last, "sum"), [0, 0, SUMS, 0]);
    assert_eq!(page_counts(&last, "bad"), [0, 0, 0, BAD]);
    assert_eq!(counts(&last["totals"]), [0, 0, SQUARES + SUMS, BAD]);
    // ... and what the JSON endpoint says.
    let s = dash.state();
    for name in ["square", "sum", "bad"] {
        assert_eq!(page_counts(&last, name), state_counts(&s, name), "{name}");
    }
    // The page saw the numbers move, drew the task stream and the graph.
    assert!(
        last["distinct_done_readings"].as_u64().unwrap_or(0) >= 2,
        "{last}"
    );
    assert!(last["gantt"]["spans"].as_u64().unwrap_or(0) > 0, "{last}");
    assert_eq!(last["gantt"]["processors"], 2);
    assert_eq!(
        last["graph"]["nodes"].as_u64(),
        Some(SQUARES + SUMS + BAD),
        "{last}"
    );
    assert_eq!(last["graph"]["failed"].as_u64(), Some(BAD));
    assert_eq!(last["memory"][0]["worker"], 1);
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    println!("screenshot: {}", screenshot.display());
}
