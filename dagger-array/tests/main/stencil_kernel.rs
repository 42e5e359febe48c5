//! The stencil block kernel (`halo_apply::run_stencil`, the halo built slab by slab) against
//! the glued halo array and `apply_taps`, bit for bit: with whole source blocks (one
//! process) and with the strips cut where their blocks live (a cluster), 2-D and 3-D,
//! ragged blockings, radius 1 to 3, every boundary; and bad kernel inputs are typed errors.

use dagger_array::create::rand_block;
use dagger_array::dist::distribute;
use dagger_array::halo::{apply_taps, build_halo, Boundary, HaloPlan, StencilKernel, Taps};
use dagger_array::halo_apply::run_stencil;
use dagger_array::index::IndexPlan;
use dagger_array::{Block, BlockGrid, Blocks};
use dagger_core::Error;
use proptest::prelude::*;

fn boundary(k: usize) -> Boundary<f64> {
    match k % 5 {
        0 => Boundary::Wrap,
        1 => Boundary::Clamp,
        2 => Boundary::Constant(-1.5),
        3 => Boundary::Reflect,
        _ => Boundary::Mirror,
    }
}

/// Every offset of the `2r+1` box, distinct weights.
fn taps(nd: usize, r: usize) -> Taps<f64> {
    let mut t = Taps::<f64>::box_sum(nd, r);
    for (k, (_, w)) in t.taps.iter_mut().enumerate() {
        *w = 0.75 + k as f64 * 0.0625;
    }
    t
}

fn check(shape: &[usize], blocks: &[usize], r: usize, b: Boundary<f64>, seed: u64) {
    let whole = Block::Dense(rand_block::<f64>(shape, seed, 0));
    let grid = BlockGrid::new(shape, &Blocks::new(blocks).unwrap(), 1).unwrap();
    let parts = distribute(&whole, &grid).unwrap();
    let taps = taps(shape.len(), r);
    let radius = vec![r; shape.len()];
    let pad = match b {
        Boundary::Constant(v) => Some(v),
        _ => None,
    };
    for c in grid.iter_coords() {
        let halo = HaloPlan::new(&grid, &c, &radius, &b).unwrap();
        let n = halo.plan.pieces().len();
        let srcs: Vec<&Block<f64>> = halo.plan.pieces().iter().map(|p| &parts[p.block]).collect();
        let glued = build_halo(&halo, &srcs, &vec![false; n], pad).unwrap();
        let want = apply_taps(&glued, &radius, &taps).unwrap();
        let k = StencilKernel {
            halo: halo.clone(),
            gathered: vec![false; n],
            pad,
            taps: taps.clone(),
        };
        let got = run_stencil(&k, &srcs).unwrap().to_dense();
        assert_eq!(got, want, "{shape:?} {blocks:?} {c:?} r={r} {b:?}");
        // The strips cut where their blocks live.
        let cut: Vec<Block<f64>> = halo
            .plan
            .pieces()
            .iter()
            .map(|p| IndexPlan::gather(p, &parts[p.block]).unwrap())
            .collect();
        let cut_refs: Vec<&Block<f64>> = cut.iter().collect();
        let k = StencilKernel {
            gathered: vec![true; n],
            ..k
        };
        let got = run_stencil(&k, &cut_refs).unwrap().to_dense();
        assert_eq!(got, want, "cut: {shape:?} {blocks:?} {c:?} r={r} {b:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn the_slab_kernel_equals_the_glued_halo_2d(
        (n, m) in (1usize..12, 1usize..12),
        (b0, b1) in (1usize..6, 1usize..6),
        r in 1usize..4,
        bk in 0usize..5,
        seed: u64,
    ) {
        check(&[n, m], &[b0, b1], r, boundary(bk), seed);
    }

    #[test]
    fn the_slab_kernel_equals_the_glued_halo_3d(
        shape in proptest::collection::vec(1usize..6, 3),
        blocks in proptest::collection::vec(1usize..4, 3),
        r in 1usize..3,
        bk in 0usize..5,
        seed: u64,
    ) {
        check(&shape, &blocks, r, boundary(bk), seed);
    }
}

#[test]
fn bad_kernel_inputs_are_typed_errors() {
    let grid = BlockGrid::new(&[6, 6], &Blocks::new([3, 3]).unwrap(), 1).unwrap();
    let whole = Block::Dense(rand_block::<f64>(&[6, 6], 1, 0));
    let parts = distribute(&whole, &grid).unwrap();
    let halo = HaloPlan::new(&grid, &[0, 0], &[1, 1], &Boundary::<f64>::Wrap).unwrap();
    let n = halo.plan.pieces().len();
    let k = StencilKernel {
        halo: halo.clone(),
        gathered: vec![false; n],
        pad: None,
        taps: Taps::heat(2, 0.25),
    };
    // Too few inputs.
    let one = [&parts[0]];
    assert!(matches!(
        run_stencil(&k, &one),
        Err(Error::DimensionMismatch(_))
    ));
    // A "cut" strip that is a whole block: the wrong shape.
    let srcs: Vec<&Block<f64>> = halo.plan.pieces().iter().map(|p| &parts[p.block]).collect();
    let cut = StencilKernel {
        gathered: vec![true; n],
        ..k.clone()
    };
    assert!(matches!(
        run_stencil(&cut, &srcs),
        Err(Error::DimensionMismatch(_))
    ));
    // Taps wider than the halo.
    let wide = StencilKernel {
        taps: Taps::box_sum(2, 2),
        ..k.clone()
    };
    assert!(matches!(run_stencil(&wide, &srcs), Err(Error::Argument(_))));
    // Offsets of the wrong length.
    let bad = StencilKernel {
        taps: Taps::new(vec![(vec![0], 1.0)]),
        ..k
    };
    assert!(matches!(
        run_stencil(&bad, &srcs),
        Err(Error::DimensionMismatch(_))
    ));
}
