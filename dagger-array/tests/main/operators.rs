//! `std::ops` on DArray: random expressions of `+ - * / neg powi` over 1–4 arrays with their
//! own blockings against the same expression on ndarray; an operator graph spawns exactly
//! the tasks of the explicit calls; shape errors surface as `DimensionMismatch`.

use dagger_array::binary::Side;
use dagger_array::create::rand_block;
use dagger_array::{ArithOp, Blocks, DArray};
use dagger_core::Error;
use dagger_sched::Context;
use ndarray::ArrayD;
use proptest::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use crate::fusion_sort::counting_ctx;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

#[derive(Clone, Debug)]
enum Expr {
    Leaf(usize),
    Bin(Box<Expr>, u8, Box<Expr>),
    Scalar(Box<Expr>, u8, i8, bool),
    Neg(Box<Expr>),
    Powi(Box<Expr>, i32),
}

fn expr(leaves: usize) -> impl Strategy<Value = Expr> {
    let leaf = (0..leaves).prop_map(Expr::Leaf);
    leaf.prop_recursive(4, 24, 2, |e| {
        prop_oneof![
            (e.clone(), 0u8..4, e.clone()).prop_map(|(a, op, b)| Expr::Bin(
                Box::new(a),
                op,
                Box::new(b)
            )),
            (e.clone(), 0u8..4, 1i8..5, any::<bool>()).prop_map(|(a, op, s, left)| Expr::Scalar(
                Box::new(a),
                op,
                s,
                left
            )),
            e.clone().prop_map(|a| Expr::Neg(Box::new(a))),
            (e, 0i32..3).prop_map(|(a, n)| Expr::Powi(Box::new(a), n)),
        ]
    })
}

fn eval_d(e: &Expr, xs: &[DArray<f64>]) -> DArray<f64> {
    match e {
        Expr::Leaf(i) => xs[*i].clone(),
        Expr::Bin(a, op, b) => {
            let (a, b) = (eval_d(a, xs), eval_d(b, xs));
            match op {
                0 => &a + &b,
                1 => a - &b,
                2 => &a * b,
                _ => a / b,
            }
        }
        Expr::Scalar(a, op, s, left) => {
            let (a, s) = (eval_d(a, xs), f64::from(*s));
            match (op, left) {
                (0, false) => &a + s,
                (0, true) => s + &a,
                (1, false) => a - s,
                (1, true) => s - a,
                (2, false) => a * s,
                (2, true) => s * &a,
                (_, false) => &a / s,
                (_, true) => s / a,
            }
        }
        Expr::Neg(a) => -eval_d(a, xs),
        Expr::Powi(a, n) => eval_d(a, xs).powi(*n),
    }
}

fn eval_a(e: &Expr, xs: &[ArrayD<f64>]) -> ArrayD<f64> {
    match e {
        Expr::Leaf(i) => xs[*i].clone(),
        Expr::Bin(a, op, b) => {
            let (a, b) = (eval_a(a, xs), eval_a(b, xs));
            match op {
                0 => a + b,
                1 => a - b,
                2 => a * b,
                _ => a / b,
            }
        }
        Expr::Scalar(a, op, s, left) => {
            let (a, s) = (eval_a(a, xs), f64::from(*s));
            match (op, left) {
                (0, _) => a + s,
                (1, false) => a - s,
                (1, true) => a.mapv(|v| s - v),
                (2, _) => a * s,
                (_, false) => a / s,
                (_, true) => a.mapv(|v| s / v),
            }
        }
        Expr::Neg(a) => -eval_a(a, xs),
        Expr::Powi(a, n) => eval_a(a, xs).mapv(|v| v.powi(*n)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random operator expressions over 1–4 arrays with random blockings equal ndarray's.
    #[test]
    fn operator_expressions_match_ndarray(
        (n, e) in (1usize..=4).prop_flat_map(|n| (Just(n), expr(n))),
        rows in 1usize..9,
        cols in 1usize..9,
        blocks in proptest::collection::vec((1usize..5, 1usize..5), 4),
        seed in 0u64..1000,
    ) {
        let plain: Vec<ArrayD<f64>> = (0..n)
            .map(|i| rand_block::<f64>(&[rows, cols], seed + i as u64, 0).mapv(|v| v + 0.5))
            .collect();
        let arrays: Vec<DArray<f64>> = plain
            .iter()
            .zip(&blocks)
            .map(|(a, &(r, c))| DArray::from_array(a.clone(), &Blocks::new([r, c]).unwrap()).unwrap())
            .collect();
        let got = eval_d(&e, &arrays).collect_dense(ctx()).unwrap();
        let want = eval_a(&e, &plain);
        prop_assert_eq!(got.shape(), want.shape());
        for (g, w) in got.iter().zip(&want) {
            let same = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-9 * w.abs().max(1.0);
            prop_assert!(same, "{} vs {} for {:?}", g, w, e);
        }
    }
}

/// `(&a * &a + 1.0).sum()` spawns the tasks of the explicit `arith`/`arith_scalar` chain
/// (fused): the operators add nothing to the graph.
#[test]
fn operators_build_the_graph_of_the_explicit_calls() {
    let (count, ctx) = counting_ctx();
    let a = DArray::<f64>::fill(2.0, &Blocks::from([5, 5]), &[10, 15]).unwrap();
    let tasks = |x: &DArray<f64>| {
        count.0.store(0, Ordering::Relaxed);
        assert_eq!(x.sum().collect(&ctx).unwrap(), 5.0 * 150.0);
        count.0.load(Ordering::Relaxed)
    };
    let explicit = a
        .arith(&a, ArithOp::Mul)
        .unwrap()
        .arith_scalar(1.0, ArithOp::Add, Side::Right);
    let with_ops = &a * &a + 1.0;
    assert_eq!(tasks(&with_ops), tasks(&explicit));
    // 6 creations, one fused task per block, a partial tree and the finish: nothing more.
    assert!(tasks(&with_ops) <= 6 + 6 + 6, "{}", tasks(&with_ops));
}

#[test]
fn operator_shape_errors_are_typed_when_computed() {
    let a = DArray::<f64>::ones(&Blocks::from([2, 2]), &[4, 4]).unwrap();
    let b = DArray::<f64>::ones(&Blocks::from([2, 2]), &[4, 5]).unwrap();
    let sum = &a + &b;
    assert!(matches!(
        sum.collect(ctx()),
        Err(Error::DimensionMismatch(_))
    ));
    let mut c = a.clone();
    c -= &b;
    assert!(matches!(
        c.sum().collect(ctx()),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(matches!(a.dot(&b.t()), Err(Error::DimensionMismatch(_))));
    // t() of a matrix, a vector and a 3-d array, against ndarray's reversed axes.
    let m = rand_block::<f64>(&[3, 5], 1, 0);
    let dm = DArray::from_array(m.clone(), &Blocks::from([2, 2])).unwrap();
    assert_eq!(dm.t().collect_dense(ctx()).unwrap(), m.t().to_owned());
    let v = rand_block::<f64>(&[7], 2, 0);
    let dv = DArray::from_array(v.clone(), &Blocks::from([3])).unwrap();
    assert_eq!(dv.t().collect_dense(ctx()).unwrap(), v);
    let cube = rand_block::<f64>(&[2, 3, 4], 3, 0);
    let dc = DArray::from_array(cube.clone(), &Blocks::from([1, 2, 3])).unwrap();
    assert_eq!(dc.t().collect_dense(ctx()).unwrap(), cube.t().to_owned());
    // dot re-blocks B when its row split differs from A's column split.
    let p = DArray::from_array(m.clone(), &Blocks::from([2, 3])).unwrap();
    let q0 = rand_block::<f64>(&[5, 2], 4, 0);
    let q = DArray::from_array(q0.clone(), &Blocks::from([2, 2])).unwrap();
    let want = m
        .clone()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .dot(&q0.into_dimensionality::<ndarray::Ix2>().unwrap());
    let got = p.dot(&q).unwrap().collect_dense(ctx()).unwrap();
    for (g, w) in got.iter().zip(want.iter()) {
        assert!((g - w).abs() < 1e-12);
    }
}

/// One `s!` element within a dimension of `n` (ndarray panics out of bounds, so stay in).
fn slice_elem(n: usize) -> impl Strategy<Value = ndarray::SliceInfoElem> {
    let n = n as isize;
    prop_oneof![
        (0..n).prop_map(ndarray::SliceInfoElem::Index),
        (
            0..=n,
            0..=n,
            prop_oneof![1isize..4, -3isize..0],
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(move |(a, b, step, neg, open)| {
                let (lo, hi) = (a.min(b), a.max(b));
                let start = if neg && lo < n { lo - n } else { lo };
                ndarray::SliceInfoElem::Slice {
                    start,
                    end: (!open).then_some(hi),
                    step,
                }
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `a.slice(s![..])` and `a.select(..)` equal ndarray's on the same data, for every
    /// blocking, step (negative ones too) and mix of ranges and integers.
    #[test]
    fn slices_match_ndarray(
        (rows, cols, e0, e1) in (1usize..9, 1usize..9).prop_flat_map(|(r, c)| (Just(r), Just(c), slice_elem(r), slice_elem(c))),
        (br, bc) in (1usize..5, 1usize..5),
        pick in proptest::collection::vec(0usize..8, 0..5),
    ) {
        let a = rand_block::<f64>(&[rows, cols], 7, 0).into_dimensionality::<ndarray::Ix2>().unwrap();
        let d = DArray::from_ndarray(a.clone(), &Blocks::new([br, bc]).unwrap()).unwrap();
        let info = [e0, e1];
        let got = d.slice(info).unwrap().collect(ctx()).unwrap().to_dense();
        let want = a.slice(ndarray::SliceInfo::<_, ndarray::Ix2, ndarray::IxDyn>::try_from(info).unwrap()).to_owned();
        prop_assert_eq!(got, want);
        let pick: Vec<usize> = pick.into_iter().filter(|&i| i < cols).collect();
        let got = d.select(ndarray::Axis(1), &pick).unwrap().collect(ctx()).unwrap().to_dense();
        prop_assert_eq!(got, a.select(ndarray::Axis(1), &pick).into_dyn());
    }
}

#[test]
fn slice_errors_are_typed() {
    let d = DArray::<f64>::ones(&Blocks::from([2, 2]), &[4, 4]).unwrap();
    assert!(matches!(
        d.slice(ndarray::s![5, ..]),
        Err(Error::Argument(_))
    ));
    assert!(matches!(
        d.slice(ndarray::s![.., .., 1]),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(matches!(
        d.select(ndarray::Axis(2), &[0]),
        Err(Error::Argument(_))
    ));
    assert!(matches!(
        d.collect_ndarray::<ndarray::Ix3>(ctx()),
        Err(Error::DimensionMismatch(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `sum_axis` and `mean_axis` equal ndarray's (the axis dropped) for 1–3-d arrays and
    /// any blocking; integer arrays sum exactly.
    #[test]
    fn axis_reductions_match_ndarray(
        (shape, block, axis) in proptest::collection::vec(1usize..7, 1..4).prop_flat_map(|s| {
            let nd = s.len();
            (Just(s), proptest::collection::vec(1usize..4, nd), 0..nd)
        }),
    ) {
        let a = rand_block::<f64>(&shape, 11, 0);
        let d = DArray::from_array(a.clone(), &Blocks::new(block.clone()).unwrap()).unwrap();
        let ax = ndarray::Axis(axis);
        let got = d.sum_axis(ax).unwrap().collect_dense(ctx()).unwrap();
        let want = a.sum_axis(ax);
        prop_assert_eq!(got.shape(), want.shape());
        prop_assert!(got.iter().zip(&want).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs())));
        let got = d.mean_axis(ax).unwrap().collect_dense(ctx()).unwrap();
        let want = a.mean_axis(ax).unwrap();
        prop_assert!(got.iter().zip(&want).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + y.abs())));
        let ints = a.mapv(|v| (v * 100.0) as i64);
        let di = DArray::from_array(ints.clone(), &Blocks::new(block).unwrap()).unwrap();
        prop_assert_eq!(di.sum_axis(ax).unwrap().collect_dense(ctx()).unwrap(), ints.sum_axis(ax));
    }
}

#[test]
fn axis_reduction_errors_are_typed() {
    let d = DArray::<f64>::ones(&Blocks::from([2, 2]), &[4, 4]).unwrap();
    assert!(matches!(
        d.sum_axis(ndarray::Axis(2)),
        Err(Error::Argument(_))
    ));
    assert!(
        matches!(d.mean_axis(ndarray::Axis(5)), Err(Error::Argument(m)) if m.contains("mean_axis(5)"))
    );
}
