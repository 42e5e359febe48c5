//! The DAG of the reference README (p, q, r, s), eagerly and lazily, on `Context::local()`.
//!
//! Run with `cargo run --release --example quickstart`.

use dagger::{delayed, fetch_all, Context, DTask};
use std::time::Instant;

fn f(x: i64) -> i64 {
    x + 1
}
fn g(x: i64) -> i64 {
    x * 2
}
fn h(x: i64) -> i64 {
    x - 1
}

fn main() -> dagger::Result<()> {
    let ctx = Context::local();
    println!("dagger-rs on {} thread processors", ctx.num_threads());

    // Lazy: build the graph, then compute it.
    let p = delayed(|(x,)| f(x), (42i64,));
    let q = delayed(|(p,)| g(p), (&p,));
    let r = delayed(|(x,)| h(x), (53i64,));
    let s = delayed(|(p, q, r)| p + q + r, (&p, &q, &r));
    let chunk = s.compute(&ctx)?;
    println!("lazy:  s = {} (chunk {:?})", chunk.fetch()?, chunk);

    // Eager: the same graph, running as it is built.
    let p = ctx.spawn(|(x,)| f(x), (42i64,));
    let q = ctx.spawn(|(p,)| g(p), (&p,));
    let r = ctx.spawn(|(x,)| h(x), (53i64,));
    let s = ctx.spawn(|(p, q, r)| p + q + r, (&p, &q, &r));
    println!("eager: s = {}", s.fetch()?);

    // Errors carry the root cause through dependents.
    let bad = ctx.try_spawn(|()| Err::<i64, _>("sensor offline"), ());
    let dependent = ctx.spawn(|(b,)| b + 1, (&bad,));
    println!("error: {}", dependent.fetch().unwrap_err());

    // Many tiny tasks.
    let n: u64 = 100_000;
    let t0 = Instant::now();
    let ts: Vec<DTask<u64>> = (0..n).map(|i| ctx.spawn(|(x,)| x + 1, (i,))).collect();
    let sum: u64 = fetch_all(&ts)?.iter().sum();
    let dt = t0.elapsed();
    println!(
        "{n} tasks: sum {sum} in {:.1} ms ({:.2} M tasks/s)",
        dt.as_secs_f64() * 1e3,
        n as f64 / dt.as_secs_f64() / 1e6
    );
    Ok(())
}
