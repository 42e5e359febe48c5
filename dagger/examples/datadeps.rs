//! Datadeps: tasks that mutate their arguments, ordered by what they declare.
//!
//! A tiled `C += A·B` on `Data` tiles (each C tile is updated in place by one task per k,
//! in order; different C tiles in parallel), then two tasks that write the two strict
//! triangles of one tile at the same time, a failure that fails only its dependents, and
//! a region of registered-function tasks on values pinned in 2 worker processes.
//!
//!     cargo run --release --example datadeps

use dagger::remote::Pinned;
use dagger::{Context, Data, DataMut, DataRef, In, InOut, Out, WorkerId};
use std::sync::Mutex;
use std::time::Instant;

const T: usize = 64; // tile edge
const N: usize = 4; // tiles per edge

type Tile = Data<Vec<f64>>;

fn tile(f: impl Fn(usize, usize) -> f64) -> Tile {
    let v = (0..T * T).map(|i| f(i / T, i % T)).collect();
    Data::with_shape(v, [T, T])
}

/// What a task writing or reading one tile receives.
type TileMut = DataMut<Vec<f64>>;
type TileRef = DataRef<Vec<f64>>;

/// `c += a · b` on row-major T×T tiles.
fn gemm((mut c, a, b): (TileMut, TileRef, TileRef)) {
    for i in 0..T {
        for k in 0..T {
            let aik = a[i * T + k];
            for j in 0..T {
                c[i * T + j] += aik * b[k * T + j];
            }
        }
    }
}

type Log = Pinned<Mutex<Vec<u32>>>;

dagger::register! {
    fn new_log() -> Log { Pinned::new(Mutex::new(Vec::new())) }
    fn append(log: Log, v: u32) -> u32 {
        if let Some(l) = log.get() { l.lock().unwrap().push(v) }
        dagger::myid().0
    }
    fn entries(log: Log) -> Vec<u32> { log.get().map(|l| l.lock().unwrap().clone()).unwrap_or_default() }
}

fn main() -> dagger::Result<()> {
    // Worker processes re-run this program; there, this call serves and never returns.
    dagger::init();
    let ctx = Context::local();
    let seed = |t: usize| move |i: usize, j: usize| ((i * 31 + j * 17 + t * 7) % 13) as f64 - 6.0;
    let a: Vec<Vec<Tile>> = (0..N)
        .map(|i| (0..N).map(|k| tile(seed(i * N + k))).collect())
        .collect();
    let b: Vec<Vec<Tile>> = (0..N)
        .map(|k| (0..N).map(|j| tile(seed(100 + k * N + j))).collect())
        .collect();
    let c: Vec<Vec<Tile>> = (0..N)
        .map(|_| (0..N).map(|_| tile(|_, _| 0.0)).collect())
        .collect();

    // 1. Tiled matrix product: N³ tasks; the N updates of one C tile run in program order.
    let t0 = Instant::now();
    ctx.datadeps(|| {
        for (i, ci) in c.iter().enumerate() {
            for (j, cij) in ci.iter().enumerate() {
                for k in 0..N {
                    ctx.spawn(gemm, (InOut(cij), In(&a[i][k]), In(&b[k][j])));
                }
            }
        }
    })?;
    let took = t0.elapsed();
    // Check against a plain triple loop on the assembled matrices.
    let at = |m: &[Vec<Tile>], r: usize, s: usize| m[r / T][s / T].read(|v| v[(r % T) * T + s % T]);
    let mut worst = 0.0f64;
    for r in (0..N * T).step_by(37) {
        for s in (0..N * T).step_by(29) {
            let want: f64 = (0..N * T).map(|q| at(&a, r, q) * at(&b, q, s)).sum();
            worst = worst.max((at(&c, r, s) - want).abs());
        }
    }
    println!(
        "tiled C += A·B: {} tasks on {N}×{N} tiles of {T}×{T} in {took:?}, max error {worst:e}",
        N * N * N
    );
    assert!(worst < 1e-9);

    // 2. Views: the strict upper and lower triangles of one tile share no element, so the
    //    two writers run in parallel; a reader of the whole tile waits for both.
    let m = tile(|_, _| 0.0);
    let fill = |val: f64| {
        move |(mut m,): (TileMut,)| {
            let s = m.extent().span(Some([T, T]));
            for i in 0..T {
                for j in 0..T {
                    if s.contains(i, j) {
                        m[i * T + j] = val;
                    }
                }
            }
        }
    };
    let total = ctx.datadeps(|| {
        ctx.spawn(fill(1.0), (Out(m.upper(false)),));
        ctx.spawn(fill(-1.0), (Out(m.lower(false)),));
        ctx.spawn(fill(5.0), (Out(m.diagonal()),));
        ctx.spawn(|(m,): (TileRef,)| m.iter().sum::<f64>(), (In(&m),))
    })?;
    let total = total.fetch()?;
    println!("triangles and diagonal written by three tasks: sum = {total}");
    assert_eq!(total, 5.0 * T as f64);

    // 3. A failure fails what depends on it, and the region returns it; others still run.
    let (x, y) = (Data::new(1i64), Data::new(1i64));
    let err = ctx
        .datadeps(|| {
            ctx.try_spawn(
                |(_x,): (DataMut<i64>,)| Err::<(), _>("sensor offline"),
                (InOut(&x),),
            );
            ctx.spawn(|(x,): (DataRef<i64>,)| *x * 2, (In(&x),));
            ctx.spawn(|(mut y,): (DataMut<i64>,)| *y += 41, (InOut(&y),));
        })
        .unwrap_err();
    println!("region error: {err}");
    assert!(err.to_string().contains("sensor offline"));
    assert_eq!(y.get(), 42);

    // 4. On 2 worker processes: a log pinned in each; registered tasks declaring InOut on a
    //    log run where it lives, in program order per log, the two logs in parallel.
    let cluster = Context::builder().workers(2).build();
    let l2 = dagger::mutable_on(&cluster, WorkerId(2), NEW_LOG)?;
    let l3 = dagger::mutable_on(&cluster, WorkerId(3), NEW_LOG)?;
    let reads = cluster.datadeps(|| {
        for v in 0..20u32 {
            let log = if v % 2 == 0 { &l2 } else { &l3 };
            cluster.spawn_registered(APPEND, (InOut(log.whole()), v));
        }
        [&l2, &l3].map(|l| cluster.spawn_registered(ENTRIES, (In(l.whole()),)))
    })?;
    let [even, odd] = reads.map(|r| r.fetch());
    let (even, odd) = (even?, odd?);
    println!("on workers 2 and 3: {even:?} and {odd:?}");
    assert_eq!(even, (0..20).step_by(2).collect::<Vec<u32>>());
    assert_eq!(odd, (1..20).step_by(2).collect::<Vec<u32>>());
    println!("ok");
    Ok(())
}
