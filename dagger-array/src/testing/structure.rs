//! The structure operations' checks (G48, G51–G55 parts of `tests/main/structure.rs`):
//! re-distribution, in-place updates, extrema and moments, setindex and region assignment,
//! copyto, cat and permutedims, comparisons and bit operations.

use crate::binary::CmpOp;
use crate::binary::Side;
use crate::block::Block;
use crate::create::rand_block;
use crate::darray::DArray;
use crate::index::Index;
use crate::ops::ArithOp;
use crate::ops::BitOp;
use crate::partition::Blocks;
use dagger_core::Error;
use dagger_sched::Context;
use ndarray::concatenate;
use ndarray::{ArrayD, Axis, IxDyn};

fn d(a: &ArrayD<f64>, b: &[usize]) -> DArray<f64> {
    DArray::from_array(a.clone(), &Blocks::new(b).unwrap()).unwrap()
}

/// The checks of `g48_redistribute_a_darray` on `ctx`.
pub fn g48_redistribute_a_darray(ctx: &Context) {
    let v = rand_block::<f64>(&[10], 1, 0);
    let two = DArray::from_array(v.clone(), &Blocks::from_counts(&[10], &[2]).unwrap()).unwrap();
    let three = two
        .redistribute(&Blocks::from_counts(&[10], &[3]).unwrap())
        .unwrap();
    assert_eq!(three.grid().num_blocks(), 3);
    assert_eq!(three.collect_dense(ctx).unwrap(), v);
}

/// The checks of `g51_in_place_updates` on `ctx`.
pub fn g51_in_place_updates(ctx: &Context) {
    let a0 = rand_block::<f64>(&[20, 30], 1, 0);
    let b0 = rand_block::<f64>(&[20, 30], 2, 0);
    let v0 = rand_block::<f64>(&[20], 3, 0);
    let mut a = d(&a0, &[10, 10]);
    let b = d(&b0, &[7, 9]);
    a.arith_assign(&b, ArithOp::Add).unwrap();
    a.arith_scalar_assign(2.0, ArithOp::Mul);
    let v = d(&v0, &[6]);
    a.broadcast_col_assign(&v, ArithOp::Add).unwrap();
    let want = (&a0 + &b0) * 2.0 + &v0.clone().insert_axis(Axis(1));
    assert_eq!(a.collect_dense(ctx).unwrap(), want);
    let mut c = DArray::<f64>::zeros(&Blocks::from([5, 5]), &[20, 30]).unwrap();
    c.assign_from(&d(&a0, &[10, 10]).arith(&b, ArithOp::Add).unwrap())
        .unwrap();
    assert_eq!(c.grid().max_block_shape(), vec![5, 5]);
    assert_eq!(c.collect_dense(ctx).unwrap(), &a0 + &b0);
}

/// The checks of `g52_extrema_var_std_mapreduce` on `ctx`.
pub fn g52_extrema_var_std_mapreduce(ctx: &Context) {
    let a = rand_block::<f64>(&[100, 100], 4, 0);
    let x = d(&a, &[10, 10]);
    let (lo, hi) = x.extrema().collect(ctx).unwrap();
    assert_eq!(lo, a.iter().copied().fold(f64::INFINITY, f64::min));
    assert_eq!(hi, a.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let n = a.len() as f64;
    let m = a.mean().unwrap();
    let var = a.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    assert!((x.var(true).collect(ctx).unwrap() - var).abs() < 1e-12);
    assert!((x.std(true).collect(ctx).unwrap() - var.sqrt()).abs() < 1e-12);
    assert!((x.var(false).collect(ctx).unwrap() - var * (n - 1.0) / n).abs() < 1e-12);
    let mr = x
        .mapreduce(|v| v + 1.0, |p, q| p + q, Some(0.0))
        .collect(ctx)
        .unwrap();
    assert!((mr - (a.sum() + n)).abs() < 1e-9);
    let i =
        DArray::from_array(ndarray::arr1(&[3i64, -2, 7]).into_dyn(), &Blocks::from([2])).unwrap();
    assert_eq!(i.extrema().collect(ctx).unwrap(), (-2, 7));
    let e = DArray::<f64>::zeros(&Blocks::from([2]), &[0]).unwrap();
    assert!(e.extrema().collect(ctx).is_err());
}

/// The checks of `g53_setindex_and_region_assignment` on `ctx`.
pub fn g53_setindex_and_region_assignment(ctx: &Context) {
    let a = rand_block::<f64>(&[10, 10], 5, 0);
    let x = d(&a, &[3, 3]);
    let y = x.setindex(1.0, &[(2..8).into(), (1..7).into()]).unwrap();
    let mut want = a.clone();
    want.slice_mut(ndarray::s![2..8, 1..7]).fill(1.0);
    assert_eq!(y.collect_dense(ctx).unwrap(), want);
    assert_eq!(
        x.collect_dense(ctx).unwrap(),
        a,
        "setindex leaves X unchanged"
    );
    // A[:, idx] = b writes only the target region.
    let b = rand_block::<f64>(&[10, 3], 6, 0);
    let z = x
        .assign(&[Index::All, vec![1, 5, 9].into()], b.clone())
        .unwrap();
    let mut want = a.clone();
    for (k, &j) in [1, 5, 9].iter().enumerate() {
        want.index_axis_mut(Axis(1), j)
            .assign(&b.index_axis(Axis(1), k));
    }
    assert_eq!(z.collect_dense(ctx).unwrap(), want);
    // A[r, r] = view(B, r, r)
    let bb = rand_block::<f64>(&[10, 10], 7, 0);
    let bd = d(&bb, &[4, 4]);
    let r = || Index::Range(2..6);
    let w = x.copyto(&[r(), r()], &bd, &[r(), r()]).unwrap();
    let mut want = a.clone();
    want.slice_mut(ndarray::s![2..6, 2..6])
        .assign(&bb.slice(ndarray::s![2..6, 2..6]));
    assert_eq!(w.collect_dense(ctx).unwrap(), want);
    assert_eq!(x.get(&[4, 7]).unwrap().collect(ctx).unwrap(), a[[4, 7]]);
    // Sparse arrays stay sparse.
    let s = DArray::<f64>::sprand_seeded(&Blocks::from([3, 3]), &[10, 10], 0.2, 1).unwrap();
    let s2 = s.setindex(2.0, &[Index::Scalar(0), Index::All]).unwrap();
    let got = s2.collect(ctx).unwrap();
    assert!(matches!(got, Block::SparseMat(_)));
    let mut want = s.collect_dense(ctx).unwrap();
    want.index_axis_mut(Axis(0), 0).fill(2.0);
    assert_eq!(got.to_dense(), want);
}

/// The checks of `g54_copyto` on `ctx`.
pub fn g54_copyto(ctx: &Context) {
    for (part, n) in [(vec![8, 8], 8), (vec![4, 4], 8), (vec![3, 5], 8)] {
        let src = rand_block::<f64>(&[n, n], 8, 0);
        let s = d(&src, &[4, 2]);
        let dst = DArray::<f64>::zeros(&Blocks::new(&part).unwrap(), &[n, n]).unwrap();
        assert_eq!(dst.copy_from(&s).unwrap().collect_dense(ctx).unwrap(), src);
        let h = n / 2;
        let q = dst
            .copyto(
                &[(0..h).into(), (0..h).into()],
                &s,
                &[(0..h).into(), (0..h).into()],
            )
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        let mut want = ArrayD::<f64>::zeros(IxDyn(&[n, n]));
        want.slice_mut(ndarray::s![..h, ..h])
            .assign(&src.slice(ndarray::s![..h, ..h]));
        assert_eq!(q, want);
        let strided = Index::List((0..n).step_by(2).collect());
        assert!(matches!(
            dst.copyto(&[strided.clone(), Index::All], &s, &[strided, Index::All]),
            Err(Error::Argument(_))
        ));
        let small = DArray::<f64>::zeros(&Blocks::from([2, 2]), &[n - 1, n]).unwrap();
        assert!(matches!(
            dst.copy_from(&small),
            Err(Error::DimensionMismatch(_))
        ));
    }
    let i = DArray::<i32>::ones(&Blocks::from([3]), &[7]).unwrap();
    let z = DArray::<i32>::zeros(&Blocks::from([2]), &[7]).unwrap();
    assert_eq!(
        z.copy_from(&i).unwrap().collect_dense(ctx).unwrap().sum(),
        7
    );
}

/// The checks of `g55_cat_and_permutedims` on `ctx`.
pub fn g55_cat_and_permutedims(ctx: &Context) {
    let x = rand_block::<f64>(&[20, 40], 9, 0);
    let y = rand_block::<f64>(&[20, 30], 10, 0);
    let x1 = d(&x, &[10, 20]);
    let y1 = d(&y, &[10, 10]);
    let h = DArray::hcat(&[&x1, &x1])
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(h, concatenate(Axis(1), &[x.view(), x.view()]).unwrap());
    let h = DArray::hcat(&[&x1, &y1])
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(h, concatenate(Axis(1), &[x.view(), y.view()]).unwrap());
    let z1 = d(&rand_block::<f64>(&[5, 40], 11, 0), &[5, 10]);
    assert!(matches!(
        DArray::vcat(&[&x1, &z1]),
        Err(Error::DimensionMismatch(_))
    ));
    let z2 = d(&rand_block::<f64>(&[5, 40], 11, 0), &[5, 20]);
    assert_eq!(DArray::vcat(&[&x1, &z2]).unwrap().shape(), &[25, 40]);
    let a3 = rand_block::<f64>(&[4, 5, 6], 12, 0);
    let x3 = d(&a3, &[3, 2, 4]);
    for p in [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        let got = x3.permutedims(&p).unwrap().collect_dense(ctx).unwrap();
        assert_eq!(got, a3.clone().permuted_axes(IxDyn(&p)), "{p:?}");
    }
    assert_eq!(
        x1.permutedims(&[1, 0]).unwrap().collect_dense(ctx).unwrap(),
        x.t().to_owned()
    );
    assert!(x1.permutedims(&[0, 0]).is_err());
}

/// The checks of `comparisons_and_bit_ops` on `ctx`.
pub fn comparisons_and_bit_ops(ctx: &Context) {
    let a = ndarray::arr1(&[1i32, 5, 3, 8, -2]).into_dyn();
    let b = ndarray::arr1(&[2i32, 5, 1, 9, -3]).into_dyn();
    let x = DArray::from_array(a.clone(), &Blocks::from([2])).unwrap();
    let y = DArray::from_array(b.clone(), &Blocks::from([3])).unwrap();
    let lt = x
        .compare(&y, CmpOp::Lt)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(lt.into_raw_vec_and_offset().0, vec![1, 0, 0, 1, 0]);
    let ge = x
        .compare_scalar(3, CmpOp::Ge, Side::Right)
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(ge.into_raw_vec_and_offset().0, vec![0, 1, 1, 1, 0]);
    let and = x.bit(&y, BitOp::And).unwrap().collect_dense(ctx).unwrap();
    assert_eq!(
        and,
        ndarray::Zip::from(&a).and(&b).map_collect(|p, q| p & q)
    );
    let sh = x
        .bit_scalar(1, BitOp::Shl, Side::Right)
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(sh, a.mapv(|v| v << 1));
}
