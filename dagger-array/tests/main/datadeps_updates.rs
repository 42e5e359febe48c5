//! In-place updates (`fill!`, `rand!`, `map!`, `.op=`, `.=`, `mul!`): the shared checks on
//! threads, and random programs of updates against the same program on ndarray.

use dagger_array::create::rand_block;
use dagger_array::{testing, ArithOp, Blocks, DArray};
use dagger_sched::Context;
use ndarray::{ArrayD, Ix2};
use proptest::prelude::*;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static C: OnceLock<Context> = OnceLock::new();
    C.get_or_init(|| Context::builder().threads(2).build())
}

#[test]
fn datadeps_in_place_updates_on_threads() {
    testing::datadeps_in_place_updates(ctx());
}

#[test]
fn datadeps_mul_into_on_threads() {
    testing::datadeps_mul_into(ctx());
}

/// One step of a random update program on an n×n matrix.
#[derive(Clone, Debug)]
enum Step {
    Fill(f64),
    Scalar(ArithOp, f64),
    With(ArithOp, u64, usize),
    Map,
    MulInto(u64, f64, f64),
    AssignReblocked(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![Just(ArithOp::Add), Just(ArithOp::Sub), Just(ArithOp::Mul)];
    prop_oneof![
        (-3i8..3).prop_map(|v| Step::Fill(v as f64)),
        (op.clone(), -2i8..3).prop_map(|(o, s)| Step::Scalar(o, s as f64)),
        (op, 0u64..100, 1usize..7).prop_map(|(o, seed, b)| Step::With(o, seed, b)),
        Just(Step::Map),
        (0u64..100, -2i8..3, -2i8..3).prop_map(|(s, a, b)| Step::MulInto(s, a as f64, b as f64)),
        (1usize..7).prop_map(Step::AssignReblocked),
    ]
}

fn dense(n: usize, seed: u64) -> ArrayD<f64> {
    rand_block::<f64>(&[n, n], seed, 0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A program of in-place updates on a DArray ends with the values the same program
    /// gives on ndarray, whatever the blockings of the operands.
    #[test]
    fn datadeps_update_programs_match_ndarray(
        n in 1usize..12,
        block in 1usize..7,
        steps in proptest::collection::vec(step(), 1..10),
    ) {
        let start = dense(n, 1);
        let mut x = DArray::from_array(start.clone(), &Blocks::new([block, block]).unwrap()).unwrap();
        let mut want = start;
        for s in &steps {
            match *s {
                Step::Fill(v) => { x.fill_assign(v); want.fill(v); }
                Step::Scalar(op, v) => {
                    x.arith_scalar_assign(v, op);
                    want.mapv_inplace(|p| apply(op, p, v));
                }
                Step::With(op, seed, b) => {
                    let o = dense(n, seed);
                    let y = DArray::from_array(o.clone(), &Blocks::new([b, b]).unwrap()).unwrap();
                    x.arith_assign(&y, op).unwrap();
                    want.zip_mut_with(&o, |p, &q| *p = apply(op, *p, q));
                }
                Step::Map => { x.map_assign(|p| p * 0.5 - 1.0); want.mapv_inplace(|p| p * 0.5 - 1.0); }
                Step::MulInto(seed, alpha, beta) => {
                    let o = dense(n, seed);
                    let y = DArray::from_array(o.clone(), &Blocks::new([block + 1, block]).unwrap()).unwrap();
                    let before = x.clone();
                    DArray::mul_into(&mut x, &before, &y, alpha, beta).unwrap();
                    let (w, o) = (want.view().into_dimensionality::<Ix2>().unwrap(), o.into_dimensionality::<Ix2>().unwrap());
                    want = (w.dot(&o) * alpha + &w * beta).into_dyn();
                }
                Step::AssignReblocked(b) => {
                    let mut y = DArray::<f64>::zeros(&Blocks::new([b, b]).unwrap(), &[n, n]).unwrap();
                    y.assign_from(&x).unwrap();
                    x = y;
                }
            }
        }
        let got = x.collect_dense(ctx()).unwrap();
        for (g, w) in got.iter().zip(&want) {
            prop_assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{} vs {} after {:?}", g, w, steps);
        }
    }
}

fn apply(op: ArithOp, p: f64, q: f64) -> f64 {
    match op {
        ArithOp::Add => p + q,
        ArithOp::Sub => p - q,
        ArithOp::Mul => p * q,
        _ => unreachable!("the strategy draws only +, -, *"),
    }
}
