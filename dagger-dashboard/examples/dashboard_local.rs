//! A computation long enough to watch: `cargo run -p dagger-dashboard --example dashboard_local
//! [seconds]` prints the dashboard's address (DAGGER_DASHBOARD=host:port chooses it;
//! default 127.0.0.1:8787, or any free port if that one is taken) and runs rounds of lazy
//! tree reductions and eager batches, with a few failing tasks, for `seconds` (default 60).

use dagger_core::{Options, WorkerId};
use dagger_dashboard::Dashboard;
use dagger_sched::{delayed_with, fetch_all, Context, DTask, Thunk};
use std::time::{Duration, Instant};

/// A tiny deterministic generator, so task durations vary without a dependency.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn busy(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

fn main() -> dagger_core::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dash = match Dashboard::from_env()? {
        Some(d) => d,
        None => Dashboard::start(Dashboard::DEFAULT_ADDR)
            .or_else(|_| Dashboard::start("127.0.0.1:0"))?,
    };
    println!("open {} — running for {seconds} s", dash.url());
    let ctx = Context::builder().observer(dash.observer()).build();
    let gauges = dash.gauges();
    let t0 = Instant::now();
    let mut round = 0u64;
    while t0.elapsed() < Duration::from_secs(seconds) {
        round += 1;
        // A lazy tree reduction: 32 leaves of 8 000 numbers, pairwise sums.
        let mut level: Vec<Thunk<Vec<f64>>> = (0..32u64)
            .map(|i| {
                let ms = 20 + mix(round * 1000 + i) % 60;
                delayed_with(
                    Options::new().name("load"),
                    move |(i,)| {
                        busy(ms);
                        (0..8000).map(|k| (k + i) as f64).collect::<Vec<f64>>()
                    },
                    (i,),
                )
            })
            .collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| {
                    delayed_with(
                        Options::new().name("combine"),
                        |(a, b): (Vec<f64>, Vec<f64>)| {
                            busy(15);
                            a.iter().zip(&b).map(|(x, y)| x + y).collect::<Vec<f64>>()
                        },
                        (&p[0], &p[1]),
                    )
                })
                .collect();
        }
        let tree = level[0].submit(&ctx);
        // Meanwhile an eager batch, a few of which fail.
        let squares: Vec<DTask<u64>> = (0..120u64)
            .map(|i| {
                let ms = 2 + mix(round * 7919 + i) % 12;
                ctx.spawn_with(
                    Options::new().name("square"),
                    move |(x,)| {
                        busy(ms);
                        x * x
                    },
                    (i,),
                )
            })
            .collect();
        let bad: Vec<DTask<u64>> = (0..2u64)
            .map(|i| {
                ctx.try_spawn_with(
                    Options::new().name("validate"),
                    |(i,)| {
                        busy(30);
                        Err::<u64, _>(format!("record {i} is malformed"))
                    },
                    (i,),
                )
            })
            .collect();
        let total: u64 = fetch_all(&squares)?.iter().sum();
        let chunk = tree.chunk()?;
        // What this round keeps alive, as the memory gauge (the pool reports it once it can).
        gauges.set_memory(
            WorkerId(1),
            chunk.size_bytes() + 8 * squares.len() as u64,
            0,
        );
        let failed = bad.iter().filter(|t| t.fetch().is_err()).count();
        let s = dash.state();
        eprintln!(
            "round {round}: sum of squares {total}, tree {} values, {failed} failed; done {} failed {} in all",
            chunk.with(|v| v.len())?,
            s.totals.done,
            s.totals.failed
        );
    }
    Ok(())
}
