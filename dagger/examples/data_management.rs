//! The reference's "Data Management" and "Mutation and Sharding" pages, step by step:
//! chunks and their metadata, locality across worker processes, `mutable` values pinned to a
//! processor, and a shard of per-thread counters.
//!
//! Run with `cargo run --release --example data_management` (from the workspace root).

use dagger::processor::ProcessorId;
use dagger::shard::{shard_with, ShardOptions};
use dagger::{
    current_processor, fetch_all, mutable_with, Context, MutableOptions, Options, Scope, ScopeSpec,
    WorkerId,
};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

dagger::register! {
    /// 131072 samples, made wherever the scheduler puts this task.
    fn load_samples(seed: u64) -> Vec<u64> {
        (0..131_072u64).map(|i| i.wrapping_mul(seed) % 1000).collect()
    }
    /// Sums the samples, reporting the worker that did it.
    fn total(samples: Vec<u64>) -> (u64, u32) {
        (samples.iter().sum(), dagger::myid().0)
    }
}

fn main() -> dagger::Result<()> {
    // Worker processes re-execute this binary; in them `init` serves tasks and never returns.
    dagger::init();

    chunks()?;
    locality()?;
    mutation()?;
    sharding()?;
    Ok(())
}

/// A task's result stays where it was computed, as a `Chunk` that knows its type, size,
/// owner, processor and scope; passing the chunk to a task passes its value.
fn chunks() -> dagger::Result<()> {
    println!("== Chunks");
    let ctx = Context::builder().threads(2).build();
    let c = ctx.spawn(|()| vec![1.5f64; 1000], ()).chunk()?;
    println!(
        "  {:?}: type {}, {} bytes, owner {}, processor {}, scope {}",
        c.id(),
        c.type_name(),
        c.size_bytes(),
        c.owner(),
        c.processor(),
        c.scope()
    );
    let sum = ctx.spawn(|(v,)| v.iter().sum::<f64>(), (&c,)).fetch()?;
    println!("  a task given the chunk receives its value: sum = {sum}");
    let put = ctx.tochunk(String::from("put in from the driver"));
    println!(
        "  tochunk: {:?} of type {} on {}",
        put.id(),
        put.type_name(),
        put.processor()
    );
    Ok(())
}

/// With worker processes, a task whose input chunk lives on another worker is scheduled
/// there instead of moving the data.
fn locality() -> dagger::Result<()> {
    println!("== Locality (driver + 2 worker processes)");
    let ctx = Context::builder()
        .threads(2)
        .workers(2)
        // As many threads per worker as the driver has, so that only the data decides.
        .worker_threads(2)
        .try_build()?;
    println!("  workers: {:?}", ctx.workers());
    for w in [2u32, 3] {
        // Make the samples on worker `w` ...
        let on_w = Options::new().scope(ctx.scope(&ScopeSpec::new().worker(w))?);
        let data = ctx.spawn_registered_with(&on_w, LOAD_SAMPLES, (u64::from(w) + 7,));
        let chunk = data.chunk()?;
        // ... then use them from a task that may run anywhere: the scheduler picks the
        // least estimated completion time, and moving the input counts against the others.
        let (sum, ran_on) = ctx.spawn_registered(TOTAL, (&data,)).fetch()?;
        println!(
            "  {} bytes made on w{} (chunk owner {}); the task using them ran on w{ran_on} (sum {sum})",
            chunk.size_bytes(),
            w,
            chunk.owner()
        );
        let (chunks, bytes) = ctx.worker_chunks(WorkerId(w))?;
        println!("  worker w{w} holds {chunks} chunk(s), {bytes} bytes");
    }
    // Handles dropped: the owners free the values (distributed reference counting).
    std::thread::sleep(std::time::Duration::from_millis(100));
    for w in [2u32, 3] {
        let (chunks, bytes) = ctx.worker_chunks(WorkerId(w))?;
        println!("  after dropping the handles, w{w} holds {chunks} chunk(s), {bytes} bytes");
    }
    Ok(())
}

/// `mutable`: a value constructed on its processor, never copied, and every task that takes
/// it runs there; asking for somewhere else is a scheduling error.
fn mutation() -> dagger::Result<()> {
    println!("== Mutation");
    let ctx = Context::builder().threads(4).build();
    let me = ctx.worker_id();
    let t2 = ProcessorId::thread(me, 2);
    // `Dagger.@mutable` pinned to thread 2 of this worker.
    let x = mutable_with(&ctx, MutableOptions::new().processor(t2), || {
        AtomicI64::new(0)
    })?;
    println!("  x is {:?} with scope {}", x.chunk().id(), x.scope());
    let ran_on = ctx
        .spawn(
            |(x,)| {
                x.fetch_add(3, Ordering::SeqCst);
                current_processor()
            },
            (&x,),
        )
        .fetch()?;
    println!("  atomic_add!(x, 3) ran on {ran_on:?} (always thread 2)");
    let elsewhere = ctx.scope(&ScopeSpec::new().worker(me.0).thread(1))?;
    let bad = ctx.spawn_with(
        Options::new().scope(elsewhere),
        |(x,)| x.fetch_add(3, Ordering::SeqCst),
        (&x,),
    );
    match bad.fetch() {
        Err(e) if e.is_scheduling() => println!("  with scope thread 1: {e}"),
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(dagger::Error::Scheduling(
                "a task escaped the mutable value's scope".into(),
            ))
        }
    }
    println!("  x = {}", x.with(|v| v.load(Ordering::SeqCst))?);

    // `@mutable scope=Dagger.scope(worker=1, threads=[3,4]) rand(100)`.
    let threads34 = ctx.scope(&ScopeSpec::new().worker(me.0).threads([3, 4]))?;
    let samples = mutable_with(&ctx, MutableOptions::new().scope(threads34), || {
        Mutex::new(vec![0.0f64; 100])
    })?;
    let ts: Vec<_> = (0..8)
        .map(|i| {
            ctx.spawn(
                move |(s,)| {
                    s.lock().map(|mut v| v[i] = i as f64).ok();
                    current_processor()
                },
                (&samples,),
            )
        })
        .collect();
    let mut where_ran: Vec<String> = fetch_all(&ts)?
        .into_iter()
        .flatten()
        .map(|p| p.to_string())
        .collect();
    where_ran.sort();
    where_ran.dedup();
    println!(
        "  a vector scoped to threads 3 and 4 ({}): 8 tasks ran on {where_ran:?}",
        samples.scope()
    );
    Ok(())
}

/// A shard: one counter per thread processor, each task updates the counter local to where
/// it runs, and `map` reads every piece once.
fn sharding() -> dagger::Result<()> {
    println!("== Sharding");
    let ctx = Context::builder().threads(4).build();
    let cs = shard_with(&ctx, ShardOptions::new().per_thread(true), || {
        AtomicI64::new(0)
    })?;
    println!(
        "  {} pieces on {:?}",
        cs.len(),
        cs.processors().map(|p| p.to_string()).collect::<Vec<_>>()
    );
    let ts: Vec<_> = (0..1000)
        .map(|_| {
            ctx.spawn(
                |(c,)| {
                    // A little work, so that the tasks spread over the threads.
                    let t = std::time::Instant::now();
                    while t.elapsed() < std::time::Duration::from_micros(20) {}
                    c.fetch_add(1, Ordering::Relaxed);
                },
                (&cs,),
            )
        })
        .collect();
    fetch_all(&ts)?;
    let parts = fetch_all(&cs.map(&ctx, |c| c.load(Ordering::Relaxed)))?;
    let total: i64 = parts.iter().sum();
    println!("  per-piece counts {parts:?}, sum {total} (expected 1000)");
    if total != 1000 {
        return Err(dagger::Error::Argument(format!(
            "shard counters sum to {total}"
        )));
    }
    // A per-worker shard (the default): one piece for this process.
    let per_worker = shard_with(&ctx, ShardOptions::new(), || AtomicI64::new(0))?;
    let scopes: Vec<Scope> = per_worker.iter().map(|m| m.scope().clone()).collect();
    println!(
        "  per-worker shard: {} piece(s), scopes {scopes:?}",
        per_worker.len()
    );
    Ok(())
}
