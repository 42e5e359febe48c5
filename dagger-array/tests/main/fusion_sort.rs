//! Issue 11: the fusion pass (task counts with it on and off; fused and unfused results
//! identical over random expression trees) and distributed sorting (against `slice::sort`).

use dagger_array::binary::Side;
use dagger_array::create::rand_block;
use dagger_array::sort::{DVec, SortOptions};
use dagger_array::{ArithOp, ArrayOptions, Blocks, DArray, Element};
use dagger_sched::{Context, Observer, TaskEvent, TaskEventKind};
use ndarray::{ArrayD, IxDyn, Zip};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Counts the tasks spawned on a context.
#[derive(Default)]
pub(crate) struct Spawned(pub(crate) AtomicUsize);
impl Observer for Spawned {
    fn on_event(&self, e: &TaskEvent) {
        if matches!(e.kind, TaskEventKind::Spawned { .. }) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A 2-thread context and the count of the tasks spawned on it.
pub(crate) fn counting_ctx() -> (Arc<Spawned>, Context) {
    let count = Arc::new(Spawned::default());
    let ctx = Context::builder()
        .threads(2)
        .observer(count.clone())
        .build();
    (count, ctx)
}

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

const ON: ArrayOptions = ArrayOptions { fuse: true };
const OFF: ArrayOptions = ArrayOptions { fuse: false };

#[test]
fn fusion_spawns_one_task_per_block() {
    let (count, ctx) = counting_ctx();
    let x = DArray::<f64>::ones(&Blocks::from([5, 5]), &[10, 10]).unwrap(); // 4 blocks
    let y = x
        .map(|v| v * v)
        .arith_scalar(1.0, ArithOp::Add, Side::Right)
        .map(|v| v * 2.0);
    let tasks = |opts: &ArrayOptions| {
        count.0.store(0, Ordering::Relaxed);
        let s = y.sum().collect_with(&ctx, opts).unwrap();
        assert_eq!(s, 400.0);
        count.0.load(Ordering::Relaxed)
    };
    let (off, on) = (tasks(&OFF), tasks(&ON));
    // 4 creations + 3 × 4 element-wise + 4 partials + 3 tree + 1 finish, versus the three
    // element-wise steps and the partial folded into one task per block.
    assert_eq!(off, 4 + 12 + 4 + 3 + 1);
    assert_eq!(on, 4 + 4 + 3 + 1);
    // Materializing the chain: one task per block instead of three.
    count.0.store(0, Ordering::Relaxed);
    let a = y.compute_with(&ctx, &ON).unwrap();
    assert_eq!(count.0.load(Ordering::Relaxed), 4 + 4);
    count.0.store(0, Ordering::Relaxed);
    let b = y.compute_with(&ctx, &OFF).unwrap();
    assert_eq!(count.0.load(Ordering::Relaxed), 4 + 12);
    assert_eq!(
        a.collect_dense(&ctx).unwrap(),
        b.collect_dense(&ctx).unwrap()
    );
    // A transpose feeds the fused kernel: x + x' is one task per block.
    let z = x.arith(&x.transpose().unwrap(), ArithOp::Add).unwrap();
    count.0.store(0, Ordering::Relaxed);
    z.compute_with(&ctx, &ON).unwrap();
    assert_eq!(count.0.load(Ordering::Relaxed), 4 + 4);
}

/// A random element-wise expression over two square leaf arrays.
#[derive(Clone, Debug)]
enum Expr {
    Leaf(usize),
    Map(u8, Box<Expr>),
    Scalar(ArithOp, i8, bool, Box<Expr>),
    Bin(ArithOp, Box<Expr>, Box<Expr>),
    Transpose(Box<Expr>),
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (0usize..2).prop_map(Expr::Leaf);
    let ops = prop_oneof![Just(ArithOp::Add), Just(ArithOp::Sub), Just(ArithOp::Mul)];
    leaf.prop_recursive(4, 16, 2, move |inner| {
        prop_oneof![
            (0u8..3, inner.clone()).prop_map(|(k, e)| Expr::Map(k, Box::new(e))),
            (ops.clone(), -3i8..4, any::<bool>(), inner.clone())
                .prop_map(|(o, s, l, e)| Expr::Scalar(o, s, l, Box::new(e))),
            (ops.clone(), inner.clone(), inner.clone()).prop_map(|(o, a, b)| Expr::Bin(
                o,
                Box::new(a),
                Box::new(b)
            )),
            inner.prop_map(|e| Expr::Transpose(Box::new(e))),
        ]
    })
}

fn cast<T: Element>(v: i8) -> T {
    T::from(v).unwrap_or_else(T::zero)
}

fn kmap<T: Element>(k: u8) -> impl Fn(T) -> T + Send + Sync + Clone + 'static {
    move |x: T| match k {
        0 => T::arith(ArithOp::Mul, x, x).unwrap_or(x),
        1 => T::arith(ArithOp::Add, x, T::one()).unwrap_or(x),
        _ => T::arith(ArithOp::Sub, T::zero(), x).unwrap_or(x),
    }
}

fn eval_d<T: Element>(e: &Expr, leaves: &[DArray<T>]) -> DArray<T> {
    match e {
        Expr::Leaf(i) => leaves[*i].clone(),
        Expr::Map(k, a) => eval_d(a, leaves).map(kmap::<T>(*k)),
        Expr::Scalar(o, s, left, a) => eval_d(a, leaves).arith_scalar(
            cast(*s),
            *o,
            if *left { Side::Left } else { Side::Right },
        ),
        Expr::Bin(o, a, b) => eval_d(a, leaves).arith(&eval_d(b, leaves), *o).unwrap(),
        Expr::Transpose(a) => eval_d(a, leaves).transpose().unwrap(),
    }
}

fn eval_a<T: Element>(e: &Expr, leaves: &[ArrayD<T>]) -> ArrayD<T> {
    match e {
        Expr::Leaf(i) => leaves[*i].clone(),
        Expr::Map(k, a) => eval_a(a, leaves).mapv(kmap::<T>(*k)),
        Expr::Scalar(o, s, left, a) => eval_a(a, leaves).mapv(|x| {
            let s = cast::<T>(*s);
            if *left {
                T::arith(*o, s, x)
            } else {
                T::arith(*o, x, s)
            }
            .unwrap()
        }),
        Expr::Bin(o, a, b) => {
            let (a, b) = (eval_a(a, leaves), eval_a(b, leaves));
            Zip::from(&a)
                .and(&b)
                .map_collect(|&p, &q| T::arith(*o, p, q).unwrap())
        }
        Expr::Transpose(a) => eval_a(a, leaves).t().as_standard_layout().into_owned(),
    }
}

fn square() -> impl Strategy<Value = (usize, [usize; 2], [usize; 2], u64)> {
    (1usize..8).prop_flat_map(|n| (Just(n), [1..=n, 1..=n], [1..=n, 1..=n], any::<u64>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn fused_equals_unfused_integers(e in expr(), (n, b1, b2, seed) in square()) {
        let a: Vec<ArrayD<i64>> = (0..2)
            .map(|k| rand_block::<i64>(&[n, n], seed, k).mapv(|v| v % 7))
            .collect();
        let leaves = [
            DArray::from_array(a[0].clone(), &Blocks::from(b1)).unwrap(),
            DArray::from_array(a[1].clone(), &Blocks::from(b2)).unwrap(),
        ];
        let d = eval_d(&e, &leaves);
        let want = eval_a(&e, &a);
        let on = d.collect_dense_with(ctx(), &ON).unwrap();
        let off = d.collect_dense_with(ctx(), &OFF).unwrap();
        prop_assert_eq!(&on, &off);
        prop_assert_eq!(&on, &want);
        let s_on = d.sum().collect_with(ctx(), &ON).unwrap();
        prop_assert_eq!(s_on, d.sum().collect_with(ctx(), &OFF).unwrap());
        prop_assert_eq!(s_on, want.iter().fold(0i64, |p, &q| p.wrapping_add(q)));
        prop_assert_eq!(d.maximum().collect_with(ctx(), &ON).unwrap(), d.maximum().collect_with(ctx(), &OFF).unwrap());
        prop_assert_eq!(d.prod().collect_with(ctx(), &ON).unwrap(), d.prod().collect_with(ctx(), &OFF).unwrap());
    }

    #[test]
    fn fused_equals_unfused_floats(e in expr(), (n, b1, b2, seed) in square()) {
        let a: Vec<ArrayD<f64>> = (0..2).map(|k| rand_block::<f64>(&[n, n], seed, k)).collect();
        let leaves = [
            DArray::from_array(a[0].clone(), &Blocks::from(b1)).unwrap(),
            DArray::from_array(a[1].clone(), &Blocks::from(b2)).unwrap(),
        ];
        let d = eval_d(&e, &leaves);
        let on = d.collect_dense_with(ctx(), &ON).unwrap();
        let off = d.collect_dense_with(ctx(), &OFF).unwrap();
        // Element-wise results are computed by the same operations in the same order.
        prop_assert_eq!(&on, &off);
        prop_assert_eq!(&on, &eval_a(&e, &a));
        let (s_on, s_off) = (d.sum().collect_with(ctx(), &ON).unwrap(), d.sum().collect_with(ctx(), &OFF).unwrap());
        let scale: f64 = on.iter().map(|v| v.abs()).sum::<f64>() + 1.0;
        prop_assert!((s_on - s_off).abs() <= 1e-12 * scale, "{} vs {}", s_on, s_off);
        prop_assert_eq!(d.minimum().collect_with(ctx(), &ON).unwrap(), d.minimum().collect_with(ctx(), &OFF).unwrap());
    }

    #[test]
    fn sort_matches_slice_sort(v in proptest::collection::vec(-20i64..20, 0..200), b in 1usize..50, mode in 0u8..3, rev: bool) {
        let mut v = v;
        match mode {
            1 => v.sort(),
            2 => { v.sort(); v.reverse() }
            _ => {}
        }
        let n = v.len();
        let x = DArray::from_array(ArrayD::from_shape_vec(IxDyn(&[n]), v.clone()).unwrap(), &Blocks::from([b])).unwrap();
        let got = x.sort(SortOptions { rev, stable: false }).unwrap();
        prop_assert_eq!(got.grid(), x.grid());
        let got = got.collect_dense(ctx()).unwrap().into_raw_vec_and_offset().0;
        let mut want = v.clone();
        want.sort();
        if rev { want.reverse() }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn stable_sort_of_pairs(v in proptest::collection::vec((0u8..5, any::<u16>()), 0..150), parts in 1usize..7, rev: bool) {
        let d = DVec::from_vec(v.clone(), parts);
        let got = d.sort_by(|a, b| a.0.cmp(&b.0), SortOptions { rev, stable: true }).collect(ctx()).unwrap();
        let mut want = v.clone();
        if rev { want.sort_by_key(|p| std::cmp::Reverse(p.0)) } else { want.sort_by_key(|p| p.0) }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn registered_sort_of_strings(
        v in proptest::collection::vec("[a-c]{0,3}", 0..200),
        parts in 1usize..7,
        presort in 0u8..3,
        rev: bool,
    ) {
        let mut v = v;
        match presort {
            1 => v.sort(),
            2 => { v.sort(); v.reverse() }
            _ => {}
        }
        let got = DVec::from_vec(v.clone(), parts)
            .sort_registered(SortOptions { rev, stable: false })
            .collect(ctx())
            .unwrap();
        let mut want = v;
        want.sort();
        if rev { want.reverse() }
        prop_assert_eq!(got, want);
    }
}

/// No element in several parts: no splitters can be chosen, yet every output part exists
/// (empty). Random vectors hit this only sometimes.
#[test]
fn sorting_nothing_in_several_parts_gives_nothing() {
    for parts in 1..5 {
        let none = DVec::<String>::from_vec(Vec::new(), parts);
        let registered = none.sort_registered(SortOptions::default()).collect(ctx());
        assert_eq!(registered.unwrap(), Vec::<String>::new(), "{parts} parts");
        let closure = none
            .sort_by(|a, b| a.cmp(b), SortOptions::default())
            .collect(ctx());
        assert_eq!(closure.unwrap(), Vec::<String>::new(), "{parts} parts");
    }
}

#[test]
fn g55_sort() {
    let ctx = ctx();
    let shuffled = vec![7i64, 3, 10, 1, 5, 9, 2, 8, 6, 4];
    for b in [4, 10, 1] {
        let x = DArray::from_array(
            ArrayD::from_shape_vec(IxDyn(&[10]), shuffled.clone()).unwrap(),
            &Blocks::from([b]),
        )
        .unwrap();
        let up = x
            .sort(SortOptions::default())
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        assert_eq!(up.into_raw_vec_and_offset().0, (1..=10).collect::<Vec<_>>());
        let down = x
            .sort(SortOptions {
                rev: true,
                stable: false,
            })
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        assert_eq!(
            down.into_raw_vec_and_offset().0,
            (1..=10).rev().collect::<Vec<_>>()
        );
    }
    let f = DArray::from_array(
        ndarray::arr1(&[2.0, f64::NAN, -1.0, 0.5]).into_dyn(),
        &Blocks::from([3]),
    )
    .unwrap();
    let s = f
        .sort(SortOptions::default())
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(&s.as_slice().unwrap()[..3], &[-1.0, 0.5, 2.0]);
    assert!(s[3].is_nan());
    let tuples = DVec::from_vec(vec![(2, "b"), (1, "z"), (2, "a"), (0, "q")], 2);
    assert_eq!(
        tuples.sort(SortOptions::default()).collect(ctx).unwrap(),
        vec![(0, "q"), (1, "z"), (2, "a"), (2, "b")]
    );
    assert!(DArray::<f64>::zeros(&Blocks::from([2, 2]), &[4, 4])
        .unwrap()
        .sort(SortOptions::default())
        .is_err());
}

fn view_case() -> impl Strategy<Value = (usize, usize, [usize; 2], [std::ops::Range<usize>; 2], u64)>
{
    (1usize..9, 1usize..9).prop_flat_map(|(m, n)| {
        (
            Just(m),
            Just(n),
            [1..=m, 1..=n],
            [(0..m, 0..=m), (0..n, 0..=n)]
                .prop_map(|[(a, b), (c, d)]| [a.min(b)..a.max(b), c.min(d)..c.max(d)]),
            any::<u64>(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn views_feed_fused_chains((m, n, b, [r0, r1], seed) in view_case(), t_first: bool) {
        let a = rand_block::<i64>(&[m, n], seed, 0).mapv(|v| v % 11);
        let x = DArray::from_array(a.clone(), &Blocks::from(b)).unwrap();
        // view then transpose, or transpose then the transposed view.
        let (d, want) = if t_first {
            let d = x.transpose().unwrap().view(&[r1.clone(), r0.clone()]).unwrap();
            (d, a.slice(ndarray::s![r0.clone(), r1.clone()]).t().to_owned().into_dyn())
        } else {
            let d = x.view(&[r0.clone(), r1.clone()]).unwrap().transpose().unwrap();
            (d, a.slice(ndarray::s![r0.clone(), r1.clone()]).t().to_owned().into_dyn())
        };
        let y = d.map(|v| v * 3).arith_scalar(1, ArithOp::Sub, Side::Right);
        let want = want.mapv(|v| v * 3 - 1);
        let on = y.collect_dense_with(ctx(), &ON).unwrap();
        prop_assert_eq!(&on, &y.collect_dense_with(ctx(), &OFF).unwrap());
        prop_assert_eq!(&on, &want);
        prop_assert_eq!(y.sum().collect_with(ctx(), &ON).unwrap(), want.sum());
        let w = x.view(&[r0.clone(), r1.clone()]).unwrap();
        prop_assert_eq!(w.collect_dense(ctx()).unwrap(), a.slice(ndarray::s![r0, r1]).to_owned().into_dyn());
    }
}

#[test]
fn a_view_is_read_by_the_fused_kernel() {
    let (count, ctx) = counting_ctx();
    let x = DArray::<f64>::ones(&Blocks::from([5, 5]), &[10, 10]).unwrap();
    let v = x.view(&[2..8, 0..10]).unwrap(); // 2 × 2 blocks of the view
    assert_eq!(v.grid().grid_shape(), vec![2, 2]);
    let y = v.map(|e| e + 1.0);
    let run = |opts: &ArrayOptions| {
        count.0.store(0, Ordering::Relaxed);
        assert_eq!(y.sum().collect_with(&ctx, opts).unwrap(), 120.0);
        count.0.load(Ordering::Relaxed)
    };
    let (off, on) = (run(&OFF), run(&ON));
    // 4 creations + 4 cuts + 4 maps + 4 partials + 3 + 1, versus creations + fused partials.
    assert_eq!(off, 4 + 4 + 4 + 4 + 3 + 1);
    assert_eq!(on, 4 + 4 + 3 + 1);
}
