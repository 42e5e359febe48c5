//! FFTs of DArrays against one rustfft transform of the whole array (relative error below
//! 1e-12 in f64), round trips, real-to-complex, and typed errors.

use dagger_array::create::rand_block;
use dagger_array::{Blocks, DArray};
use dagger_core::Error;
use dagger_sched::Context;
use ndarray::{ArrayD, Axis, Dimension, IxDyn};
use num_complex::Complex64;
use proptest::prelude::*;
use rustfft::FftPlanner;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

/// Pairs `[.., 2]` to complex numbers.
fn complex(a: &ArrayD<f64>) -> ArrayD<Complex64> {
    let s = a.shape();
    let inner = &s[..s.len() - 1];
    ArrayD::from_shape_fn(IxDyn(inner), |i| {
        let mut at: Vec<usize> = i.slice().to_vec();
        at.push(0);
        let re = a[IxDyn(&at)];
        *at.last_mut().unwrap() = 1;
        Complex64::new(re, a[IxDyn(&at)])
    })
}

/// The reference: rustfft along `axis` of the whole array, lane by lane.
fn reference(c: &ArrayD<Complex64>, axis: usize, inverse: bool) -> ArrayD<Complex64> {
    let n = c.shape()[axis];
    let mut p = FftPlanner::<f64>::new();
    let plan = if inverse {
        p.plan_fft_inverse(n)
    } else {
        p.plan_fft_forward(n)
    };
    let mut out = c.clone();
    for mut lane in out.lanes_mut(Axis(axis)) {
        let mut v: Vec<Complex64> = lane.iter().copied().collect();
        plan.process(&mut v);
        let k = if inverse { 1.0 / n as f64 } else { 1.0 };
        lane.iter_mut().zip(v).for_each(|(l, x)| *l = x * k);
    }
    out
}

/// The relative error `‖a − b‖ / ‖b‖` (absolute when `b` is 0).
fn rel(a: &ArrayD<Complex64>, b: &ArrayD<Complex64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let d: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm_sqr())
        .sum::<f64>()
        .sqrt();
    let n: f64 = b.iter().map(|y| y.norm_sqr()).sum::<f64>().sqrt();
    d / n.max(1.0)
}

fn shape_and_blocks() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (1usize..3).prop_flat_map(|nd| {
        (
            proptest::collection::vec(1usize..20, nd),
            proptest::collection::vec(1usize..7, nd),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn fft_along_each_axis_matches_rustfft((mut shape, mut blocks) in shape_and_blocks(), seed: u64) {
        shape.push(2);
        blocks.push(1);
        let a = rand_block::<f64>(&shape, seed, 0);
        let x = DArray::from_array(a.clone(), &Blocks::new(&blocks).unwrap()).unwrap();
        let c = complex(&a);
        for axis in 0..shape.len() - 1 {
            for inverse in [false, true] {
                let got = x.fft(axis, inverse).unwrap().collect_dense(ctx()).unwrap();
                prop_assert!(rel(&complex(&got), &reference(&c, axis, inverse)) < 1e-12);
            }
            let back = x.fft(axis, false).unwrap().fft(axis, true).unwrap();
            prop_assert!(rel(&complex(&back.collect_dense(ctx()).unwrap()), &c) < 1e-12);
        }
    }

    #[test]
    fn fft2_is_rows_then_columns((n, m) in (1usize..24, 1usize..24), (b0, b1) in (1usize..8, 1usize..8), seed: u64) {
        let a = rand_block::<f64>(&[n, m, 2], seed, 0);
        let x = DArray::from_array(a.clone(), &Blocks::new([b0, b1, 2]).unwrap()).unwrap();
        let want = reference(&reference(&complex(&a), 1, false), 0, false);
        let got = complex(&x.fft2(false).unwrap().collect_dense(ctx()).unwrap());
        prop_assert!(rel(&got, &want) < 1e-12);
        let t = complex(&x.fft2_transposed(false).unwrap().collect_dense(ctx()).unwrap());
        prop_assert!(rel(&t, &want.clone().permuted_axes(vec![1, 0])) < 1e-12);
        let back = x.fft2(false).unwrap().fft2(true).unwrap().collect_dense(ctx()).unwrap();
        prop_assert!(rel(&complex(&back), &complex(&a)) < 1e-12);
    }

    #[test]
    fn real_ffts_match_the_complex_ones((n, m) in (1usize..24, 1usize..12), b in 1usize..8, seed: u64) {
        let a = rand_block::<f64>(&[n, m], seed, 0);
        let x = DArray::from_array(a.clone(), &Blocks::new([b, b]).unwrap()).unwrap();
        let c = a.mapv(|v| Complex64::new(v, 0.0));
        for axis in 0..2 {
            let got = complex(&x.rfft(axis).unwrap().collect_dense(ctx()).unwrap());
            let full = reference(&c, axis, false);
            let half = full.slice_axis(Axis(axis), (0..a.shape()[axis] / 2 + 1).into()).to_owned();
            prop_assert!(rel(&got, &half) < 1e-12);
            let len = a.shape()[axis];
            let back = x.rfft(axis).unwrap().irfft(axis, len).unwrap().collect_dense(ctx()).unwrap();
            prop_assert!(back.iter().zip(&a).all(|(p, q)| (p - q).abs() < 1e-12));
        }
        let r2 = complex(&x.rfft2().unwrap().collect_dense(ctx()).unwrap());
        let full = reference(&reference(&c, 1, false), 0, false);
        prop_assert!(rel(&r2, &full.slice_axis(Axis(1), (0..m / 2 + 1).into()).to_owned()) < 1e-12);
    }
}

#[test]
fn f32_round_trips() {
    let a = rand_block::<f32>(&[16, 10, 2], 3, 0);
    let x = DArray::from_array(a.clone(), &Blocks::new([5, 4, 2]).unwrap()).unwrap();
    let back = x
        .fft2(false)
        .unwrap()
        .fft2(true)
        .unwrap()
        .collect_dense(ctx())
        .unwrap();
    assert!(back.iter().zip(&a).all(|(p, q)| (p - q).abs() < 1e-5));
}

#[test]
fn bad_ffts_are_typed_errors() {
    let empty = DArray::<f64>::zeros(&Blocks::new([2, 2]).unwrap(), &[0, 2]).unwrap();
    assert!(matches!(empty.fft(0, false), Err(Error::Argument(_))));
    let real = DArray::<f64>::zeros(&Blocks::new([2, 2]).unwrap(), &[4, 3]).unwrap();
    assert!(matches!(real.fft(0, false), Err(Error::Argument(_))));
    assert!(matches!(real.rfft(2), Err(Error::Argument(_))));
    let zero_len = DArray::<f64>::zeros(&Blocks::new([2, 2]).unwrap(), &[4, 0]).unwrap();
    assert!(matches!(zero_len.rfft(1), Err(Error::Argument(_))));
    let pairs = real.rfft(0).unwrap();
    assert!(matches!(pairs.irfft(0, 7), Err(Error::Argument(_))));
    assert!(matches!(pairs.fft(2, false), Err(Error::Argument(_))));
    let ints = DArray::<i64>::ones(&Blocks::new([2, 2]).unwrap(), &[4, 2]).unwrap();
    let e = ints.fft(0, false).unwrap().collect(ctx());
    assert!(matches!(
        e.map_err(|e| e.root_cause().clone()),
        Err(Error::Argument(_))
    ));
}

/// The f64 row path (in place when the kernel holds the only reference, else one copy per
/// row) equals the generic kernel bit for bit, and never changes a shared input.
#[test]
fn the_in_place_row_path_equals_the_generic_kernel() {
    use dagger_array::fft_kernel::{run_fft, run_fft_held, FftOp};
    use dagger_array::mem::Held;
    use dagger_array::Block;
    use std::sync::Arc;
    let cases = [
        (vec![5, 2], 0),
        (vec![3, 8, 2], 1),
        (vec![2, 3, 7, 2], 2),
        (vec![4, 6, 2], 0),
    ];
    for (shape, axis) in cases {
        let b = Block::Dense(rand_block::<f64>(&shape, 3, 0));
        for inverse in [false, true] {
            let op = FftOp::Complex { axis, inverse };
            let want = run_fft(&op, &b).unwrap().to_dense();
            let owned = run_fft_held(&op, Arc::new(Held::new(b.clone()))).unwrap();
            assert_eq!(owned.to_dense(), want, "{shape:?} {axis} {inverse}");
            let held = Arc::new(Held::new(b.clone()));
            let keep = held.clone();
            let shared = run_fft_held(&op, held).unwrap();
            assert_eq!(shared.to_dense(), want, "{shape:?} {axis} {inverse}");
            assert_eq!(
                keep.to_dense(),
                b.to_dense(),
                "a shared input is left alone"
            );
        }
    }
    let op = FftOp::Complex {
        axis: 0,
        inverse: false,
    };
    let no_pairs = Block::Dense(rand_block::<f64>(&[4, 3], 1, 0));
    let r = run_fft_held(&op, Arc::new(Held::new(no_pairs)));
    assert!(matches!(r, Err(Error::Argument(_))));
    let ints = Block::Dense(ndarray::ArrayD::<i64>::zeros(IxDyn(&[4, 2])));
    let r = run_fft_held(&op, Arc::new(Held::new(ints)));
    assert!(matches!(r, Err(Error::Argument(_))));
}
