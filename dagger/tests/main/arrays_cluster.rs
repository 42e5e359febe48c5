//! The array library on a cluster of 2 real worker processes (started by re-executing this
//! test binary on the ignored test `worker_entry`): the behaviours of group G, random
//! operations against ndarray, typed errors, and proof that block kernels ran on the
//! workers. The checks are `dagger::array::testing`'s, shared with the threads-only run of
//! `dagger-array/tests/behaviours.rs`.

use dagger::array::{testing, ArithOp, Blocks, DArray};
use dagger::{Context, WorkerId};
use std::collections::HashSet;

use crate::harness::cluster_builder;

fn cluster() -> Context {
    cluster_builder(2).threads(2).worker_threads(2).build()
}

#[test]
fn group_g_on_two_workers() {
    let ctx = cluster();
    assert_eq!(ctx.workers(), vec![WorkerId(1), WorkerId(2), WorkerId(3)]);
    testing::g48_construction_round_trip(&ctx);
    testing::g51_map_and_broadcast(&ctx);
    testing::g52_reductions(&ctx);
    testing::g53_indexing_dense_and_sparse(&ctx);
    testing::g55_transpose_grid_and_values(&ctx);
    testing::g56_products(&ctx);
    testing::g58_random_blocks_differ(&ctx);
    testing::readme_sparse_example_and_summary(&ctx);
}

#[test]
fn structure_ops_on_two_workers() {
    let ctx = cluster();
    testing::g48_redistribute_a_darray(&ctx);
    testing::g51_in_place_updates(&ctx);
    testing::g52_extrema_var_std_mapreduce(&ctx);
    testing::g53_setindex_and_region_assignment(&ctx);
    testing::g54_copyto(&ctx);
    testing::g55_cat_and_permutedims(&ctx);
    testing::comparisons_and_bit_ops(&ctx);
}

#[test]
fn datadeps_in_place_updates_on_two_workers() {
    let ctx = cluster();
    testing::datadeps_in_place_updates(&ctx);
    testing::datadeps_mul_into(&ctx);
}

/// After a run of in-place updates, once the old versions' handles are gone, the workers
/// hold exactly the final version's blocks: every intermediate block and every copy a task
/// fetched from another worker was freed.
#[test]
fn datadeps_in_place_updates_leave_no_copies_on_the_workers() {
    let ctx = cluster();
    let workers = [WorkerId(2), WorkerId(3)];
    let held = || -> u64 {
        workers
            .iter()
            .map(|&w| ctx.worker_stats(w).unwrap().chunks)
            .sum()
    };
    let before = held();
    let part = Blocks::from([40, 40]);
    let mut a = DArray::<f64>::rand_seeded(&part, &[160, 160], 1)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    // Another blocking: each update reads blocks that other workers made.
    let b = DArray::<f64>::rand_seeded(&Blocks::from([60, 50]), &[160, 160], 2)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    a.arith_assign(&b, ArithOp::Add).unwrap();
    a.arith_scalar_assign(2.0, ArithOp::Mul);
    a = a.compute(&ctx).unwrap();
    a.arith_assign(&b.transpose().unwrap(), ArithOp::Sub)
        .unwrap();
    a = a.compute(&ctx).unwrap();
    a.fill_assign(1.5);
    let a = a.compute(&ctx).unwrap();
    drop(b);
    let on_workers = a
        .chunks()
        .unwrap()
        .iter()
        .filter(|c| c.owner() != WorkerId(1))
        .count() as u64;
    assert!(on_workers > 0, "the blocks live on the workers");
    // Releases travel as messages: wait (bounded) for them to land.
    let t0 = std::time::Instant::now();
    while held() != before + on_workers && t0.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        held(),
        before + on_workers,
        "the workers hold only the final blocks"
    );
    assert!(a.collect_dense(&ctx).unwrap().iter().all(|&v| v == 1.5));
}

#[test]
fn random_ops_against_ndarray_on_two_workers() {
    let ctx = cluster();
    testing::ops_against_ndarray(&ctx, 7, 3);
    testing::shape_errors_are_typed(&ctx);
}

#[test]
fn blocks_are_computed_on_the_workers() {
    let ctx = cluster();
    // Every step is a named kernel: nothing needs the driver.
    let x = DArray::<f64>::randn_seeded(&Blocks::from([50, 50]), &[400, 400], 3).unwrap();
    let y = x
        .arith_scalar(2.0, ArithOp::Mul, dagger::array::binary::Side::Right)
        .arith(&x.transpose().unwrap(), ArithOp::Add)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let owners: HashSet<WorkerId> = y.chunks().unwrap().iter().map(|c| c.owner()).collect();
    assert!(
        owners.contains(&WorkerId(2)) && owners.contains(&WorkerId(3)),
        "blocks computed on {owners:?}"
    );
    // The values agree with the same computation in this process alone.
    let local = Context::builder().threads(2).build();
    let want = x
        .arith_scalar(2.0, ArithOp::Mul, dagger::array::binary::Side::Right)
        .arith(&x.transpose().unwrap(), ArithOp::Add)
        .unwrap()
        .collect_dense(&local)
        .unwrap();
    assert_eq!(y.collect_dense(&ctx).unwrap(), want);
    // A fused reduction and a sort run there too, and agree.
    let s = x
        .arith_scalar(2.0, ArithOp::Pow, dagger::array::binary::Side::Right)
        .sum();
    let (a, b) = (s.collect(&ctx).unwrap(), s.collect(&local).unwrap());
    assert!((a - b).abs() <= 1e-9 * b, "{a} vs {b}");
    let v = DArray::<u64>::rand_seeded(&Blocks::from([5000]), &[20000], 5)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let sorted = v
        .sort(dagger::array::sort::SortOptions::default())
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let owners: HashSet<WorkerId> = sorted.chunks().unwrap().iter().map(|c| c.owner()).collect();
    assert!(
        owners.iter().any(|w| *w != WorkerId(1)),
        "sorted on {owners:?}"
    );
    let got = sorted.collect_dense(&ctx).unwrap();
    let mut want = v.collect_dense(&ctx).unwrap().into_raw_vec_and_offset().0;
    want.sort_unstable();
    assert_eq!(got.into_raw_vec_and_offset().0, want);
}

#[test]
fn worker_held_blocks_report_their_element_bytes() {
    let ctx = cluster();
    // Ragged edge blocks (50×50, 50×30, …), f32 and a sparse array, all made on the workers.
    let x = DArray::<f32>::randn_seeded(&Blocks::from([50, 50]), &[130, 180], 4)
        .unwrap()
        .arith_scalar(3.0, ArithOp::Mul, dagger::array::binary::Side::Right)
        .compute(&ctx)
        .unwrap();
    let s = DArray::<f64>::sprand_seeded(&Blocks::from([40, 40]), &[120, 80], 0.1, 9)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let mut remote = 0;
    let dense = x
        .chunks()
        .unwrap()
        .iter()
        .map(|c| (c.owner(), c.size_bytes(), c.fetch()));
    let sparse = s
        .chunks()
        .unwrap()
        .iter()
        .map(|c| (c.owner(), c.size_bytes(), c.fetch()));
    let sizes = dense
        .map(|(w, size, v)| (w, size, v.unwrap().unwrap().nbytes()))
        .chain(sparse.map(|(w, size, v)| (w, size, v.unwrap().unwrap().nbytes())));
    for (owner, size, nbytes) in sizes {
        assert_eq!(size, nbytes as u64, "a block held by {owner:?}");
        assert!(nbytes > 0);
        remote += usize::from(owner != WorkerId(1));
    }
    assert!(remote > 0, "some blocks live on the workers");
}

/// A third-party element type: ordered, serde, with its sort stages registered here.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct Key(u32, String);
dagger::array::sortable!(key: Key);

/// Records which task names were sent to a worker process.
#[derive(Default)]
struct Dispatched(std::sync::Mutex<Vec<String>>);

impl dagger::observe::Observer for Dispatched {
    fn on_event(&self, e: &dagger::observe::TaskEvent) {
        if let dagger::observe::TaskEventKind::Dispatched { .. } = e.kind {
            if let Some(n) = e.name {
                self.0.lock().unwrap().push(n.to_string());
            }
        }
    }
}

/// A 2-worker cluster (one thread each) whose dispatched task names are recorded.
fn observed_cluster() -> (Context, std::sync::Arc<Dispatched>) {
    let seen = std::sync::Arc::new(Dispatched::default());
    let ctx = cluster_builder(2)
        .threads(1)
        .worker_threads(1)
        .observer(seen.clone())
        .build();
    (ctx, seen)
}

#[test]
fn generic_sort_runs_its_stages_on_the_workers() {
    use dagger::array::sort::{DVec, SortOptions};
    let (ctx, seen) = observed_cluster();
    // Strings with duplicates, already sorted, reversed; a key type of this crate, stable
    // and descending.
    let words: Vec<String> = (0..500u32)
        .map(|i| format!("w{}", (i * 7919) % 97))
        .collect();
    for input in [
        words.clone(),
        {
            let mut s = words.clone();
            s.sort();
            s
        },
        {
            let mut s = words.clone();
            s.sort();
            s.reverse();
            s
        },
    ] {
        let mut want = input.clone();
        want.sort();
        let got = DVec::from_vec(input, 5)
            .sort_registered(SortOptions::default())
            .collect(&ctx)
            .unwrap();
        assert_eq!(got, want);
    }
    let keys: Vec<Key> = (0..300u32).map(|i| Key(i % 11, format!("k{i}"))).collect();
    let mut want = keys.clone();
    want.sort_by(|a, b| b.cmp(a));
    let got = DVec::from_vec(keys, 4)
        .sort_registered(SortOptions {
            rev: true,
            stable: true,
        })
        .collect(&ctx)
        .unwrap();
    assert_eq!(got, want);
    // The parts were made in the driver (`from_vec`), so their samples are taken there,
    // beside them; the cutting, picking and merging ran on the workers.
    let names = seen.0.lock().unwrap().clone();
    for stage in ["sort partition", "sort pick", "sort merge"] {
        assert!(
            names.iter().any(|n| n == stage),
            "no {stage} task ran on a worker: {names:?}"
        );
    }
}

dagger::array::element_fn! {
    /// A user's element function, registered for the workers.
    fn cube_minus_one(x: f64) -> f64 { x * x * x - 1.0 }
}

#[test]
fn registered_element_functions_run_on_the_workers() {
    let (ctx, seen) = observed_cluster();
    let x = DArray::<f64>::randn_seeded(&Blocks::from([40, 40]), &[120, 80], 9)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let y = x.map_registered(CUBE_MINUS_ONE).compute(&ctx).unwrap();
    // Each block is mapped where its input block lives, and that is a worker for some.
    let owners = |a: &DArray<f64>| -> Vec<WorkerId> {
        a.chunks().unwrap().iter().map(|c| c.owner()).collect()
    };
    assert_eq!(owners(&y), owners(&x));
    assert!(
        owners(&y).iter().any(|w| *w != WorkerId(1)),
        "{:?}",
        owners(&y)
    );
    let names = seen.0.lock().unwrap().clone();
    assert!(
        names.iter().any(|n| n.contains("cube_minus_one")),
        "dispatched {names:?}"
    );
    let want = x.collect_dense(&ctx).unwrap().mapv(cube_minus_one);
    assert_eq!(y.collect_dense(&ctx).unwrap(), want);
}
