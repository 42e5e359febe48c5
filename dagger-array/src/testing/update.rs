//! The in-place updates' checks ([`crate::update`]): every update against ndarray, the
//! program-order outcome of a run of them, old versions kept by their readers, overwrites
//! that stay where the blocks live, `mul!` with `alpha`/`beta`, and typed shape errors.

use crate::create::rand_block;
use crate::darray::DArray;
use crate::ops::ArithOp;
use crate::partition::Blocks;
use dagger_core::{Error, WorkerId};
use dagger_sched::Context;
use ndarray::{Array2, ArrayD, Ix2};

fn d(a: &ArrayD<f64>, b: &[usize]) -> DArray<f64> {
    DArray::from_array(a.clone(), &Blocks::new(b).unwrap()).unwrap()
}

fn owners(x: &DArray<f64>) -> Vec<WorkerId> {
    x.chunks().unwrap().iter().map(|c| c.owner()).collect()
}

fn close(got: &ArrayD<f64>, want: &ArrayD<f64>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-9 * (1.0 + w.abs()),
            "{what}: {g} vs {w}"
        );
    }
}

/// `fill!`, `rand!`, `randn!`, `map!`, `.op=` and `.= f.(B, C)` on `ctx`, each against
/// ndarray; a clone taken before an update keeps the old values; on a computed array an
/// overwrite makes each new block where the old one was.
pub fn datadeps_in_place_updates(ctx: &Context) {
    // Made by block tasks with no input, so on a cluster they are spread over the workers.
    let mut a = DArray::<f64>::rand_seeded(&Blocks::from([7, 8]), &[20, 30], 11)
        .unwrap()
        .compute(ctx)
        .unwrap();
    let a0 = a.collect_dense(ctx).unwrap();
    let b0 = rand_block::<f64>(&[20, 30], 12, 0);
    let before = a.clone();
    let placed = owners(&a);

    a.fill_assign(2.5);
    let a = a.compute(ctx).unwrap();
    assert_eq!(
        owners(&a),
        placed,
        "fill! made the blocks where the old ones lived"
    );
    assert!(a.collect_dense(ctx).unwrap().iter().all(|&v| v == 2.5));
    assert_eq!(
        before.collect_dense(ctx).unwrap(),
        a0,
        "a clone taken before the update still reads the old version"
    );

    let mut r = a.clone();
    r.rand_assign(5);
    let want = DArray::<f64>::rand_seeded(&Blocks::from([7, 8]), &[20, 30], 5).unwrap();
    let r = r.compute(ctx).unwrap();
    assert_eq!(
        owners(&r),
        placed,
        "rand! made the blocks where the old ones lived"
    );
    assert_eq!(
        r.collect_dense(ctx).unwrap(),
        want.collect_dense(ctx).unwrap()
    );
    let mut n = r.clone();
    n.randn_assign(6);
    let want = DArray::<f64>::randn_seeded(&Blocks::from([7, 8]), &[20, 30], 6).unwrap();
    assert_eq!(
        n.collect_dense(ctx).unwrap(),
        want.collect_dense(ctx).unwrap()
    );

    // A run of updates gives what running them one after another gives.
    let mut x = d(&a0, &[7, 8]);
    let b = d(&b0, &[6, 11]);
    let mut want = a0.clone();
    for (op, f) in [
        (ArithOp::Add, (|p, q| p + q) as fn(f64, f64) -> f64),
        (ArithOp::Mul, |p, q| p * q),
        (ArithOp::Sub, |p, q| p - q),
        (ArithOp::Div, |p, q| p / (q + 2.0)),
    ] {
        if op == ArithOp::Div {
            x.arith_assign(
                &b.arith_scalar(2.0, ArithOp::Add, crate::ops::Side::Right),
                op,
            )
            .unwrap();
        } else {
            x.arith_assign(&b, op).unwrap();
        }
        want.zip_mut_with(&b0, |p, &q| *p = f(*p, q));
    }
    x.map_assign(|v| v * 0.5 + 1.0);
    want.mapv_inplace(|v| v * 0.5 + 1.0);
    x.arith_scalar_assign(3.0, ArithOp::Sub);
    want.mapv_inplace(|v| v - 3.0);
    close(&x.collect_dense(ctx).unwrap(), &want, "a run of updates");

    // C .= f.(A, B) into a third blocking.
    let mut c = DArray::<f64>::zeros(&Blocks::from([9, 4]), &[20, 30]).unwrap();
    let expr = d(&a0, &[7, 8]).zip_with(&b, |p, q| p * q + 1.0).unwrap();
    c.assign_from(&expr).unwrap();
    assert_eq!(c.grid().max_block_shape(), vec![9, 4]);
    let mut want = a0.clone();
    want.zip_mut_with(&b0, |p, &q| *p = *p * q + 1.0);
    close(&c.collect_dense(ctx).unwrap(), &want, "C .= f.(A, B)");

    // Mismatched shapes are typed errors, and the array is left as it was.
    let mut y = d(&a0, &[7, 8]);
    let small = DArray::<f64>::ones(&Blocks::from([5, 5]), &[10, 10]).unwrap();
    assert!(matches!(
        y.arith_assign(&small, ArithOp::Add),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(y.assign_from(&small).is_err());
    assert_eq!(y.collect_dense(ctx).unwrap(), a0);
}

/// `mul!(C, A, B, alpha, beta)` on `ctx` against ndarray, in blockings that differ between
/// the three; `beta == 0` does not read C (its NaNs vanish); a shape that does not fit is a
/// typed error naming all three shapes.
pub fn datadeps_mul_into(ctx: &Context) {
    let a0 = rand_block::<f64>(&[13, 9], 21, 0);
    let b0 = rand_block::<f64>(&[9, 11], 22, 0);
    let c0 = rand_block::<f64>(&[13, 11], 23, 0);
    let m = |x: &ArrayD<f64>| -> Array2<f64> { x.clone().into_dimensionality::<Ix2>().unwrap() };
    let a = d(&a0, &[5, 4]);
    let b = d(&b0, &[4, 6]);
    for (alpha, beta) in [(1.0, 0.0), (2.0, 1.0), (-0.5, 3.0), (1.0, 1.0)] {
        let mut c = d(&c0, &[6, 3]);
        DArray::mul_into(&mut c, &a, &b, alpha, beta).unwrap();
        assert_eq!(
            c.grid().max_block_shape(),
            vec![6, 3],
            "C keeps its blocking"
        );
        let want = (m(&a0).dot(&m(&b0)) * alpha + m(&c0) * beta).into_dyn();
        close(&c.collect_dense(ctx).unwrap(), &want, "mul!");
    }
    let mut nan = DArray::<f64>::fill(f64::NAN, &Blocks::from([6, 3]), &[13, 11]).unwrap();
    DArray::mul_into(&mut nan, &a, &b, 1.0, 0.0).unwrap();
    close(
        &nan.collect_dense(ctx).unwrap(),
        &m(&a0).dot(&m(&b0)).into_dyn(),
        "mul! with beta = 0",
    );
    let mut wrong = d(&c0, &[6, 3]);
    match DArray::mul_into(&mut wrong, &b, &a, 1.0, 0.0) {
        Err(Error::DimensionMismatch(msg)) => {
            assert!(msg.contains("[13, 11]") && msg.contains("[9, 11]"), "{msg}")
        }
        other => panic!("want DimensionMismatch, got {other:?}"),
    }
}
