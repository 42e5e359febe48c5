//! Random operations checked against plain ndarray/sprs in the same process, and typed
//! shape errors.

use crate::binary::Side;
use crate::block::{Block, Kind};
use crate::darray::DArray;
use crate::ops::ArithOp;
use crate::partition::Blocks;
use dagger_core::Error;
use dagger_sched::Context;
use ndarray::{ArrayD, Axis};

/// Several operations on random shapes and blockings (`cases` of them, from `seed`),
/// each checked against plain ndarray/sprs in this process: unary, binary (different
/// blockings), transpose, dense and sparse products, sums and means along each dimension,
/// indexing, the fused `sum(x.^2 .+ 1)` and the sort of `u64`s with duplicates.
pub fn ops_against_ndarray(ctx: &Context, seed: u64, cases: usize) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let close = |g: &ArrayD<f64>, w: &ArrayD<f64>, what: &str| {
        assert_eq!(g.shape(), w.shape(), "{what}");
        let err = (g - w).mapv(f64::abs).sum();
        assert!(
            err <= 1e-9 * (1.0 + w.mapv(f64::abs).sum()),
            "{what}: off by {err}"
        );
    };
    for case in 0..cases {
        let (r, c, k): (usize, usize, usize) = (
            rng.gen_range(2..24),
            rng.gen_range(2..24),
            rng.gen_range(1..12),
        );
        let (br, bc, bk) = (
            rng.gen_range(r.div_ceil(3)..=r),
            rng.gen_range(c.div_ceil(3)..=c),
            rng.gen_range(k.div_ceil(2)..=k),
        );
        let tag = format!("case {case}: {r}×{c}·{k} in {br}×{bc}·{bk}");
        let a = crate::create::randn_block::<f64>(&[r, c], seed ^ case as u64, 0);
        let b = crate::create::rand_block::<f64>(&[r, c], seed ^ case as u64, 1);
        let x = DArray::from_array(a.clone(), &Blocks::from([br, bc])).unwrap();
        let y = DArray::from_array(b.clone(), &Blocks::from([bc.min(r), br.min(c)])).unwrap();
        // unary and binary
        let got = x
            .unary(crate::unary_op::UnaryOp::Exp)
            .collect_dense(ctx)
            .unwrap();
        close(&got, &a.mapv(f64::exp), &format!("exp {tag}"));
        let got = x
            .arith(&y, ArithOp::Sub)
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        close(&got, &(&a - &b), &format!("x - y {tag}"));
        let got = x
            .arith_scalar(2.0, ArithOp::Mul, Side::Left)
            .collect_dense(ctx)
            .unwrap();
        close(&got, &a.mapv(|v| 2.0 * v), &format!("2x {tag}"));
        // transpose
        let got = x.transpose().unwrap().collect_dense(ctx).unwrap();
        assert_eq!(got, a.t().to_owned(), "transpose {tag}");
        // dense product (the inner blockings agree)
        let m = crate::create::rand_block::<f64>(&[c, k], seed, case + 2);
        let dm = DArray::from_array(m.clone(), &Blocks::from([bc, bk])).unwrap();
        let got = x.matmul(&dm).unwrap().collect_dense(ctx).unwrap();
        let (a2, m2) = (
            a.clone().into_dimensionality::<ndarray::Ix2>().unwrap(),
            m.clone().into_dimensionality::<ndarray::Ix2>().unwrap(),
        );
        close(&got, &a2.dot(&m2).into_dyn(), &format!("matmul {tag}"));
        // sparse product: matrix × matrix and matrix × vector
        let s =
            DArray::<f64>::sprand_seeded(&Blocks::from([br, bc]), &[r, c], 0.3, seed + case as u64)
                .unwrap();
        let t =
            DArray::<f64>::sprand_seeded(&Blocks::from([bc, bk]), &[c, k], 0.3, seed + 99).unwrap();
        let v = DArray::<f64>::sprand_seeded(&Blocks::from([bc]), &[c], 0.5, seed + 7).unwrap();
        let (sd, td, vd) = (
            s.collect_dense(ctx)
                .unwrap()
                .into_dimensionality::<ndarray::Ix2>()
                .unwrap(),
            t.collect_dense(ctx)
                .unwrap()
                .into_dimensionality::<ndarray::Ix2>()
                .unwrap(),
            v.collect_dense(ctx)
                .unwrap()
                .into_dimensionality::<ndarray::Ix1>()
                .unwrap(),
        );
        let st = s.matmul(&t).unwrap();
        assert_eq!(st.meta().kind, Kind::Sparse, "{tag}");
        close(
            &st.collect_dense(ctx).unwrap(),
            &sd.dot(&td).into_dyn(),
            &format!("spgemm {tag}"),
        );
        let sv = s.matmul(&v).unwrap().collect(ctx).unwrap();
        assert!(matches!(sv, Block::SparseVec(_)), "{tag}");
        close(
            &sv.to_dense(),
            &sd.dot(&vd).into_dyn(),
            &format!("spmv {tag}"),
        );
        // sums and means along each dimension
        for dim in 0..2 {
            let got = x.sum_dim(dim).unwrap().collect_dense(ctx).unwrap();
            let want = a.sum_axis(Axis(dim)).insert_axis(Axis(dim));
            close(&got, &want, &format!("sum dims={dim} {tag}"));
            let n = a.shape()[dim] as f64;
            let mean = x
                .sum_dim(dim)
                .unwrap()
                .arith_scalar(n, ArithOp::Div, Side::Right)
                .collect_dense(ctx)
                .unwrap();
            let want = a.mean_axis(Axis(dim)).unwrap().insert_axis(Axis(dim));
            close(&mean, &want, &format!("mean dims={dim} {tag}"));
        }
        let mean = x.mean().collect(ctx).unwrap();
        assert!((mean - a.mean().unwrap()).abs() < 1e-12, "mean {tag}");
        let var = x.var(true).collect(ctx).unwrap();
        let want = a.var(1.0);
        assert!(
            (var - want).abs() < 1e-10 * (1.0 + want),
            "var {tag}: {var} vs {want}"
        );
        // indexing: a range of rows and a list of columns
        let (lo, hi) = (rng.gen_range(0..r), r);
        let cols: Vec<usize> = (0..4).map(|_| rng.gen_range(0..c)).collect();
        let got = x
            .index(&[(lo..hi).into(), cols.clone().into()])
            .unwrap()
            .collect(ctx)
            .unwrap()
            .to_dense();
        let want = a.slice(ndarray::s![lo..hi, ..]).select(Axis(1), &cols);
        assert_eq!(got, want.into_dyn(), "index {tag}");
        // fused sum(x.^2 .+ 1)
        let f = x
            .arith_scalar(2.0, ArithOp::Pow, Side::Right)
            .arith_scalar(1.0, ArithOp::Add, Side::Right)
            .sum()
            .collect(ctx)
            .unwrap();
        let want: f64 = a.iter().map(|v| v * v + 1.0).sum();
        assert!(
            (f - want).abs() <= 1e-9 * want,
            "fused {tag}: {f} vs {want}"
        );
        // comparisons, broadcasting, permutedims, extrema
        let got = x
            .compare(&y, crate::binary::CmpOp::Lt)
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        assert_eq!(
            got,
            ndarray::Zip::from(&a)
                .and(&b)
                .map_collect(|p, q| u8::from(p < q)),
            "{tag}"
        );
        let got = x
            .compare_scalar(0.0, crate::binary::CmpOp::Ge, Side::Right)
            .collect_dense(ctx)
            .unwrap();
        assert_eq!(got, a.mapv(|p| u8::from(p >= 0.0)), "{tag}");
        let col = crate::create::rand_block::<f64>(&[r], seed, case + 5);
        let dcol = DArray::from_array(col.clone(), &Blocks::from([bc.min(r)])).unwrap();
        let got = x
            .broadcast_col(&dcol, ArithOp::Mul)
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        let want = &a * &col.clone().insert_axis(Axis(1));
        close(&got, &want, &format!("broadcast {tag}"));
        let got = x.permutedims(&[1, 0]).unwrap().collect_dense(ctx).unwrap();
        assert_eq!(got, a.t().to_owned(), "permutedims {tag}");
        let (lo_v, hi_v) = x.extrema().collect(ctx).unwrap();
        assert_eq!(
            lo_v,
            a.iter().copied().fold(f64::INFINITY, f64::min),
            "{tag}"
        );
        assert_eq!(
            hi_v,
            a.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            "{tag}"
        );
        let ia = crate::create::rand_block::<i64>(&[r, c], seed, case);
        let ib = crate::create::rand_block::<i64>(&[r, c], seed, case + 1);
        let ix = DArray::from_array(ia.clone(), &Blocks::from([br, bc])).unwrap();
        let iy = DArray::from_array(ib.clone(), &Blocks::from([br, bc])).unwrap();
        let got = ix
            .bit(&iy, crate::ops::BitOp::Xor)
            .unwrap()
            .collect_dense(ctx)
            .unwrap();
        assert_eq!(got, &ia ^ &ib, "xor {tag}");
        // sort of u64 with duplicates, both orders
        let n = rng.gen_range(1..200);
        let vals: Vec<u64> = (0..n).map(|_| rng.gen_range(0..9)).collect();
        let part = rng.gen_range(1..=n.min(40));
        let dv = DArray::from_array(
            ndarray::Array1::from(vals.clone()).into_dyn(),
            &Blocks::from([part]),
        )
        .unwrap();
        for rev in [false, true] {
            let got = dv
                .sort(crate::sort::SortOptions { rev, stable: false })
                .unwrap()
                .collect_dense(ctx)
                .unwrap();
            let mut want = vals.clone();
            want.sort_unstable();
            if rev {
                want.reverse();
            }
            assert_eq!(
                got.iter().copied().collect::<Vec<_>>(),
                want,
                "sort rev={rev} {tag}"
            );
        }
    }
}

/// A shape mismatch found while blocks run (two arrays whose shapes agree but whose blocks,
/// read through views, do not) is a typed `DimensionMismatch` through `collect`; a mismatch
/// found up front is one too.
pub fn shape_errors_are_typed(ctx: &Context) {
    let x = DArray::<f64>::ones(&Blocks::from([4, 4]), &[8, 8]).unwrap();
    let y = DArray::<f64>::ones(&Blocks::from([4, 4]), &[8, 6]).unwrap();
    assert!(matches!(
        x.arith(&y, ArithOp::Add),
        Err(Error::DimensionMismatch(_))
    ));
    // Blocks whose shapes disagree only inside the tasks.
    let a = DArray::<f64>::ones(&Blocks::from([4, 4]), &[8, 8]).unwrap();
    let b = DArray::<f64>::ones(&Blocks::from([4, 4]), &[8, 8]).unwrap();
    let mut bad = b.clone();
    // Same grid of 2×2 blocks, but the blocks of a 6×6 array (4×4, 4×2, 2×4, 2×2).
    bad.blocks = DArray::<f64>::ones(&Blocks::from([4, 4]), &[6, 6])
        .unwrap()
        .blocks;
    let err = a
        .arith(&bad, ArithOp::Add)
        .unwrap()
        .collect(ctx)
        .unwrap_err();
    assert!(
        matches!(err.root_cause(), Error::DimensionMismatch(_)),
        "{err}"
    );
}
