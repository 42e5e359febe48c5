//! The former unit tests of `src/names.rs` (`unit`'s doc says why they moved).

use dagger_array::__private::{fused_name, MAX_LISTED};
use dagger_array::kernel::program::Fused;
use dagger_array::kernel::program::{Op, Program};
use dagger_array::kernel::Kernel;
use dagger_array::names::*;
use dagger_array::ops::{ArithOp, Side};
use dagger_array::reduce::ReduceOp;
use dagger_array::unary_op::UnaryOp;
use std::sync::Arc;

#[test]
fn interned_names_are_shared() {
    let a = intern("matmul");
    let b = Kernel::<f32>::Matmul.task_name();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(named("x").name.as_deref(), Some("x"));
}

#[test]
fn names_are_kinds_not_shapes() {
    let a = Kernel::<f64>::Randn {
        shape: vec![3, 4],
        seed: 1,
        block: 0,
    };
    let b = Kernel::<f64>::Randn {
        shape: vec![7],
        seed: 9,
        block: 12,
    };
    assert_eq!(a.task_name(), b.task_name());
    assert_eq!(&*a.task_name(), "randn");
    let z = Kernel::<i32>::Fill {
        shape: vec![2],
        value: 0,
    };
    assert_eq!(&*z.task_name(), "zeros");
}

#[test]
fn fused_names_list_their_steps() {
    let prog = Program::<f64>::leaf()
        .then(Op::Unary(UnaryOp::Exp))
        .zip(&Program::leaf(), ArithOp::Mul, 1)
        .then(Op::Scalar(ArithOp::Sub, 3.0, Side::Left));
    let f = Fused {
        prog,
        reads: vec![(false, None), (true, None)],
    };
    assert_eq!(&*Kernel::Fused(f.clone()).task_name(), "fused(exp * 3-)");
    assert_eq!(
        &*Kernel::FusedReduce(f, ReduceOp::Max).task_name(),
        "fused(exp * 3- maximum)"
    );
    let long = (0..20).fold(Program::<f64>::leaf(), |p, _| {
        p.then(Op::Unary(UnaryOp::Sin))
    });
    let n = fused_name(&long, None);
    assert!(n.ends_with("…)"), "{n}");
    assert_eq!(n.matches("sin").count(), MAX_LISTED);
}
