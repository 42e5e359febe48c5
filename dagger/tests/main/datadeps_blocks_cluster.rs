//! In-place DArray updates on 2 worker processes, with the blocks kept where they live:
//! `update_blocks` regions of registered tasks (each runs on the worker holding the block
//! it writes; the blocks it reads come to it from their workers), and the element-wise
//! in-place operations (`A += B`, `map!` with a registered function, `fill!`). Each gives
//! what the same program gives in one process, no task of it runs in the driver, the
//! blocks end where they started, and no temporary copy outlives the call (the workers'
//! chunk counts).

use dagger::array::{ArithOp, BlockMut, BlockRef, Blocks, DArray, TrackedBlocks};
use dagger::observe::{Observer, TaskEvent, TaskEventKind};
use dagger::{Context, DTask, In, InOut, WorkerId};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::cluster_builder;

/// The tasks the driver process ran itself (a `Started` event is reported for those only;
/// a task sent to a worker is `Dispatched`).
#[derive(Default)]
struct InDriver(Mutex<Vec<String>>);

impl Observer for InDriver {
    fn on_event(&self, e: &TaskEvent) {
        if let TaskEventKind::Started { .. } = e.kind {
            let name = e.name.as_deref().unwrap_or("(unnamed)").to_string();
            self.0.lock().unwrap().push(name);
        }
    }
}

impl InDriver {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A 2-worker cluster of its own (the chunk counts are this test's alone), observed, and
/// its view without the driver (where the arrays are made, so every block is on a worker).
fn observed_cluster() -> (Context, Context, Arc<InDriver>) {
    let seen = Arc::new(InDriver::default());
    let ctx = cluster_builder(2)
        .threads(2)
        .worker_threads(2)
        .observer(seen.clone())
        .build();
    let workers = ctx.with_workers(&[WorkerId(2), WorkerId(3)]).unwrap();
    (ctx, workers, seen)
}

dagger::register! {
    fn axpy_block(y: BlockMut<f64>, x: BlockRef<f64>, a: f64) -> u32 {
        let mut y = y;
        y.zip_mut_with(&x, |y, x| *y = 0.5 * *y + a * x);
        dagger::myid().0
    }
    fn scale_part(y: BlockMut<f64>, s: f64) -> u32 {
        let mut y = y;
        let (r, c) = (y.shape()[0], y.shape()[1]);
        let span = y.extent().span(Some([r, c]));
        for i in 0..r {
            for j in 0..c {
                if span.contains(i, j) {
                    y[[i, j]] *= s;
                }
            }
        }
        dagger::myid().0
    }
    fn blocks_total(xs: Vec<BlockRef<f64>>) -> f64 { xs.iter().map(|x| x.sum()).sum() }
}

dagger::array::element_fn! {
    fn halve_plus_one(x: f64) -> f64 { x * 0.5 + 1.0 }
}

/// A task of a program, with the worker of the block it writes.
type Placed = (DTask<u32>, Option<WorkerId>);

/// Two rounds over every block: block (i, j) = ½·itself + ¼·a block of its column (often on
/// the other worker), then the triangles of the diagonal blocks scaled by
/// different factors (disjoint views of one block), then one read of every block. Each
/// task with the worker of the block it writes.
fn program(ctx: &Context, b: &TrackedBlocks<f64>) -> (Vec<Placed>, DTask<f64>) {
    let g = b.grid().grid_shape();
    let mut tasks = Vec::new();
    for round in 0..2 {
        for i in 0..g[0] {
            for j in 0..g[1] {
                let (y, x) = (&b[[i, j]], &b[[(i + 1 + round) % g[0], j]]);
                let t = ctx.spawn_registered(AXPY_BLOCK, (InOut(y), In(x), 0.25));
                tasks.push((t, y.owner()));
            }
        }
        for i in 0..g[0].min(g[1]) {
            let d = &b[[i, i]];
            let up = ctx.spawn_registered(SCALE_PART, (InOut(&d.upper(true)), 2.0));
            let low = ctx.spawn_registered(SCALE_PART, (InOut(&d.lower(false)), -1.0));
            tasks.push((up, d.owner()));
            tasks.push((low, d.owner()));
        }
    }
    (tasks, ctx.spawn_registered(BLOCKS_TOTAL, (In(b),)))
}

fn owners(a: &DArray<f64>) -> Vec<WorkerId> {
    a.chunks().unwrap().iter().map(|c| c.owner()).collect()
}

/// Waits (bounded) until the workers hold `want` results: releases travel as messages.
fn settle(ctx: &Context, want: u64) -> u64 {
    let held = || -> u64 {
        [WorkerId(2), WorkerId(3)]
            .iter()
            .map(|&w| ctx.worker_stats(w).unwrap().chunks)
            .sum()
    };
    let t0 = Instant::now();
    while held() != want && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    held()
}

#[test]
fn datadeps_update_blocks_on_two_workers_runs_where_the_blocks_live() {
    let (ctx, workers, seen) = observed_cluster();
    let before = settle(&ctx, 0);
    // Ragged blocks (30×30 … 30×10), made on the workers.
    let part = Blocks::from([30, 30]);
    let mut a = DArray::<f64>::rand_seeded(&part, &[90, 70], 5)
        .unwrap()
        .compute(&workers)
        .unwrap();
    let placed = owners(&a);
    assert!(
        placed.contains(&WorkerId(2)) && placed.contains(&WorkerId(3)),
        "{placed:?}"
    );
    let start = a.collect_dense(&ctx).unwrap();

    seen.take();
    let (tasks, total) = a.update_blocks(&ctx, |b| program(&ctx, b)).unwrap();
    for (i, (t, owner)) in tasks.iter().enumerate() {
        assert_eq!(
            Some(WorkerId(t.fetch().unwrap())),
            *owner,
            "task {i} ran on the worker holding the block it writes"
        );
    }
    assert_eq!(
        owners(&a),
        placed,
        "every block's new version stayed on its worker"
    );
    let ran_here = seen.take();
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");

    // The same program in one process gives the same values, bit for bit.
    let local = Context::builder().threads(2).build();
    let mut want = DArray::from_array(start, &part).unwrap();
    let (_, want_total) = want.update_blocks(&local, |b| program(&local, b)).unwrap();
    let want = want.collect_dense(&local).unwrap();
    assert_eq!(a.collect_dense(&ctx).unwrap(), want);
    assert_eq!(total.fetch().unwrap(), want_total.fetch().unwrap());

    // Pins, exports and the copies fetched from them are gone: the workers hold the final
    // blocks only.
    drop((tasks, total));
    let blocks = placed.len() as u64;
    assert_eq!(
        settle(&ctx, before + blocks),
        before + blocks,
        "temporary copies outlived the region"
    );
}

#[test]
fn datadeps_in_place_array_ops_on_two_workers_run_where_the_blocks_live() {
    let (ctx, workers, seen) = observed_cluster();
    let part = Blocks::from([30, 30]);
    let mut a = DArray::<f64>::rand_seeded(&part, &[90, 60], 1)
        .unwrap()
        .compute(&workers)
        .unwrap();
    // Another array, on the workers too: its blocks move to the blocks they update.
    let b = DArray::<f64>::rand_seeded(&part, &[90, 60], 2)
        .unwrap()
        .compute(&workers)
        .unwrap();
    let placed = owners(&a);
    let local = Context::builder().threads(2).build();
    let mut want = a.collect_dense(&local).unwrap();
    let bd = b.collect_dense(&local).unwrap();

    seen.take();
    a.arith_assign(&b, ArithOp::Add).unwrap(); // A .+= B
    a = a.compute(&ctx).unwrap();
    assert_eq!(
        owners(&a),
        placed,
        "A += B updated each block where it lives"
    );
    want.zip_mut_with(&bd, |x, y| *x += y);
    a.arith_scalar_assign(3.0, ArithOp::Mul); // A .*= 3
    a = a.compute(&ctx).unwrap();
    want.mapv_inplace(|x| x * 3.0);
    a.map_registered_assign(HALVE_PLUS_ONE); // map!(f, A, A)
    a = a.compute(&ctx).unwrap();
    assert_eq!(owners(&a), placed, "map! ran where each block lives");
    want.mapv_inplace(halve_plus_one);
    let ran_here = seen.take();
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");
    let got = a.collect_dense(&ctx).unwrap();
    assert!(
        got.iter()
            .zip(&want)
            .all(|(g, w)| (g - w).abs() <= 1e-12 * w.abs().max(1.0)),
        "in-place ops on the workers agree with ndarray"
    );

    seen.take();
    a.fill_assign(1.5); // fill!
    a = a.compute(&ctx).unwrap();
    assert_eq!(
        owners(&a),
        placed,
        "fill! made each block where the old one lived"
    );
    assert!(seen.take().is_empty());
    assert!(a.collect_dense(&ctx).unwrap().iter().all(|&v| v == 1.5));
}

/// A symmetric positive definite `n × n` matrix: `M·Mᵀ/n + I` for a fixed pseudo-random `M`.
fn spd(n: usize) -> ndarray::Array2<f64> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let m = ndarray::Array2::from_shape_fn((n, n), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    });
    m.dot(&m.t()) / n as f64 + ndarray::Array2::<f64>::eye(n)
}

fn rel_fro(a: &ndarray::Array2<f64>, b: &ndarray::Array2<f64>) -> f64 {
    let d: f64 = (a - b).iter().map(|v| v * v).sum::<f64>().sqrt();
    d / a.iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn datadeps_mul_into_on_two_workers_computes_where_c_lives() {
    let (ctx, workers, seen) = observed_cluster();
    let part = Blocks::from([40, 40]);
    let on = |seed| {
        DArray::<f64>::rand_seeded(&part, &[100, 100], seed)
            .unwrap()
            .compute(&workers)
            .unwrap()
    };
    let (a, b, mut c) = (on(1), on(2), on(3));
    let local = Context::builder().threads(2).build();
    let dense = |x: &DArray<f64>| {
        x.collect_dense(&local)
            .unwrap()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap()
    };
    let want = dense(&a).dot(&dense(&b)) * 0.5 + dense(&c) * 2.0;
    let placed = owners(&c);
    seen.take();
    DArray::mul_into(&mut c, &a, &b, 0.5, 2.0).unwrap(); // mul!(C, A, B, ½, 2)
    let c = c.compute(&ctx).unwrap();
    assert_eq!(
        owners(&c),
        placed,
        "each block of C was updated where it lives"
    );
    let ran_here = seen.take();
    assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");
    assert!(rel_fro(&want, &dense(&c)) < 1e-14);
}

#[test]
fn datadeps_cholesky_on_two_workers_keeps_its_tiles_there() {
    use dagger::linalg::{blocks::to_workers, cholesky, cholesky_darray, TiledMatrix, Uplo};
    let (ctx, _, seen) = observed_cluster();
    let before = settle(&ctx, 0);
    // 130² in 40² tiles: a ragged last block row and column.
    let n = 130;
    let a = spd(n);
    let d = to_workers(
        &ctx,
        &DArray::from_array(a.clone().into_dyn(), &Blocks::from([40, 40])).unwrap(),
    )
    .unwrap();
    let placed = owners(&d);
    assert!(placed.iter().all(|w| *w != WorkerId(1)), "{placed:?}");
    let tiles = placed.len() as u64;
    for uplo in [Uplo::Lower, Uplo::Upper] {
        seen.take();
        let f = cholesky_darray(&ctx, &d, uplo).unwrap();
        let ran_here = seen.take();
        assert!(ran_here.is_empty(), "tasks ran in the driver: {ran_here:?}");
        assert_eq!(owners(&f), placed, "every factor tile stayed on its worker");
        let t = f
            .collect_dense(&ctx)
            .unwrap()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let back = match uplo {
            Uplo::Lower => t.dot(&t.t()),
            Uplo::Upper => t.t().dot(&t),
        };
        let r = rel_fro(&a, &back);
        assert!(r < 1e-12, "{uplo:?}: ‖A − LLᵀ‖/‖A‖ = {r:e}");
        // Every pin, export and fetched copy is gone: the input's tiles and the factor's.
        drop(t);
        assert_eq!(
            settle(&ctx, before + 2 * tiles),
            before + 2 * tiles,
            "a temporary copy outlived the region"
        );
    }
    // The TiledMatrix call factors on the workers too, and a matrix that is not positive
    // definite is the typed error naming the tile and the pivot.
    let tm = TiledMatrix::from_ndarray(a.view(), [40, 40]).unwrap();
    let l = cholesky(&ctx, &tm, Uplo::Lower)
        .unwrap()
        .factor()
        .to_ndarray();
    assert!(rel_fro(&a, &l.dot(&l.t())) < 1e-12);
    let mut bad = a.clone();
    bad[[90, 90]] = -5.0;
    let tm = TiledMatrix::from_ndarray(bad.view(), [40, 40]).unwrap();
    match cholesky(&ctx, &tm, Uplo::Lower) {
        Err(dagger::Error::NotPositiveDefinite {
            tile,
            pivot,
            column,
        }) => assert_eq!((tile, pivot, column), ([2, 2], 10, 90)),
        other => panic!("want NotPositiveDefinite, got {other:?}"),
    }
}

/// A pivot that fails on a worker fails its task: the tasks that depend on it fail with
/// `DTaskFailed` naming it as the root and never run, a task that does not depend on it
/// still runs, and the call returns the typed error.
#[test]
fn datadeps_a_failed_pivot_on_a_worker_fails_the_tasks_after_it() {
    use dagger::linalg::{blocks::to_workers, cholesky_darray, Scalar, Uplo};
    let (ctx, _, _) = observed_cluster();
    let mut bad = spd(80);
    bad[[5, 5]] = -1.0;
    let d = to_workers(
        &ctx,
        &DArray::from_array(bad.clone().into_dyn(), &Blocks::from([40, 40])).unwrap(),
    )
    .unwrap();
    match cholesky_darray(&ctx, &d, Uplo::Lower) {
        Err(dagger::Error::NotPositiveDefinite { tile, pivot, .. }) => {
            assert_eq!((tile, pivot), ([0, 0], 5))
        }
        other => panic!("want NotPositiveDefinite, got {other:?}"),
    }
    // The same first steps, with the handles kept.
    let k = f64::tile_kernels();
    let mut x = d.clone();
    let mut handles = Vec::new();
    let err = x
        .update_blocks(&ctx, |t| {
            let (d0, p, d1) = (&t[[0, 0]], &t[[1, 0]], &t[[1, 1]]);
            let potrf = ctx.spawn_registered(k.potrf, (InOut(d0), true, 0u64, 40u64));
            let trsm = ctx.spawn_registered(k.trsm, (InOut(p), In(d0), true, true, true));
            let syrk = ctx.spawn_registered(k.syrk, (InOut(d1), In(p), false, true));
            let other = ctx.spawn_registered(k.zero, (dagger::Out(&t[[0, 1]]),));
            handles.extend([potrf, trsm, syrk, other]);
        })
        .unwrap_err();
    let [potrf, trsm, syrk, other] = <[DTask<dagger::Result<()>>; 4]>::try_from(handles).unwrap();
    assert!(
        err.root_cause().to_string().contains("NotPositiveDefinite"),
        "{err}"
    );
    let own = potrf.fetch().unwrap_err();
    assert!(own.to_string().contains("NotPositiveDefinite"), "{own}");
    for t in [&trsm, &syrk] {
        match t.fetch() {
            Err(dagger::Error::TaskFailed { task, root }) => {
                assert_eq!(task, t.id());
                assert_eq!(root.task, potrf.id(), "the root is the potrf task");
                assert!(root.error.to_string().contains("NotPositiveDefinite"));
            }
            other => panic!("a dependent of the failed pivot ran: {other:?}"),
        }
    }
    assert!(
        matches!(other.fetch(), Ok(Ok(()))),
        "an independent task ran"
    );
    // The array is as it was.
    let same = x.collect_dense(&ctx).unwrap();
    assert_eq!(same, bad.into_dyn());
}

dagger::register! {
    fn add_to_rows(x: BlockMut<f64>, y: BlockMut<f64>) -> u32 {
        let (mut x, mut y) = (x, y);
        // Touch both blocks for a while, holding them (the window two tasks that took
        // their blocks in opposite orders would deadlock in).
        for _ in 0..50 {
            for b in [&mut x, &mut y] {
                let span = b.extent().span(Some([b.shape()[0], b.shape()[1]]));
                for (i, v) in b.indexed_iter_mut() {
                    if span.contains(i[0], i[1]) {
                        *v += 0.02;
                    }
                }
            }
        }
        dagger::myid().0
    }
}

/// Two blocks on one worker, and tasks writing disjoint rows of both that name them in
/// opposite orders (so the region lets them run together): each locks both blocks in one
/// global order on the worker, so none waits for another that waits for it. Run many
/// times, with a bounded wait: a deadlock fails the test instead of hanging it.
#[test]
fn datadeps_two_block_writers_in_opposite_orders_do_not_deadlock_on_a_worker() {
    let ctx = cluster_builder(2).threads(2).worker_threads(4).build();
    let one = ctx.with_workers(&[WorkerId(2)]).unwrap();
    let rows = 16;
    let mut a = DArray::<f64>::zeros(&Blocks::from([rows, 8]), &[rows, 16])
        .unwrap()
        .compute(&one)
        .unwrap();
    assert_eq!(owners(&a), vec![WorkerId(2), WorkerId(2)]);
    let rounds = 40;
    let (tx, rx) = std::sync::mpsc::channel();
    let run = {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            for _ in 0..rounds {
                a.update_blocks(&ctx, |b| {
                    let (p, q) = (&b[[0, 0]], &b[[0, 1]]);
                    for r in 0..rows {
                        let (x, y) = if r % 2 == 0 { (p, q) } else { (q, p) };
                        ctx.spawn_registered(
                            ADD_TO_ROWS,
                            (InOut(&x.rows(r..r + 1)), InOut(&y.rows(r..r + 1))),
                        );
                    }
                })
                .unwrap();
            }
            let _ = tx.send(a.collect_dense(&ctx).unwrap());
        })
    };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(d) => {
            let want = rounds as f64 * 50.0 * 0.02;
            assert!(d.iter().all(|v| (v - want).abs() < 1e-9), "{d:?}");
            run.join().unwrap();
        }
        Err(e) => panic!("the region did not finish in 60 s ({e}): two writers deadlocked"),
    }
}
