//! The checks of Dagger.jl's array tests G48–G58: construction, `AutoBlocks`, map and
//! broadcast, reductions, indexing, transposes, products, random blocks and the README's
//! sparse example.

use crate::binary::Side;
use crate::block::{Block, Kind};
use crate::darray::DArray;
use crate::element::Element;
use crate::grid::BlockGrid;
use crate::index::Index;
use crate::ops::ArithOp;
use crate::partition::{AutoBlocks, Blocks};
use crate::reduce::ReduceOp;
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
