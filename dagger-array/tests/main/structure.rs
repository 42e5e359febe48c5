//! Behaviours G48, G50–G55 (the parts added with re-blocking, structure ops and assignments)
//! and proptests of those operations against plain ndarray on random shapes and blockings.

use dagger_array::assign::Assignment;
use dagger_array::create::rand_block;
use dagger_array::index::Index;
use dagger_array::testing;
use dagger_array::{ArithOp, Block, BlockGrid, Blocks, DArray};
use dagger_core::{Error, ProcessorId, WorkerId};
use dagger_sched::Context;
use ndarray::{concatenate, ArrayD, Axis, Dimension, IxDyn};
use proptest::prelude::*;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

fn d(a: &ArrayD<f64>, b: &[usize]) -> DArray<f64> {
    DArray::from_array(a.clone(), &Blocks::new(b).unwrap()).unwrap()
}

#[test]
fn g48_redistribute_a_darray() {
    testing::g48_redistribute_a_darray(ctx());
}

#[test]
fn g50_assignments() {
    let ctx = ctx();
    let a = Block::Dense(rand_block::<f64>(&[7, 11], 3, 0));
    let t = |i| ProcessorId::thread(WorkerId::DRIVER, i);
    let explicit = ndarray::arr2(&[[t(2), t(1)], [t(1), t(2)]]).into_dyn();
    let x = DArray::distribute_on(
        ctx,
        a.clone(),
        &Blocks::from([2, 2]),
        &Assignment::Processors(explicit.clone()),
    )
    .unwrap()
    .compute(ctx)
    .unwrap();
    assert_eq!(x.collect(ctx).unwrap(), a);
    let g = x.grid().clone();
    for (c, ch) in g.iter_coords().zip(x.chunks().unwrap()) {
        assert_eq!(
            ch.processor(),
            explicit[[c[0] % 2, c[1] % 2]],
            "block {c:?}"
        );
    }
    // Symbolic assignments over a 4×6 block grid on 2 threads.
    let cases = [(":blockrow", [1, 1, 2, 2]), (":cyclicrow", [1, 2, 1, 2])];
    for (sym, rows) in cases {
        let asg: Assignment = sym.parse().unwrap();
        let x = DArray::distribute_on(ctx, a.clone(), &Blocks::from([2, 2]), &asg)
            .unwrap()
            .compute(ctx)
            .unwrap();
        for (c, ch) in g.iter_coords().zip(x.chunks().unwrap()) {
            assert_eq!(ch.processor().index, rows[c[0]], "{sym} {c:?}");
        }
    }
    let cols: [(&str, [u32; 6]); 2] = [
        (":blockcol", [1, 1, 1, 2, 2, 2]),
        (":cycliccol", [1, 2, 1, 2, 1, 2]),
    ];
    for (sym, want) in cols {
        let x = DArray::distribute_on(ctx, a.clone(), &Blocks::from([2, 2]), &sym.parse().unwrap())
            .unwrap()
            .compute(ctx)
            .unwrap();
        for (c, ch) in g.iter_coords().zip(x.chunks().unwrap()) {
            assert_eq!(ch.processor().index, want[c[1]], "{sym} {c:?}");
        }
    }
    assert!(
        matches!("blockdiag".parse::<Assignment>(), Err(Error::Argument(m)) if m.contains("blockdiag"))
    );
    let missing = ndarray::arr2(&[[t(7)]]).into_dyn();
    assert!(DArray::distribute_on(
        ctx,
        a.clone(),
        &Blocks::from([2, 2]),
        &Assignment::Processors(missing)
    )
    .is_err());
    let workers = ndarray::arr2(&[[1u32, 9]]).into_dyn();
    assert!(
        DArray::distribute_on(ctx, a, &Blocks::from([2, 2]), &Assignment::Workers(workers))
            .is_err()
    );
}

#[test]
fn g51_in_place_updates() {
    testing::g51_in_place_updates(ctx());
}

#[test]
fn g52_extrema_var_std_mapreduce() {
    testing::g52_extrema_var_std_mapreduce(ctx());
}

#[test]
fn g53_setindex_and_region_assignment() {
    testing::g53_setindex_and_region_assignment(ctx());
}

#[test]
fn g54_copyto() {
    testing::g54_copyto(ctx());
}

#[test]
fn g55_cat_and_permutedims() {
    testing::g55_cat_and_permutedims(ctx());
}

#[test]
fn comparisons_and_bit_ops() {
    testing::comparisons_and_bit_ops(ctx());
}

fn blocking(shape: &[usize]) -> impl Strategy<Value = Vec<usize>> + use<> {
    shape.iter().map(|&n| 1..=n.max(1)).collect::<Vec<_>>()
}

fn case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<usize>, u64)> {
    proptest::collection::vec(1usize..9, 1..4)
        .prop_flat_map(|s| (Just(s.clone()), blocking(&s), blocking(&s), any::<u64>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn elementwise_across_blockings((shape, b1, b2, seed) in case()) {
        let a = rand_block::<f64>(&shape, seed, 0);
        let b = rand_block::<f64>(&shape, seed, 1);
        let (x, y) = (d(&a, &b1), d(&b, &b2));
        for op in [ArithOp::Add, ArithOp::Mul, ArithOp::Sub] {
            let got = x.arith(&y, op).unwrap().collect_dense(ctx()).unwrap();
            let want = ndarray::Zip::from(&a).and(&b).map_collect(|&p, &q| f64::arith_ref(op, p, q));
            prop_assert_eq!(got, want);
        }
        let r = y.reblock(x.grid()).unwrap();
        prop_assert_eq!(r.grid(), x.grid());
        prop_assert_eq!(r.collect_dense(ctx()).unwrap(), b);
    }

    #[test]
    fn setindex_and_permutedims((shape, b1, _b2, seed) in case(), v in -5.0f64..5.0) {
        let a = rand_block::<f64>(&shape, seed, 0);
        let x = d(&a, &b1);
        let idx: Vec<Index> = shape.iter().map(|&n| Index::Range(n / 3..n)).collect();
        let got = x.setindex(v, &idx).unwrap().collect_dense(ctx()).unwrap();
        let mut want = a.clone();
        for (i, e) in want.indexed_iter_mut() {
            if i.slice().iter().zip(&shape).all(|(&k, &n)| k >= n / 3) {
                *e = v;
            }
        }
        prop_assert_eq!(got, want);
        let mut p: Vec<usize> = (0..shape.len()).collect();
        p.rotate_left(1);
        let got = x.permutedims(&p).unwrap().collect_dense(ctx()).unwrap();
        prop_assert_eq!(got, a.clone().permuted_axes(IxDyn(&p)));
    }

    #[test]
    fn cat_matches_concatenate(m in 1usize..8, n1 in 1usize..8, n2 in 1usize..8, br in 1usize..5, bc in 1usize..5, seed: u64) {
        let a = rand_block::<f64>(&[m, n1], seed, 0);
        let b = rand_block::<f64>(&[m, n2], seed, 1);
        let got = DArray::hcat(&[&d(&a, &[br, bc]), &d(&b, &[br, bc + 1])]).unwrap();
        prop_assert_eq!(got.collect_dense(ctx()).unwrap(), concatenate(Axis(1), &[a.view(), b.view()]).unwrap());
        let grid = BlockGrid::new(&[m, n1], &Blocks::new([br, bc]).unwrap(), 1).unwrap();
        let x = d(&a, &[br, bc]);
        prop_assert_eq!(x.grid(), &grid);
    }
}

/// `f64::arith` through the trait, so the proptest reads like the operator table.
trait ArithRef {
    fn arith_ref(op: ArithOp, a: f64, b: f64) -> f64;
}
impl ArithRef for f64 {
    fn arith_ref(op: ArithOp, a: f64, b: f64) -> f64 {
        <f64 as dagger_array::Scalar>::arith(op, a, b).unwrap_or(f64::NAN)
    }
}
