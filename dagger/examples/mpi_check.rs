//! The MPI checks `.ci/run` runs (feature `mpi`):
//! `mpirun --oversubscribe --allow-run-as-root -n 3 target/debug/examples/mpi_check`.
//!
//! 1. Before `dagger::init()`, every rank runs the transport conformance suite over its own
//!    MPI world (the suite connects and accepts in one process; a rank may connect to
//!    itself), and ranks 0 and 1 exchange frames, a 4 MiB one included.
//! 2. `dagger::init()`: rank 0 drives, ranks 1 and 2 serve. The driver runs tasks,
//!    registered functions pinned to each rank, a tree of registered tasks and a small
//!    `DArray` sum, each checked against its known value.
//! 3. With the argument `kill`, a registered function then kills the last worker's rank
//!    (SIGKILL). What happens depends on the launcher, and `.ci/run` checks both:
//!    - plain `mpirun` aborts the whole job at once (every rank, the driver included, is
//!      killed; mpirun exits non-zero within a second or two): nothing hangs;
//!    - `mpirun --enable-recovery` lets the job go on: the driver's fetch ends in a typed
//!      `WorkerLost` (found by the heartbeat timeout, 10 s), as over TCP, and it exits 0.

use dagger::array::{Blocks, DArray};
use dagger::transport::{conformance, Mpi, Transport};
use dagger::{Context, Error, Options, ScopeSpec};

dagger::register! {
    /// This rank (from the launcher's environment) and the worker id serving it.
    fn whoami(_tag: u32) -> (u32, u32) {
        let rank = std::env::var("OMPI_COMM_WORLD_RANK").ok().and_then(|r| r.parse().ok());
        (rank.unwrap_or(u32::MAX), dagger::myid().0)
    }
    /// Squares `x`.
    fn square(x: i64) -> i64 {
        x * x
    }
    /// Adds two partial sums.
    fn add(a: i64, b: i64) -> i64 {
        a + b
    }
    /// Kills the process it runs in, as a crashed rank would die.
    fn die(_tag: u32) -> u32 {
        // SAFETY: signalling our own process.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
        0
    }
}

fn check(what: &str, ok: bool) -> dagger::Result<()> {
    if ok {
        println!("ok: {what}");
        Ok(())
    } else {
        Err(Error::Argument(format!("check failed: {what}")))
    }
}

/// Phase 1: the conformance suite on this rank, and frames between ranks 0 and 1.
fn transport_checks() -> dagger::Result<()> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| Error::Io(e.to_string()))?;
    rt.block_on(async {
        let (good, wrong) = (Mpi::new("c"), Mpi::new("other"));
        let limited = Mpi::new("c").max_frame_len(1000);
        let suite = conformance::Subjects {
            transport: &good,
            wrong_cookie: &wrong,
            limited: &limited,
            max_frame_len: 1000,
            listen_addr: "mpi://",
        };
        conformance::run_all(&suite)
            .await
            .map_err(|f| Error::Transport(f.to_string()))?;
        let (rank, _) = Mpi::rank_and_size()?;
        println!("ok: rank {rank} passes the transport conformance suite");
        let big = bytes::Bytes::from((0..4 << 20).map(|i| i as u8).collect::<Vec<u8>>());
        match rank {
            0 => {
                let mut l = good.listen("mpi://0/77").await?;
                let mut c = l.accept().await?;
                let f = c.receiver.recv().await?;
                check("rank 1's 4 MiB frame", f.as_ref() == Some(&big))?;
                c.sender.send(bytes::Bytes::from_static(b"back")).await?;
                check("rank 1 closed cleanly", c.receiver.recv().await?.is_none())
            }
            1 => {
                let mut c = good.connect("mpi://0/77").await?;
                c.sender.send(big).await?;
                let f = c.receiver.recv().await?;
                check("rank 0's reply", f.as_deref() == Some(&b"back"[..]))
            }
            _ => Ok(()),
        }
    })
}

fn main() -> dagger::Result<()> {
    transport_checks()?;
    dagger::init(); // ranks 1.. serve here and exit when the driver is done
    let kill = std::env::args().any(|a| a == "kill");
    let ctx = Context::builder()
        .threads(1)
        .workers(2)
        .worker_threads(1)
        .try_build()?;
    let workers = ctx.workers();
    check(
        &format!("2 ranks joined the driver: {workers:?}"),
        workers.len() == 3,
    )?;

    // A task on the driver, and a registered function pinned to each rank.
    check(
        "a local task",
        ctx.spawn(|(x,): (i32,)| x + 1, (41,)).fetch()? == 42,
    )?;
    let mut ranks = Vec::new();
    for w in workers.iter().filter(|w| w.0 != 1) {
        let scope = ctx.scope(&ScopeSpec::new().worker(w.0))?;
        let (rank, id) = ctx
            .spawn_registered_with(Options::new().scope(scope), WHOAMI, (w.0,))
            .fetch()?;
        check(&format!("worker {w} runs it as itself"), id == w.0)?;
        ranks.push(rank);
    }
    ranks.sort();
    check(
        &format!("the workers are ranks 1 and 2 ({ranks:?})"),
        ranks == [1, 2],
    )?;

    // A tree of registered tasks across the ranks.
    let mut level: Vec<_> = (1..=8i64)
        .map(|x| ctx.spawn_registered(SQUARE, (x,)))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| ctx.spawn_registered(ADD, (&p[0], &p[1])))
            .collect();
    }
    check("sum of squares 1..=8 is 204", level[0].fetch()? == 204)?;

    // A small array: 8x8 ones in 4x4 blocks.
    let ones = DArray::<f64>::ones(&Blocks::new([4, 4])?, &[8, 8])?;
    check(
        "the DArray of ones sums to 64",
        ones.sum().collect(&ctx)? == 64.0,
    )?;

    if kill {
        let victim = workers
            .iter()
            .copied()
            .max()
            .ok_or(Error::Argument("no worker".into()))?;
        let scope = ctx.scope(&ScopeSpec::new().worker(victim.0))?;
        let opts = Options::new().scope(scope);
        let r = ctx.spawn_registered_with(opts, DIE, (0u32,)).fetch();
        println!("the killed rank's task: {r:?}");
        check(
            "a killed rank is a lost worker",
            matches!(&r, Err(e) if matches!(e.root_cause(), Error::WorkerLost { .. })),
        )?;
    }
    println!("mpi_check: all checks passed");
    Ok(())
}
