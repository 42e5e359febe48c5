//! Watch a blocked computation on two worker processes in the browser.
//!
//! `cargo run --release --example dashboard --features dashboard [-- SECONDS]` (from the
//! workspace root) starts two workers, prints the dashboard's address
//! (`DAGGER_DASHBOARD=host:port` chooses it; default `127.0.0.1:8787`, or any free port if
//! that one is taken) and runs rounds of a blocked matrix product `C = A·B` with a norm of
//! `C` reduced as a tree, for `SECONDS` (default 20). Every kernel is a registered function,
//! so the scheduler may place it on any process; the memory panel shows what each worker
//! holds.

use dagger::{delayed_fn_with, Context, DashboardExt, Options, Thunk};
use std::time::{Duration, Instant};

/// Block side (elements): a block product is 2·128³ ≈ 4 Mflop, a few milliseconds.
const BS: usize = 128;
/// Blocks per side of each matrix.
const GRID: usize = 4;

dagger::register! {
    /// A `BS`×`BS` block of pseudo-random numbers in [-1, 1), row-major, from `seed`.
    fn random_block(seed: u64) -> Vec<f64> {
        let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..BS * BS)
            .map(|_| {
                // xorshift64*: enough to make blocks differ, no dependency.
                z ^= z >> 12;
                z ^= z << 25;
                z ^= z >> 27;
                (z.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }
    /// The product of two `BS`×`BS` blocks.
    fn block_product(a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
        let mut c = vec![0.0; BS * BS];
        if a.len() != BS * BS || b.len() != BS * BS {
            return c; // not blocks of this example: an empty product
        }
        for i in 0..BS {
            for k in 0..BS {
                let aik = a[i * BS + k];
                let (row, brow) = (&mut c[i * BS..(i + 1) * BS], &b[k * BS..(k + 1) * BS]);
                for (x, y) in row.iter_mut().zip(brow) {
                    *x += aik * y;
                }
            }
        }
        c
    }
    /// The element-wise sum of two blocks.
    fn block_sum(a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
        a.iter().zip(&b).map(|(x, y)| x + y).collect()
    }
    /// The sum of squares of a block's elements.
    fn sum_squares(a: Vec<f64>) -> f64 {
        a.iter().map(|x| x * x).sum()
    }
    /// Adds two partial sums.
    fn add(a: f64, b: f64) -> f64 {
        a + b
    }
}

/// Combines `items` pairwise with `combine` until one is left (a tree, as Dagger's
/// `reduce`); `None` for no items.
fn tree<T>(
    mut items: Vec<Thunk<T>>,
    combine: impl Fn(&Thunk<T>, &Thunk<T>) -> Thunk<T>,
) -> Option<Thunk<T>> {
    while items.len() > 1 {
        let mut next = Vec::with_capacity(items.len().div_ceil(2));
        let mut it = items.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => combine(&a, &b),
                None => a,
            });
        }
        items = next;
    }
    items.pop()
}

fn empty() -> dagger::Error {
    dagger::Error::Argument("GRID must be at least 1".into())
}

/// One round: `A`, `B` random (`GRID`×`GRID` blocks), `C = A·B`, returns ‖C‖².
fn round(ctx: &Context, r: u64) -> dagger::Result<f64> {
    let gen = |m: u64, i: usize, j: usize| {
        let seed = (r * 2 + m) * 1_000_003 + (i * GRID + j) as u64;
        delayed_fn_with(Options::new().name("random_block"), RANDOM_BLOCK, (seed,))
    };
    let a: Vec<Vec<Thunk<Vec<f64>>>> = (0..GRID)
        .map(|i| (0..GRID).map(|j| gen(0, i, j)).collect())
        .collect();
    let b: Vec<Vec<Thunk<Vec<f64>>>> = (0..GRID)
        .map(|i| (0..GRID).map(|j| gen(1, i, j)).collect())
        .collect();
    let mut norms = Vec::with_capacity(GRID * GRID);
    for a_row in &a {
        for j in 0..GRID {
            // C[i][j] = Σ_k A[i][k]·B[k][j]
            let products: Vec<Thunk<Vec<f64>>> = a_row
                .iter()
                .zip(&b)
                .map(|(a_ik, b_row)| {
                    delayed_fn_with(
                        Options::new().name("block_product"),
                        BLOCK_PRODUCT,
                        (a_ik, &b_row[j]),
                    )
                })
                .collect();
            let c_ij = tree(products, |x, y| {
                delayed_fn_with(Options::new().name("block_sum"), BLOCK_SUM, (x, y))
            })
            .ok_or_else(empty)?;
            norms.push(delayed_fn_with(
                Options::new().name("sum_squares"),
                SUM_SQUARES,
                (&c_ij,),
            ));
        }
    }
    tree(norms, |x, y| {
        delayed_fn_with(Options::new().name("add"), ADD, (x, y))
    })
    .ok_or_else(empty)?
    .submit(ctx)
    .fetch()
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
    let dash = dagger::global_dashboard()
        .ok_or_else(|| dagger::Error::Argument("the dashboard did not start".into()))?;
    // Worker memory into the memory panel, sampled.
    let _watch = dagger::watch(&ctx);
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
            Ok(norm2) => eprintln!(
                "round {r}: ‖A·B‖² = {norm2:.1}; tasks done {} failed {}; {:.1} s",
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
