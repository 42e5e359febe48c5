//! Stencils on DArrays against a plain loop over the whole ndarray: radius 1 and 2 under
//! every boundary, 1-, 2- and 3-D, ragged blockings, halos wider than a block; the
//! reference's behaviour cases (G57); statements in order; a 100-step heat equation.

use dagger_array::create::rand_block;
use dagger_array::halo::{Boundary, Taps};
use dagger_array::stencil::{run_statements, Statement};
use dagger_array::{Blocks, DArray};
use dagger_core::Error;
use dagger_sched::Context;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

/// Index `i` of a dimension of length `n` under `b`, by walking: `None` is the pad value.
fn fold(mut i: isize, n: isize, b: &Boundary<f64>) -> Option<usize> {
    loop {
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        i = match b {
            Boundary::Constant(_) => return None,
            Boundary::Wrap => i + if i < 0 { n } else { -n },
            Boundary::Clamp => i.clamp(0, n - 1),
            Boundary::Reflect => {
                if i < 0 {
                    -1 - i
                } else {
                    2 * n - 1 - i
                }
            }
            Boundary::Mirror if n == 1 => 0,
            Boundary::Mirror => {
                if i < 0 {
                    -i
                } else {
                    2 * n - 2 - i
                }
            }
        };
    }
}

/// The plain reference: `B[i] = Σ w · A[fold(i + off)]`, element by element.
fn reference(a: &ArrayD<f64>, taps: &Taps<f64>, b: &Boundary<f64>) -> ArrayD<f64> {
    let mut out = ArrayD::<f64>::zeros(a.raw_dim());
    let shape = a.shape().to_vec();
    for (idx, o) in out.indexed_iter_mut() {
        let mut acc = 0.0;
        for (off, w) in &taps.taps {
            let at: Option<Vec<usize>> = (0..shape.len())
                .map(|d| fold(idx[d] as isize + off[d], shape[d] as isize, b))
                .collect();
            acc += w * match (at, b) {
                (Some(at), _) => a[IxDyn(&at)],
                (None, Boundary::Constant(v)) => *v,
                (None, _) => unreachable!("only constant boundaries pad"),
            };
        }
        *o = acc;
    }
    out
}

/// Taps of every offset in the `2r+1` box with distinct weights (so a misplaced tap shows).
fn weighted_box(nd: usize, r: usize) -> Taps<f64> {
    let mut t = Taps::<f64>::box_sum(nd, r);
    for (k, (_, w)) in t.taps.iter_mut().enumerate() {
        *w = 1.0 + k as f64 * 0.125;
    }
    t
}

fn boundaries() -> Vec<Boundary<f64>> {
    vec![
        Boundary::Wrap,
        Boundary::Clamp,
        Boundary::Constant(-2.5),
        Boundary::Reflect,
        Boundary::Mirror,
    ]
}

fn close(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + y.abs()))
}

fn check(shape: &[usize], blocks: &[usize], r: usize, seed: u64) {
    let a = rand_block::<f64>(shape, seed, 0);
    let x = DArray::from_array(a.clone(), &Blocks::new(blocks).unwrap()).unwrap();
    let taps = weighted_box(shape.len(), r);
    for b in boundaries() {
        let want = reference(&a, &taps, &b);
        let got = x.stencil(&taps, &b).unwrap().collect_dense(ctx()).unwrap();
        assert!(close(&got, &want), "{shape:?} {blocks:?} r={r} {b:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn stencils_1d_match_the_plain_loop(n in 1usize..14, b in 1usize..6, r in 1usize..3, seed: u64) {
        check(&[n], &[b], r, seed);
    }

    #[test]
    fn stencils_2d_match_the_plain_loop(
        (n, m) in (1usize..10, 1usize..10),
        (b0, b1) in (1usize..5, 1usize..5),
        r in 1usize..3,
        seed: u64,
    ) {
        check(&[n, m], &[b0, b1], r, seed);
    }

    #[test]
    fn stencils_3d_match_the_plain_loop(
        shape in proptest::collection::vec(1usize..6, 3),
        blocks in proptest::collection::vec(1usize..4, 3),
        seed: u64,
    ) {
        check(&shape, &blocks, 1, seed);
    }

    #[test]
    fn the_closure_form_matches_the_taps(
        (n, m) in (1usize..8, 1usize..8),
        (b0, b1) in (1usize..4, 1usize..4),
        seed: u64,
    ) {
        let a = rand_block::<f64>(&[n, m], seed, 0);
        let x = DArray::from_array(a.clone(), &Blocks::new([b0, b1]).unwrap()).unwrap();
        for b in boundaries() {
            let want = reference(&a, &Taps::box_sum(2, 1), &b);
            let got = x
                .stencil_map(&[1, 1], &b, |v| v.sum())
                .unwrap()
                .collect_dense(ctx())
                .unwrap();
            prop_assert!(close(&got, &want), "{b:?}");
        }
    }
}

#[test]
fn a_halo_wider_than_the_array_wraps_and_reflects_again() {
    check(&[3], &[2], 7, 1);
    check(&[2, 3], &[1, 2], 4, 2);
}

/// Behaviour G57 (`test/array/stencil.jl`).
#[test]
fn g57_reference_cases() {
    let ctx = ctx();
    let ones = DArray::<f64>::ones(&Blocks::new([2, 2]).unwrap(), &[4, 4]).unwrap();
    let padded = ones
        .stencil(&Taps::box_sum(2, 1), &Boundary::Constant(0.0))
        .unwrap();
    let want = ndarray::arr2(&[
        [4.0, 6.0, 6.0, 4.0],
        [6.0, 9.0, 9.0, 6.0],
        [6.0, 9.0, 9.0, 6.0],
        [4.0, 6.0, 6.0, 4.0],
    ])
    .into_dyn();
    assert_eq!(padded.collect_dense(ctx).unwrap(), want);

    let mut spike = ArrayD::<f64>::zeros(IxDyn(&[4, 4]));
    spike[[0, 0]] = 10.0;
    let x = DArray::from_array(spike, &Blocks::new([2, 2]).unwrap()).unwrap();
    let got = x
        .stencil(&Taps::box_sum(2, 1), &Boundary::Wrap)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    for ((i, j), v) in got
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .indexed_iter()
    {
        let near = |k: usize| k == 0 || k == 1 || k == 3;
        assert_eq!(
            *v,
            if near(i) && near(j) { 10.0 } else { 0.0 },
            "({i}, {j})"
        );
    }

    let v = DArray::from_array(
        ndarray::arr1(&[1.0, 2.0, 3.0, 4.0]).into_dyn(),
        &Blocks::new([2]).unwrap(),
    )
    .unwrap();
    let sum3 = Taps::box_sum(1, 1);
    let sym = v
        .stencil(&sum3, &Boundary::Reflect)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(sym.as_slice().unwrap(), &[4.0, 6.0, 9.0, 11.0]);
    let mirror = v
        .stencil(&sum3, &Boundary::Mirror)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(mirror.as_slice().unwrap(), &[5.0, 6.0, 9.0, 10.0]);

    // Neighbourhood access of the written variable reads a snapshot: all-ones 2×2 → all 9.
    let mut arrays = vec![DArray::<f64>::ones(&Blocks::new([1, 1]).unwrap(), &[2, 2]).unwrap()];
    let st = Statement {
        target: 0,
        source: 0,
        taps: Taps::box_sum(2, 1),
        boundary: Boundary::Wrap,
    };
    run_statements(ctx, &mut arrays, &[st]).unwrap();
    assert!(arrays[0]
        .collect_dense(ctx)
        .unwrap()
        .iter()
        .all(|&v| v == 9.0));
}

#[test]
fn statements_run_in_order_each_over_all_blocks() {
    let ctx = ctx();
    let a = rand_block::<f64>(&[7, 5], 9, 0);
    let part = Blocks::new([3, 2]).unwrap();
    let x = DArray::from_array(a.clone(), &part).unwrap();
    let y = DArray::<f64>::zeros(&Blocks::new([2, 4]).unwrap(), &[7, 5]).unwrap();
    let mut arrays = vec![x, y];
    let heat = Taps::heat(2, 0.1);
    let sum = Taps::box_sum(2, 2);
    let stmts = [
        Statement {
            target: 1,
            source: 0,
            taps: heat.clone(),
            boundary: Boundary::Clamp,
        },
        Statement {
            target: 0,
            source: 1,
            taps: sum.clone(),
            boundary: Boundary::Wrap,
        },
        Statement {
            target: 1,
            source: 1,
            taps: heat.clone(),
            boundary: Boundary::Reflect,
        },
    ];
    run_statements(ctx, &mut arrays, &stmts).unwrap();
    let b1 = reference(&a, &heat, &Boundary::Clamp);
    let a1 = reference(&b1, &sum, &Boundary::Wrap);
    let b2 = reference(&b1, &heat, &Boundary::Reflect);
    assert!(close(&arrays[0].collect_dense(ctx).unwrap(), &a1));
    assert!(close(&arrays[1].collect_dense(ctx).unwrap(), &b2));
    // The target keeps its own blocking.
    assert_eq!(arrays[1].grid().block_shape(&[0, 0]), vec![2, 4]);

    let bad = Statement {
        target: 2,
        source: 0,
        taps: heat,
        boundary: Boundary::Clamp,
    };
    assert!(matches!(
        run_statements(ctx, &mut arrays, &[bad]),
        Err(Error::Argument(_))
    ));
}

#[test]
fn a_hundred_heat_steps_equal_the_plain_loop() {
    let ctx = ctx();
    let (n, m) = (24, 19);
    let mut a = rand_block::<f64>(&[n, m], 5, 0);
    let x = DArray::from_array(a.clone(), &Blocks::new([7, 6]).unwrap()).unwrap();
    let alpha = 0.2;
    let got = x
        .stencil_steps(ctx, 100, &Taps::heat(2, alpha), &Boundary::Clamp)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    // The plain double-buffered loop.
    let mut b = a.clone();
    for _ in 0..100 {
        for i in 0..n {
            for j in 0..m {
                let at = |i: usize, j: usize| a[[i, j]];
                let (up, down) = (at(i.saturating_sub(1), j), at((i + 1).min(n - 1), j));
                let (left, right) = (at(i, j.saturating_sub(1)), at(i, (j + 1).min(m - 1)));
                b[[i, j]] = a[[i, j]] + alpha * (up + down + left + right - 4.0 * a[[i, j]]);
            }
        }
        std::mem::swap(&mut a, &mut b);
    }
    assert!(close(&got, &a));
}

#[test]
fn bad_stencils_are_typed_errors() {
    let x = DArray::<f64>::ones(&Blocks::new([2, 2]).unwrap(), &[4, 4]).unwrap();
    let wrong = Taps::new(vec![(vec![1], 1.0)]);
    assert!(matches!(
        x.stencil(&wrong, &Boundary::Wrap),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(matches!(
        x.stencil_map(&[1], &Boundary::Wrap, |v| v.sum()),
        Err(Error::DimensionMismatch(_))
    ));
    let empty = DArray::<f64>::zeros(&Blocks::new([2, 2]).unwrap(), &[0, 3]).unwrap();
    let e = empty.stencil(&Taps::heat(2, 0.1), &Boundary::Wrap).unwrap();
    assert_eq!(e.collect_dense(ctx()).unwrap().shape(), &[0, 3]);
}
