//! LU, triangular solves and `solve` on 2 worker processes, computed on the DArray's blocks
//! where they live (`dagger::linalg::blocks_lu`): residuals against a dense reference in
//! f64 (ragged edges), the factors' tiles stay on their workers, no task runs in the
//! driver, a solve reuses the kept factors, and a singular matrix is the typed error.

use dagger::array::{Blocks, DArray};
use dagger::linalg::{
    blocks::to_workers, lu_darray, lu_nopiv_darray, solve_darray, solve_triangular_darray, Diag,
    Trans, Uplo,
};
use dagger::observe::{Observer, TaskEvent, TaskEventKind};
use dagger::{Context, WorkerId};
use ndarray::Array2;
use std::sync::{Arc, Mutex};

use crate::harness::cluster_builder;

/// The tasks the driver ran itself (a task sent to a worker is `Dispatched`).
#[derive(Default)]
pub(crate) struct InDriver(pub(crate) Mutex<Vec<String>>);

impl Observer for InDriver {
    fn on_event(&self, e: &TaskEvent) {
        if let TaskEventKind::Started { .. } = e.kind {
            let name = e.name.as_deref().unwrap_or("(unnamed)").to_string();
            self.0.lock().unwrap().push(name);
        }
    }
}

pub(crate) fn cluster() -> (Context, Arc<InDriver>) {
    let seen = Arc::new(InDriver::default());
    let ctx = cluster_builder(2)
        .threads(2)
        .worker_threads(2)
        .observer(seen.clone())
        .build();
    (ctx, seen)
}

/// A fixed pseudo-random matrix in [-0.5, 0.5).
pub(crate) fn random(m: usize, n: usize, seed: u64) -> Array2<f64> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    Array2::from_shape_fn((m, n), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    })
}

pub(crate) fn fro(a: &Array2<f64>) -> f64 {
    a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn on_workers(ctx: &Context, a: &Array2<f64>, part: [usize; 2]) -> DArray<f64> {
    to_workers(
        ctx,
        &DArray::from_array(a.clone().into_dyn(), &Blocks::from(part)).unwrap(),
    )
    .unwrap()
}

fn dense(ctx: &Context, d: &DArray<f64>) -> Array2<f64> {
    d.collect_dense(ctx).unwrap().into_dimensionality().unwrap()
}

fn owners(a: &DArray<f64>) -> Vec<WorkerId> {
    a.chunks().unwrap().iter().map(|c| c.owner()).collect()
}

/// `L` (unit diagonal) and `U` of LAPACK-style packed factors.
pub(crate) fn l_and_u(f: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    let n = f.nrows();
    let l = Array2::from_shape_fn((n, n), |(i, j)| match i.cmp(&j) {
        std::cmp::Ordering::Greater => f[[i, j]],
        std::cmp::Ordering::Equal => 1.0,
        std::cmp::Ordering::Less => 0.0,
    });
    let u = Array2::from_shape_fn((n, n), |(i, j)| if i <= j { f[[i, j]] } else { 0.0 });
    (l, u)
}

#[test]
fn linalg_lu_and_solve_on_two_workers_keep_their_tiles_there() {
    let (ctx, seen) = cluster();
    // 130² in 40² tiles: a ragged last block row and column.
    let n = 130;
    let a = random(n, n, 3);
    let d = on_workers(&ctx, &a, [40, 40]);
    let placed = owners(&d);
    assert!(placed.iter().all(|w| *w != WorkerId(1)), "{placed:?}");
    // `to_workers` lays the tiles out block-cyclic over the workers (a 1 × 2 grid).
    let pg = dagger::array::cyclic::ProcessGrid::square(&ctx).unwrap();
    assert_eq!(pg.shape(), (1, 2));
    assert_eq!(placed, pg.placement(d.grid()), "block-cyclic tiles");
    seen.0.lock().unwrap().clear();
    let f = lu_darray(&ctx, &d).unwrap();
    assert_eq!(
        owners(f.factors()),
        placed,
        "every factor tile stayed on its worker"
    );
    let (l, u) = l_and_u(&dense(&ctx, f.factors()));
    let pa = Array2::from_shape_fn((n, n), |(i, j)| a[[f.perm()[i], j]]);
    let r = fro(&(&pa - &l.dot(&u))) / fro(&a);
    assert!(r < 1e-12, "‖PA − LU‖/‖A‖ = {r:e}");
    assert!(
        f.perm().iter().enumerate().any(|(i, p)| i != *p),
        "it pivoted"
    );

    // Solves with the kept factors (two right-hand sides, ragged column blocks).
    let bs: Vec<_> = [7, 8].map(|seed| random(n, 3, seed)).into();
    let bds: Vec<_> = bs.iter().map(|b| on_workers(&ctx, b, [40, 2])).collect();
    seen.0.lock().unwrap().clear();
    for (b, bd) in bs.iter().zip(&bds) {
        let x = f.solve(&ctx, bd).unwrap();
        let xd = dense(&ctx, &x);
        let r = fro(&(&a.dot(&xd) - b)) / (fro(&a) * fro(&xd));
        assert!(r < 1e-12, "‖AX − B‖/(‖A‖‖X‖) = {r:e}");
    }
    let ran_here = std::mem::take(&mut *seen.0.lock().unwrap());
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");

    // `solve` in one call, and an exactly singular matrix (a zero column).
    let b = random(n, 1, 9);
    let x = dense(
        &ctx,
        &solve_darray(&ctx, &d, &on_workers(&ctx, &b, [40, 1])).unwrap(),
    );
    assert!(fro(&(&a.dot(&x) - &b)) / (fro(&a) * fro(&x)) < 1e-12);
    let mut s = a.clone();
    s.column_mut(100).fill(0.0);
    match lu_darray(&ctx, &on_workers(&ctx, &s, [40, 40])) {
        Err(dagger::Error::Singular {
            tile,
            pivot,
            column,
        }) => {
            assert_eq!((tile, pivot, column), ([2, 2], 20, 100))
        }
        other => panic!("want Singular, got {:?}", other.map(|f| f.perm().to_vec())),
    }
}

#[test]
fn linalg_lu_nopiv_and_triangular_solves_on_two_workers() {
    let (ctx, seen) = cluster();
    let n = 110;
    // Diagonally dominant: no pivoting needed.
    let a = random(n, n, 4) + Array2::<f64>::eye(n) * n as f64;
    let d = on_workers(&ctx, &a, [32, 32]);
    let placed = owners(&d);
    seen.0.lock().unwrap().clear();
    let f = lu_nopiv_darray(&ctx, &d).unwrap();
    assert_eq!(owners(f.factors()), placed);
    let packed = dense(&ctx, f.factors());
    let (l, u) = l_and_u(&packed);
    assert!(fro(&(&a - &l.dot(&u))) / fro(&a) < 1e-12);
    assert!(f.perm().iter().enumerate().all(|(i, p)| i == *p));

    // op(T)·X = B for the triangles of the packed factors, every transpose.
    let b = random(n, 4, 5);
    let bd = on_workers(&ctx, &b, [32, 3]);
    seen.0.lock().unwrap().clear();
    for (uplo, diag, t) in [
        (Uplo::Lower, Diag::Unit, &l),
        (Uplo::Upper, Diag::NonUnit, &u),
    ] {
        for trans in [Trans::No, Trans::Yes] {
            let x = solve_triangular_darray(&ctx, f.factors(), uplo, trans, diag, &bd).unwrap();
            let x = dense(&ctx, &x);
            let op = if trans.is_yes() {
                t.t().to_owned()
            } else {
                t.clone()
            };
            let r = fro(&(&op.dot(&x) - &b)) / (fro(&op) * fro(&x));
            assert!(r < 1e-12, "{uplo:?} {trans:?}: {r:e}");
        }
    }
    let ran_here = std::mem::take(&mut *seen.0.lock().unwrap());
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");

    // The Cholesky factor object solves on the workers, again without refactoring.
    let s = spd(n);
    let c = dagger::linalg::cholesky_blocks(&ctx, &on_workers(&ctx, &s, [32, 32]), Uplo::Upper)
        .unwrap();
    for seed in [1, 2] {
        let b = random(n, 2, seed);
        let x = dense(
            &ctx,
            &c.solve(&ctx, &on_workers(&ctx, &b, [32, 2])).unwrap(),
        );
        let r = fro(&(&s.dot(&x) - &b)) / (fro(&s) * fro(&x));
        assert!(r < 1e-12, "‖AX − B‖/(‖A‖‖X‖) = {r:e}");
    }
}

/// A symmetric positive definite `n × n` matrix: `M·Mᵀ/n + I`.
pub(crate) fn spd(n: usize) -> Array2<f64> {
    let m = random(n, n, 21);
    m.dot(&m.t()) / n as f64 + Array2::<f64>::eye(n)
}

/// Each worker's memory limit in the out-of-core tests.
const LIMIT: u64 = 256 << 10;

/// 2 workers (2 threads each, 1 in the driver) under [`LIMIT`], spilling to a fresh
/// directory named by `tag` (the caller removes it).
fn limited_cluster(tag: &str) -> (Context, std::path::PathBuf) {
    let spill = std::env::temp_dir().join(format!("dagger-linalg-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&spill).unwrap();
    let ctx = cluster_builder(2)
        .threads(1)
        .worker_threads(2)
        .worker_memory_limit(LIMIT)
        .worker_spill_dir(&spill)
        .build();
    (ctx, spill)
}

/// Out of core: a Cholesky on 2 workers whose matrix (and each worker's half of it) is
/// larger than each worker's memory limit completes, by spilling what the pools cannot
/// hold, with the residual of one in memory.
#[test]
fn linalg_cholesky_larger_than_the_workers_memory_limit_completes_by_spilling() {
    use dagger::linalg::{cholesky_darray, Uplo};
    // 480² f64 = 1.8 MB in 64 tiles of 28.8 KB; 256 KiB pools hold a seventh of a half.
    let n = 480;
    let (ctx, spill) = limited_cluster("ooc");
    let a = spd(n);
    let d = on_workers(&ctx, &a, [60, 60]);
    let share = |w: WorkerId| owners(&d).iter().filter(|o| **o == w).count() * 60 * 60 * 8;
    let f = cholesky_darray(&ctx, &d, Uplo::Lower).unwrap();
    let stats: Vec<_> = ctx
        .other_workers()
        .into_iter()
        .map(|w| {
            assert!(share(w) as u64 > LIMIT, "{w:?} holds {} B", share(w));
            ctx.worker_stats(w).unwrap()
        })
        .collect();
    let spilled: u64 = stats.iter().map(|s| s.spilled_bytes).sum();
    assert!(spilled > 0, "nothing spilled: {stats:?}");
    let l = dense(&ctx, &f);
    let r = fro(&(&a - &l.dot(&l.t()))) / fro(&a);
    assert!(r < 1e-12, "‖A − LLᵀ‖/‖A‖ = {r:e}");
    drop((f, d, ctx));
    let _ = std::fs::remove_dir_all(&spill);
}

/// Runs `f` in a thread and fails the test if it has not returned in `secs` seconds (a
/// stall is a failure, not a hung test binary).
pub(crate) fn bounded<R: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(r) => r,
        Err(_) => panic!("{what} did not finish in {secs} s"),
    }
}

/// Out of core, the factor objects: an Upper Cholesky and an LU on 2 workers under a
/// memory limit, each then solving with its kept factors, finish (bounded) with the
/// residuals of the in-memory runs.
#[test]
fn linalg_factor_objects_solve_under_the_workers_memory_limit() {
    let n = 480;
    let (ctx, spill) = limited_cluster("ooc2");
    let a = spd(n);
    let b = random(n, 2, 11);
    let c2 = ctx.clone();
    let (a2, b2) = (a.clone(), b.clone());
    let x = bounded(90, "Upper cholesky + solve under the limit", move || {
        let d = on_workers(&c2, &a2, [60, 60]);
        let c = dagger::linalg::cholesky_blocks(&c2, &d, Uplo::Upper).unwrap();
        dense(&c2, &c.solve(&c2, &on_workers(&c2, &b2, [60, 2])).unwrap())
    });
    let r = fro(&(&a.dot(&x) - &b)) / (fro(&a) * fro(&x));
    assert!(r < 1e-12, "cholesky: ‖AX − B‖/(‖A‖‖X‖) = {r:e}");
    let c2 = ctx.clone();
    let (a2, b2) = (a.clone(), b.clone());
    let x = bounded(90, "LU + solve under the limit", move || {
        let d = on_workers(&c2, &a2, [60, 60]);
        let f = lu_darray(&c2, &d).unwrap();
        dense(&c2, &f.solve(&c2, &on_workers(&c2, &b2, [60, 2])).unwrap())
    });
    let r = fro(&(&a.dot(&x) - &b)) / (fro(&a) * fro(&x));
    assert!(r < 1e-12, "lu: ‖AX − B‖/(‖A‖‖X‖) = {r:e}");
    let stats: Vec<_> = ctx
        .other_workers()
        .into_iter()
        .map(|w| ctx.worker_stats(w).unwrap())
        .collect();
    assert!(
        stats.iter().map(|s| s.spilled_bytes).sum::<u64>() > 0,
        "{stats:?}"
    );
    drop(ctx);
    let _ = std::fs::remove_dir_all(&spill);
}

/// No silent stall: a factorization (and a solve) whose tiles lived on a worker that is
/// gone ends in a typed error naming the loss, within a bound, and so does one whose
/// worker is killed while it runs; the driver's context keeps working afterwards.
#[test]
fn linalg_tiles_on_a_lost_worker_end_in_a_typed_error_not_a_stall() {
    use crate::harness::{quick_loss_cluster, signal, wait_lost};
    let ctx = quick_loss_cluster(2);
    let n = 160;
    let a = spd(n);
    let d = on_workers(&ctx, &a, [40, 40]);
    let b = on_workers(&ctx, &random(n, 1, 5), [40, 1]);
    let f = lu_darray(&ctx, &d).unwrap();
    let lost = owners(&d)[1];
    signal(&ctx, lost, libc::SIGKILL);
    wait_lost(&ctx, lost);
    let (c2, d2) = (ctx.clone(), d.clone());
    let r = bounded(60, "LU of tiles on a lost worker", move || {
        lu_darray(&c2, &d2).map(|_| ())
    });
    let gone = |r: &Result<(), dagger::Error>| matches!(r, Err(dagger::Error::WorkerLost { worker, .. }) if *worker == lost);
    assert!(gone(&r), "LU of tiles on a lost worker: {r:?}");
    let c2 = ctx.clone();
    let r = bounded(60, "a solve with factors on a lost worker", move || {
        f.solve(&c2, &b).map(|_| ())
    });
    assert!(gone(&r), "a solve with factors on a lost worker: {r:?}");
    let (c2, d2) = (ctx.clone(), d.clone());
    let r = bounded(60, "QR of tiles on a lost worker", move || {
        dagger::linalg::qr_darray(&c2, &d2).map(|_| ())
    });
    assert!(gone(&r), "QR of tiles on a lost worker: {r:?}");
    // The surviving worker still factors a matrix of its own.
    let d = on_workers(&ctx, &a, [40, 40]);
    assert!(owners(&d).iter().all(|w| *w != lost));
    let l = dense(
        &ctx,
        &dagger::linalg::cholesky_darray(&ctx, &d, Uplo::Lower).unwrap(),
    );
    assert!(fro(&(&a - &l.dot(&l.t()))) / fro(&a) < 1e-12);

    // Killed while it runs: a QR of a bigger matrix on a fresh pair of workers ends, within
    // the bound, in `WorkerLost` (or, had it finished first, in the right factors).
    let ctx = quick_loss_cluster(2);
    let n = 480;
    let a = random(n, n, 8);
    let d = on_workers(&ctx, &a, [30, 30]);
    let victim = owners(&d)[0];
    let c2 = ctx.clone();
    let run = std::thread::spawn(move || {
        bounded(60, "QR while its worker is killed", move || {
            dagger::linalg::qr_darray(&c2, &d).map(|f| f.r().clone())
        })
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&ctx, victim, libc::SIGKILL);
    match run.join().unwrap() {
        Err(dagger::Error::WorkerLost { worker, .. }) => assert_eq!(worker, victim),
        Err(e) => panic!("want WorkerLost, got {e:?}"),
        Ok(_) => eprintln!("the QR finished before its worker was killed"),
    }
    // And the survivor still works.
    wait_lost(&ctx, victim);
    let s = spd(64);
    let d = on_workers(&ctx, &s, [32, 32]);
    assert!(owners(&d).iter().all(|w| *w != victim));
    let l = dense(
        &ctx,
        &dagger::linalg::cholesky_darray(&ctx, &d, Uplo::Lower).unwrap(),
    );
    assert!(fro(&(&s - &l.dot(&l.t()))) / fro(&s) < 1e-12);
}
