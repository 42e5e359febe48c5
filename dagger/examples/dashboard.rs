//! Watch a blocked computation on two worker processes in the browser.
//!
//! `cargo run --release --example dashboard --features dashboard [-- SECONDS]` (from the
//! workspace root) starts two workers, prints the dashboard's address
//! (`DAGGER_DASHBOARD=host:port` chooses it; default `127.0.0.1:8787`, or any free port if
//! that one is taken) and runs rounds of an array computation (`dagger::array`: random
//! matrices, a blocked product, a fused element-wise chain, a transpose and a sum) for
//! `SECONDS` (default 20). Every block kernel is a registered function, so the scheduler
//! places them on the worker processes; the memory panel shows what each worker holds.

use dagger::array::{ArithOp, Blocks, DArray, Side, UnaryOp};
use dagger::{Context, DashboardExt};
use std::time::{Duration, Instant};

/// Block side (elements): a block product is 2·256³ ≈ 34 Mflop, a few milliseconds.
const BS: usize = 256;
/// Blocks per side of each matrix.
const GRID: usize = 4;

/// One round on the array library: `A`, `B` random (`GRID`×`GRID` blocks), `C = A·B`, then
/// `sum((tanh.(C) .+ 1) .* (tanh.(C) .+ 1)ᵀ)`. Every block kernel is a registered function
/// (creation, block products and their sums, the fused element-wise chain, transposes, the
/// partial sums), so the scheduler places them on the worker processes; the task names in
/// the progress panel are the kernels'.
fn round(ctx: &Context, r: u64) -> dagger::Result<f64> {
    let part = Blocks::new([BS, BS])?;
    let n = BS * GRID;
    let a = DArray::<f64>::randn_seeded(&part, &[n, n], 2 * r)?;
    let b = DArray::<f64>::randn_seeded(&part, &[n, n], 2 * r + 1)?;
    let c = a.matmul(&b)?;
    let d = c
        .unary(UnaryOp::Tanh)
        .arith_scalar(1.0, ArithOp::Add, Side::Right);
    d.arith(&d.transpose()?, ArithOp::Mul)?.sum().collect(ctx)
}

fn main() -> dagger::Result<()> {
    // First line of every dagger program: in a worker process this never returns. In the
    // driver it starts the dashboard DAGGER_DASHBOARD asks for, if any.
    dagger::init();
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20.0);

    let builder = Context::builder().threads(1).workers(2).worker_threads(1);
    // The process-wide dashboard: DAGGER_DASHBOARD's if init started one, else the default
    // address, else any free port.
    let builder = match builder
        .clone()
        .dashboard(dagger::dashboard::Dashboard::DEFAULT_ADDR)
    {
        Ok(b) => b,
        Err(_) => builder.dashboard("127.0.0.1:0")?,
    };
    let ctx = builder.try_build()?;
    let dash = dagger::dashboard::global_dashboard()
        .ok_or_else(|| dagger::Error::Argument("the dashboard did not start".into()))?;
    // Worker memory into the memory panel, sampled.
    let _watch = dagger::dashboard::watch(&ctx);
    println!(
        "dashboard at {} — workers {:?}; running for {seconds} s",
        dash.url(),
        ctx.workers()
    );

    let t0 = Instant::now();
    let (mut r, mut failed_rounds) = (0u64, 0u64);
    while t0.elapsed() < Duration::from_secs_f64(seconds) {
        // A failed round is reported and the demo goes on (the page shows it); the exit
        // status says so at the end.
        let outcome = round(&ctx, r);
        let s = dash.state();
        match outcome {
            Ok(sum) => eprintln!(
                "round {r}: sum = {sum:.1}; tasks done {} failed {}; {:.1} s",
                s.totals.done,
                s.totals.failed,
                t0.elapsed().as_secs_f64()
            ),
            Err(e) => {
                failed_rounds += 1;
                eprintln!("round {r} failed: {e}");
            }
        }
        r += 1;
    }
    let s = dash.state();
    println!(
        "{r} rounds ({failed_rounds} failed), {} tasks done, {} failed, in {:.1} s",
        s.totals.done,
        s.totals.failed,
        t0.elapsed().as_secs_f64()
    );
    if failed_rounds > 0 {
        return Err(dagger::Error::Argument(format!(
            "{failed_rounds} of {r} rounds failed"
        )));
    }
    Ok(())
}
