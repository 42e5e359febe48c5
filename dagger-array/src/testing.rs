//! The array behaviours of group G (Dagger.jl's array tests) as functions of a context, so
//! the same checks run on threads (`tests/behaviours.rs`) and on a cluster of worker
//! processes (the facade's `tests/arrays_cluster.rs`). Test support: these functions assert
//! (panic) on a wrong result. Indices are 0-based.

use crate::binary::Side;
use crate::index::Index;
use crate::reduce::ReduceOp;
use crate::block::{Block, Kind};
use crate::darray::DArray;
use crate::element::Element;
use crate::grid::BlockGrid;
use crate::ops::ArithOp;
use crate::partition::{AutoBlocks, Blocks};
use dagger_core::{Error, Partitioning};
use dagger_sched::Context;
use ndarray::{ArrayD, Axis, IxDyn};
use rand::distributions::{Distribution, Standard};

fn g48_round_trip<T: Element>(ctx: &Context)
where
    Standard: Distribution<T>,
{
    for shape in [vec![], vec![64], vec![64, 64], vec![16, 16, 16]] {
        let a = crate::create::rand_block::<T>(&shape, 11, 0);
        let part = Blocks::new(vec![8; shape.len()]).unwrap();
        let d = DArray::from_array(a.clone(), &part).unwrap();
        assert_eq!(d.shape(), &shape[..]);
        assert_eq!(d.collect_dense(ctx).unwrap(), a, "{} {shape:?}", T::NAME);
    }
}

/// The checks of `g48_construction_round_trip` on `ctx`.
pub fn g48_construction_round_trip(ctx: &Context) {
    g48_round_trip::<f32>(ctx);
    g48_round_trip::<f64>(ctx);
    g48_round_trip::<i32>(ctx);
    g48_round_trip::<i64>(ctx);
    let d = DArray::from_array(
        ArrayD::<f64>::zeros(vec![100, 100]),
        &Blocks::from([10, 20]),
    )
    .unwrap();
    assert_eq!(d.grid().grid_shape(), vec![10, 5]);
    let small = ndarray::arr2(&[[1, 2], [3, 4]]).into_dyn();
    let d = DArray::from_array(small.clone(), &Blocks::from([1, 1])).unwrap();
    assert_eq!(d.collect_dense(ctx).unwrap(), small);
    // Redistributing 2 parts into 3 preserves values.
    let v = crate::create::rand_block::<f64>(&[10], 1, 0);
    let two = DArray::from_array(v.clone(), &Blocks::from_counts(&[10], &[2]).unwrap()).unwrap();
    let three = DArray::from_array(
        two.collect_dense(ctx).unwrap(),
        &Blocks::from_counts(&[10], &[3]).unwrap(),
    )
    .unwrap();
    assert_eq!(three.grid().num_blocks(), 3);
    assert_eq!(three.collect_dense(ctx).unwrap(), v);
}

/// The checks of `g49_autoblocks` on `ctx`.
pub fn g49_autoblocks(_ctx: &Context) {
    let np = crate::darray::default_nprocs();
    for nd in 1..=3 {
        let shape = vec![100; nd];
        let g = BlockGrid::new(&shape, &AutoBlocks, np).unwrap();
        let mut want = vec![100; nd];
        want[nd - 1] = 100usize.div_ceil(np);
        assert_eq!(g.max_block_shape(), want);
    }
    assert!(AutoBlocks.block_ranges(&[], np).unwrap().is_empty());
}

/// The checks of `g51_map_and_broadcast` on `ctx`.
pub fn g51_map_and_broadcast(ctx: &Context) {
    let x = DArray::<f64>::ones(&Blocks::from([10, 10]), &[100, 100]).unwrap();
    let y = x.map(|v| v + 1.0).collect_dense(ctx).unwrap();
    assert!(y.iter().all(|&v| v == 2.0));
    let s = x
        .arith_scalar(3.4, ArithOp::Mul, Side::Right)
        .collect_dense(ctx)
        .unwrap();
    assert!(s.iter().all(|&v| v == 3.4));
    let xx = x
        .arith(&x, ArithOp::Add)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert!(xx.iter().all(|&v| v == 2.0));
    let other = DArray::<f64>::ones(&Blocks::from([10, 10]), &[100, 50]).unwrap();
    assert!(matches!(
        x.arith(&other, ArithOp::Add),
        Err(Error::DimensionMismatch(_))
    ));
}

fn g52_for<T: Element>(ctx: &Context)
where
    Standard: Distribution<T>,
{
    let a = crate::create::rand_block::<T>(&[100, 100], 2, 0).mapv(|x| {
        // Small values so integer sums and products stay meaningful.
        let f = x.to_f64().unwrap_or(0.0).abs();
        T::from(if T::FLOAT { f } else { f % 3.0 }).unwrap_or_else(T::zero)
    });
    let x = DArray::from_array(a.clone(), &Blocks::from([10, 10])).unwrap();
    let close = |g: T, w: T| {
        let (g, w) = (g.to_f64().unwrap_or(0.0), w.to_f64().unwrap_or(0.0));
        (g - w).abs() <= 1e-4 * (1.0 + w.abs()) || (g.is_nan() && w.is_nan())
    };
    let whole = |op: ReduceOp| {
        a.iter()
            .copied()
            .reduce(|p, q| op.apply(p, q))
            .unwrap_or_else(T::zero)
    };
    assert!(close(x.sum().collect(ctx).unwrap(), whole(ReduceOp::Sum)));
    assert!(close(x.prod().collect(ctx).unwrap(), whole(ReduceOp::Prod)));
    assert_eq!(x.minimum().collect(ctx).unwrap(), whole(ReduceOp::Min));
    assert_eq!(x.maximum().collect(ctx).unwrap(), whole(ReduceOp::Max));
    assert!(close(
        x.reduce(|p, q| ReduceOp::Sum.apply(p, q))
            .collect(ctx)
            .unwrap(),
        whole(ReduceOp::Sum)
    ));
    for dim in 0..2 {
        for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
            let got = x.reduce_dim(op, dim).unwrap().collect_dense(ctx).unwrap();
            let want = a
                .map_axis(Axis(dim), |l| {
                    l.iter()
                        .copied()
                        .reduce(|p, q| op.apply(p, q))
                        .unwrap_or_else(T::zero)
                })
                .insert_axis(Axis(dim));
            assert_eq!(got.shape(), want.shape());
            assert!(
                got.iter().zip(want.iter()).all(|(&g, &w)| close(g, w)),
                "{} {op:?} dims={dim}",
                T::NAME
            );
        }
    }
}

/// The checks of `g52_reductions` on `ctx`.
pub fn g52_reductions(ctx: &Context) {
    g52_for::<i32>(ctx);
    g52_for::<i64>(ctx);
    g52_for::<f32>(ctx);
    g52_for::<f64>(ctx);
    let x = DArray::<f64>::rand_seeded(&Blocks::from([10, 10]), &[100, 100], 4).unwrap();
    let a = x.collect_dense(ctx).unwrap();
    assert!((x.mean().collect(ctx).unwrap() - a.mean().unwrap_or(0.0)).abs() < 1e-12);
}

/// The checks of `g53_indexing_dense_and_sparse` on `ctx`.
pub fn g53_indexing_dense_and_sparse(ctx: &Context) {
    let dense = crate::create::rand_block::<f64>(&[10, 10], 3, 0);
    let sparse = crate::create::sprand_block::<f64>(&[10, 10], 0.4, 3, 0).unwrap();
    for whole in [Block::Dense(dense), sparse] {
        let kind = whole.kind();
        let full = whole.to_dense();
        let x = DArray::distribute(whole, &Blocks::from([3, 3])).unwrap();
        let take = |ix: Vec<Index>| x.index(&ix).unwrap().collect(ctx).unwrap();
        let got = take(vec![(2..8).into(), (1..7).into()]);
        assert_eq!(got.kind(), kind);
        assert_eq!(
            got.to_dense(),
            full.slice(ndarray::s![2..8, 1..7]).to_owned().into_dyn()
        );
        let rows = vec![0, 1, 8, 6, 5, 1, 3, 4];
        let got = take(vec![rows.clone().into(), Index::All]).to_dense();
        assert_eq!(got, full.select(Axis(0), &rows));
        let got = take(vec![vec![4, 3, 2].into(), 4.into()]).to_dense();
        assert_eq!(got.shape(), &[3]);
        assert_eq!(got[[0]], full[[4, 4]]);
        assert_eq!(
            take(vec![4.into(), 4.into()]).to_dense()[IxDyn(&[])],
            full[[4, 4]]
        );
        assert_eq!(
            take(vec![Index::List(vec![]), Index::All]).shape(),
            vec![0, 10]
        );
        assert!(x.index(&[10.into(), 0.into()]).is_err());
    }
}

/// The checks of `g55_transpose_grid_and_values` on `ctx`.
pub fn g55_transpose_grid_and_values(ctx: &Context) {
    let (rows, cols) = (40, 60);
    let a = crate::create::rand_block::<f64>(&[rows, cols], 8, 0);
    let x = DArray::from_array(a.clone(), &Blocks::from([10, 20])).unwrap();
    let t = x.transpose().unwrap();
    assert_eq!(t.grid().grid_shape(), vec![cols / 20, rows / 10]);
    assert_eq!(t.grid().max_block_shape(), vec![20, 10]);
    assert_eq!(t.collect_dense(ctx).unwrap(), a.t().to_owned());
    let s = DArray::<f64>::sprand_seeded(&Blocks::from([10, 20]), &[rows, cols], 0.1, 2).unwrap();
    let st = s.transpose().unwrap();
    assert_eq!(st.meta().kind, Kind::Sparse);
    assert_eq!(
        st.collect(ctx).unwrap().to_dense(),
        s.collect(ctx).unwrap().to_dense().t().to_owned()
    );
}

/// The checks of `g56_products` on `ctx`.
pub fn g56_products(ctx: &Context) {
    let a = crate::create::rand_block::<f64>(&[30, 30], 5, 0);
    let x = DArray::from_array(a.clone(), &Blocks::from([10, 10])).unwrap();
    let xt = x.transpose().unwrap();
    let a2 = a.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    let frob =
        |g: ArrayD<f64>, w: ndarray::Array2<f64>| (&g - &w.into_dyn()).mapv(|v| v * v).sum().sqrt();
    assert!(
        frob(
            xt.matmul(&x).unwrap().collect_dense(ctx).unwrap(),
            a2.t().dot(&a2)
        ) < 1e-12
    );
    assert!(
        frob(
            x.matmul(&xt).unwrap().collect_dense(ctx).unwrap(),
            a2.dot(&a2.t())
        ) < 1e-12
    );
    let x3 = x.matmul(&x).unwrap().matmul(&x).unwrap();
    assert!(frob(x3.collect_dense(ctx).unwrap(), a2.dot(&a2).dot(&a2)) < 1e-10);
    let v = crate::create::rand_block::<f64>(&[30], 6, 0);
    let dv = DArray::from_array(v.clone(), &Blocks::from([10])).unwrap();
    let y = x.matmul(&dv).unwrap().collect_dense(ctx).unwrap();
    let want = a2.dot(&v.into_dimensionality::<ndarray::Ix1>().unwrap());
    assert!((&y - &want.into_dyn()).mapv(f64::abs).sum() < 1e-12);
}

/// The checks of `g58_random_blocks_differ` on `ctx`.
pub fn g58_random_blocks_differ(ctx: &Context) {
    let part = Blocks::from([5, 5]);
    let x = DArray::<f64>::rand(&part, &[10, 10])
        .unwrap()
        .compute(ctx)
        .unwrap();
    let a = x.collect_dense(ctx).unwrap();
    assert!(a.iter().all(|v| (0.0..1.0).contains(v)));
    let b00 = a.slice(ndarray::s![0..5, 0..5]).to_owned();
    let b11 = a.slice(ndarray::s![5..10, 5..10]).to_owned();
    assert_ne!(b00, b11, "each block draws from its own stream");
    let again = DArray::<f64>::rand(&part, &[10, 10])
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_ne!(a, again, "each call yields different values");
    let n = DArray::<f64>::randn(&part, &[10, 10])
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert!(n.iter().any(|&v| v < 0.0));
    // Seeded arrays are reproducible.
    let s1 = DArray::<f64>::rand_seeded(&part, &[10, 10], 9)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    let s2 = DArray::<f64>::rand_seeded(&part, &[10, 10], 9)
        .unwrap()
        .collect_dense(ctx)
        .unwrap();
    assert_eq!(s1, s2);
}

/// The checks of `readme_sparse_example_and_summary` on `ctx`.
pub fn readme_sparse_example_and_summary(ctx: &Context) {
    let s1 = DArray::<f64>::sprand(&Blocks::from([400, 400]), &[1000, 1000], 0.01).unwrap();
    let s2 = DArray::<f64>::sprand(&Blocks::from([400]), &[1000], 0.01).unwrap();
    let c = s1.compute(ctx).unwrap();
    assert_eq!(
        c.to_string(),
        "Computed(1000×1000 sparse f64 in 9 parts of at most 400×400)"
    );
    let x = c.matmul(&s2).unwrap().compute(ctx).unwrap();
    assert_eq!(
        x.to_string(),
        "Computed(1000 sparse f64 in 3 parts of at most 400)"
    );
    let nnz = c.collect(ctx).unwrap().nnz();
    assert!((7_000..13_000).contains(&nnz), "{nnz}");
}

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
        let got = x.unary(crate::unary_op::UnaryOp::Exp).collect_dense(ctx).unwrap();
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

// ---- Structure operations (G48, G51–G55 parts of `tests/structure.rs`). ----

use crate::binary::CmpOp;
use crate::create::rand_block;
use crate::ops::BitOp;
use ndarray::concatenate;

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
