//! Issue 11: fusion is visible in the task count and in the task-graph picture.
//! `sum(x.^2 .+ 1)` on a small blocked array, recorded with fusion on and off: fused it is
//! one task per block plus the reduction tree; unfused, every operation is its own task per
//! block. Task names are the kernel kinds (few and stable), never block indices or shapes.

use dagger::array::binary::Side;
use dagger::array::{ArithOp, ArrayOptions, Blocks, DArray};
use dagger::profile::{TaskGraph, Timespan};
use dagger::{debug_run, Context};
use std::collections::BTreeMap;

/// Block grid of 2×3 blocks.
const SHAPE: [usize; 2] = [8, 12];
const BLOCK: [usize; 2] = [4, 4];
const BLOCKS: usize = 6;

fn record(ctx: &Context, fuse: bool) -> (Vec<Timespan>, f64) {
    let x = DArray::<f64>::randn_seeded(&Blocks::new(BLOCK).unwrap(), &SHAPE, 7).unwrap();
    let y =
        x.arith_scalar(2.0, ArithOp::Pow, Side::Right)
            .arith_scalar(1.0, ArithOp::Add, Side::Right);
    let (events, r) = debug_run(ctx, || y.sum().collect_with(ctx, &ArrayOptions { fuse }));
    (events, r.unwrap())
}

/// Compute tasks per name.
fn by_name(events: &[Timespan]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in events.iter().filter(|e| e.category == "compute") {
        let name = e.name.as_deref().unwrap_or("<unnamed>").to_string();
        *out.entry(name).or_default() += 1;
    }
    out
}

// One test: recording is process-wide, so the two runs must not overlap another test's.
#[test]
fn fused_and_unfused_differ_in_tasks_and_names_not_in_result() {
    if crate::alone::rerun(
        module_path!(),
        "fused_and_unfused_differ_in_tasks_and_names_not_in_result",
    ) {
        return;
    }
    let ctx = Context::builder().threads(2).build();
    let (fused, a) = record(&ctx, true);
    let (unfused, b) = record(&ctx, false);
    assert!((a - b).abs() <= 1e-9 * a.abs(), "{a} vs {b}");
    assert!(
        a > SHAPE.iter().product::<usize>() as f64,
        "every term is at least 1"
    );

    let f = by_name(&fused);
    let u = by_name(&unfused);
    let total = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    // Fused: create + one fused partial per block, a pairwise tree of BLOCKS-1 combines, the
    // finishing step.
    let want_fused: BTreeMap<String, usize> = [
        ("randn", BLOCKS),
        ("fused(^2 +1 sum)", BLOCKS),
        ("combine", BLOCKS - 1),
        ("finish", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(f, want_fused);
    // Unfused: the same plus one task per operation per block.
    let want_unfused: BTreeMap<String, usize> = [
        ("randn", BLOCKS),
        ("^", BLOCKS),
        ("+", BLOCKS),
        ("sum partial", BLOCKS),
        ("combine", BLOCKS - 1),
        ("finish", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(u, want_unfused);
    assert_eq!(total(&f), 3 * BLOCKS);
    assert!(total(&u) > total(&f));
    assert_eq!(
        total(&u) - total(&f),
        2 * BLOCKS,
        "the two per-op tasks per block"
    );

    // The pictures' labels: "fused" only when fusion is on.
    let gf = TaskGraph::from_timespans(&fused, Vec::new());
    let gu = TaskGraph::from_timespans(&unfused, Vec::new());
    assert_eq!(gf.nodes.len(), total(&f));
    assert_eq!(gu.nodes.len(), total(&u));
    assert!(gf.nodes.iter().any(|n| n.label.contains("fused")));
    assert!(!gu.nodes.iter().any(|n| n.label.contains("fused")));
    // Few, stable names: no label carries a block index or shape.
    for n in gf.nodes.iter().chain(&gu.nodes) {
        assert!(!n.label.contains('['), "{}", n.label);
    }
    assert!(f.len() <= 4 && u.len() <= 6);
}
