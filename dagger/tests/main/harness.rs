//! The cluster test harness the modules of this binary share: worker processes re-run
//! their binary on its ignored test `worker_entry`, which calls `dagger::init()`.

use dagger::{Context, ContextBuilder, Options, Scope, WorkerId, WorkerProgram};
use serde::{Deserialize, Deserializer, Serialize};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The arguments that make this binary a worker process: only the test `worker_entry`.
pub(crate) const WORKER_ARGS: [&str; 4] = ["--exact", "worker_entry", "--ignored", "--nocapture"];

/// A builder for a context with `workers` worker processes running this binary's
/// `worker_entry` (the process is initialised for dagger first).
pub(crate) fn cluster_builder(workers: usize) -> ContextBuilder {
    dagger::init();
    let program = WorkerProgram::test("worker_entry").expect("the test binary's own path is known"); // ok: test set-up
    Context::builder().workers(workers).worker_program(program)
}

/// A one-thread driver and `workers` two-thread worker processes whose loss it notices
/// within 2 s (for the tests that kill workers).
pub(crate) fn quick_loss_cluster(workers: usize) -> Context {
    cluster_builder(workers)
        .threads(1)
        .worker_threads(2)
        .heartbeat_timeout(std::time::Duration::from_secs(2))
        .build()
}

/// A one-thread driver that starts no workers but accepts them on `addr` with `cookie`.
pub(crate) fn listening_driver(addr: &str, cookie: &str) -> Context {
    dagger::init();
    Context::builder()
        .threads(1)
        .listen(addr)
        .cookie(cookie)
        .build()
}

/// Makes `cmd` (this binary, or a command that runs it) a one-thread worker process that
/// joins the driver at `addr` with `cookie`.
pub(crate) fn as_worker<'c>(cmd: &'c mut Command, addr: &str, cookie: &str) -> &'c mut Command {
    cmd.args(WORKER_ARGS)
        .env("DAGGER_SCHEDULER", addr)
        .env("DAGGER_COOKIE", cookie)
        .env("DAGGER_THREADS", "1")
}

/// This binary as a one-thread worker process of the driver at `addr`, to spawn.
pub(crate) fn worker_process(addr: &str, cookie: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary's own path is known"); // ok: test set-up
    let mut cmd = Command::new(exe);
    as_worker(&mut cmd, addr, cookie);
    cmd
}

/// Options that place a task in worker process `w`.
pub(crate) fn on(w: u32) -> Options {
    Options::new().scope(Scope::Process(WorkerId(w)))
}

/// Options that place a task anywhere but the driver.
pub(crate) fn remote(ctx: &Context) -> Options {
    let ws: Vec<Scope> = ctx
        .workers()
        .into_iter()
        .filter(|w| *w != WorkerId(1))
        .map(Scope::Process)
        .collect();
    Options::new().scope(Scope::union(ws).expect("a cluster has workers"))
}

/// Decodes of [`Counted`] values in this process, one counter per tag. Modules of this
/// binary share the driver process, so each module that counts uses a tag of its own.
static DECODES: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Times a `Counted<TAG>` was decoded in this process.
pub(crate) fn decodes<const TAG: usize>() -> u64 {
    DECODES[TAG].load(Ordering::SeqCst)
}

/// Numbers whose every decoding is counted (by the process that decodes), per `TAG`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Counted<const TAG: usize>(pub(crate) Vec<u64>);

impl<'de, const TAG: usize> Deserialize<'de> for Counted<TAG> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        DECODES[TAG].fetch_add(1, Ordering::SeqCst);
        Ok(Counted(v))
    }
}

/// Sends `sig` to worker process `w` of `ctx`.
pub(crate) fn signal(ctx: &Context, w: WorkerId, sig: i32) {
    let pid = ctx.worker_pid(w).expect("worker pid") as i32;
    // SAFETY: sends a signal to a child process this test started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// Waits (up to 10 s) until `ctx` sees worker `w` as lost.
pub(crate) fn wait_lost(ctx: &Context, w: WorkerId) {
    let t0 = std::time::Instant::now();
    while ctx.live_workers().contains(&w) {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "{w} not seen as lost"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// One result line of an ignored benchmark test, JSON as the xtask benches print it: the
/// median, min and max of `times` (sorted here) and their count, then what `extra` makes of
/// the median (more fields, each starting with a comma).
pub(crate) fn bench_line(
    workload: &str,
    system: &str,
    params: &str,
    times: &mut [f64],
    extra: impl FnOnce(f64) -> String,
) -> String {
    times.sort_by(f64::total_cmp);
    let (n, median) = (times.len(), times[times.len() / 2]);
    format!(
        "{{\"workload\":\"{workload}\",\"system\":\"{system}\",\"params\":{params},\"median_s\":{median:.4},\"min_s\":{:.4},\"max_s\":{:.4},\"reps\":{n}{}}}",
        times[0],
        times[n - 1],
        extra(median)
    )
}
