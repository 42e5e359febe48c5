//! Tests of the `DArray` API end to end on a local context (formerly
//! `dagger-array/src/darray/tests.rs`, unit tests of the crate).

use dagger_array::darray::*;
use dagger_array::io;
use dagger_array::ops::{ArithOp, Side};
use dagger_array::partition::{AutoBlocks, Blocks};
use dagger_array::Block;
use dagger_core::Error;
use dagger_sched::Context;

fn ctx() -> Context {
    Context::builder().threads(2).build()
}

#[test]
fn sum_of_squares_of_randn() {
    let ctx = ctx();
    let (n, m) = (300, 200);
    let x = DArray::<f64>::randn(&Blocks::from([128, 128]), &[n, m]).unwrap();
    let s = x.map(|v| v * v).sum().collect(&ctx).unwrap();
    let nm = (n * m) as f64;
    // The sum of n·m squared normals has mean n·m and standard deviation sqrt(2·n·m).
    assert!((s - nm).abs() < 6.0 * (2.0 * nm).sqrt(), "{s}");
}

#[test]
fn distribute_map_sum_1000() {
    let ctx = ctx();
    let a = dagger_array::create::rand_block::<f64>(&[1000, 1000], 5, 0);
    let want: f64 = a.iter().map(|x| x * x).sum();
    let b = DArray::from_array(a.clone(), &Blocks::from([100, 100])).unwrap();
    assert_eq!(b.grid().grid_shape(), vec![10, 10]);
    let c = b.map(|x| x * x);
    let d = c.sum().collect(&ctx).unwrap();
    assert!((d - want).abs() < 1e-9 * want);
    assert_eq!(b.collect_dense(&ctx).unwrap(), a);
    let computed = c.compute(&ctx).unwrap();
    assert_eq!(computed.chunks().map(<[_]>::len), Some(100));
    assert!(computed
        .chunks()
        .unwrap()
        .iter()
        .all(|ch| ch.size_bytes() >= 100 * 100 * 8));
    assert!(computed
        .to_string()
        .starts_with("Computed(1000×1000 f64 in 100 parts"));
    // Reusing the computed array in new work.
    let e = computed
        .arith_scalar(2.0, ArithOp::Mul, Side::Right)
        .sum()
        .collect(&ctx)
        .unwrap();
    assert!((e - 2.0 * want).abs() < 1e-9 * want);
}

#[test]
fn sparse_matvec_against_sprs() {
    let ctx = ctx();
    let s1 = DArray::<f64>::sprand_seeded(&Blocks::from([40, 40]), &[100, 100], 0.05, 1).unwrap();
    let s2 = DArray::<f64>::sprand_seeded(&Blocks::from([40]), &[100], 0.3, 2).unwrap();
    assert_eq!(s2.to_string(), "100 sparse f64 in 3 parts of at most 40");
    let y = s1.matmul(&s2).unwrap();
    let got = y.collect(&ctx).unwrap();
    assert!(matches!(got, Block::SparseVec(_)));
    let (Block::SparseMat(m), Block::SparseVec(v)) =
        (s1.collect(&ctx).unwrap(), s2.collect(&ctx).unwrap())
    else {
        panic!("sparse blocks expected")
    };
    let want = (&m * &v).to_dense();
    let diff = (&got.to_dense() - &want.into_dyn()).mapv(f64::abs).sum();
    assert!(diff < 1e-12, "{diff}");
}

#[test]
fn dense_products_transpose_and_dims() {
    let ctx = ctx();
    let a = dagger_array::create::rand_block::<f64>(&[30, 20], 1, 0);
    let x = DArray::from_array(a.clone(), &Blocks::from([10, 8])).unwrap();
    let xt = x.transpose().unwrap();
    assert_eq!(xt.grid().grid_shape(), vec![3, 3]);
    assert_eq!(xt.collect_dense(&ctx).unwrap(), a.t().to_owned());
    let g = x.matmul(&xt).unwrap().collect_dense(&ctx).unwrap();
    let want =
        dagger_array::linalg::matmul_dense(&a, &dagger_array::linalg::transpose_dense(&a)).unwrap();
    assert!((&g - &want).mapv(f64::abs).sum() < 1e-10);
    let bad = DArray::from_array(a.clone(), &Blocks::from([10, 10])).unwrap();
    assert!(matches!(x.matmul(&bad), Err(Error::DimensionMismatch(_))));
    let s1 = x.sum_dim(0).unwrap().collect_dense(&ctx).unwrap();
    assert_eq!(s1.shape(), &[1, 20]);
    assert!((s1.sum() - a.sum()).abs() < 1e-9);
    let mx = x.maximum().collect(&ctx).unwrap();
    assert_eq!(mx, a.iter().copied().fold(f64::MIN, f64::max));
    assert!((x.mean().collect(&ctx).unwrap() - a.mean().unwrap()).abs() < 1e-12);
    let nb = x.reduceblock(|b| b.nnz()).collect(&ctx).unwrap();
    assert_eq!(nb.shape(), &[3, 3]);
    assert_eq!(nb.sum(), 600);
    let sub = x
        .index(&[(2..8).into(), vec![19, 0, 5].into()])
        .unwrap()
        .collect(&ctx)
        .unwrap();
    assert_eq!(sub.to_dense()[[0, 0]], a[[2, 19]]);
    assert_eq!(sub.shape(), vec![6, 3]);
}

#[test]
fn errors_flow_and_save_load() {
    let ctx = ctx();
    let a = DArray::<i64>::ones(&AutoBlocks, &[4, 6]).unwrap();
    let z = DArray::<i64>::zeros(&AutoBlocks, &[4, 6]).unwrap();
    let q = a.arith(&z, ArithOp::Div).unwrap();
    assert!(
        matches!(q.sum().collect(&ctx).unwrap_err().root_cause(), Error::Argument(m) if m.contains("DivideError"))
    );
    assert!(q.compute(&ctx).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("X_sq");
    let x = DArray::<f64>::randn_seeded(&Blocks::from([7, 7]), &[20, 15], 3).unwrap();
    let sq = x.map(|v| v * v);
    sq.save(&path).collect(&ctx).unwrap();
    let back = DArray::<f64>::load(&path).unwrap();
    assert_eq!(
        back.collect_dense(&ctx).unwrap(),
        sq.collect_dense(&ctx).unwrap()
    );
    assert!(DArray::<f32>::load(&path).is_err());
    std::fs::remove_file(io::data_dir(&path).join("block_0.bin")).unwrap();
    let err = DArray::<f64>::load(&path)
        .unwrap()
        .sum()
        .collect(&ctx)
        .unwrap_err();
    assert!(err.to_string().contains("block_0.bin"), "{err}");
}

/// The save and load kernels (what a worker runs) on a local context: the round trip,
/// and a damaged, missing or misnamed payload as a typed error naming the file.
#[test]
fn save_and_load_kernels() {
    let ctx = dagger_sched::Context::builder().threads(2).build();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("K");
    let x = DArray::<i32>::rand_seeded(&Blocks::from([4, 3]), &[9, 7], 5).unwrap();
    let saved = x.save(&path).collect(&ctx).unwrap();
    assert_eq!(saved.blocks.len(), 9);
    let back = DArray::<i32>::load(&path).unwrap();
    assert_eq!(back.collect(&ctx).unwrap(), x.collect(&ctx).unwrap());

    let entry = saved.blocks[4].clone();
    let shape = saved
        .meta
        .grid
        .block_shape(&saved.meta.grid.block_coords(4));
    let ok = dagger_array::remote::load_block::<i32>(&path, &entry, &shape).unwrap();
    assert_eq!(ok.shape(), shape);
    let bad = io::SavedBlock {
        file: "../block_4.bin".into(),
        ..entry.clone()
    };
    let err = dagger_array::remote::load_block::<i32>(&path, &bad, &shape).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    // A wrong shape from the driver is a corrupt-payload error, not a panic.
    let err = dagger_array::remote::load_block::<i32>(&path, &entry, &[3, 3]).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");

    // A damaged payload fails the load task; the error names the file.
    let f = io::data_dir(&path).join("block_4.bin");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&f, &bytes).unwrap();
    let err = DArray::<i32>::load(&path)
        .unwrap()
        .collect(&ctx)
        .unwrap_err();
    match err.root_cause() {
        Error::Corrupt { what, detail } => {
            assert!(what.ends_with("block_4.bin") && detail.contains("checksum"))
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // A truncated one too.
    std::fs::write(&f, &bytes[..bytes.len() - 4]).unwrap();
    let err = dagger_array::remote::load_block::<i32>(&path, &entry, &shape).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { what, detail } if what.ends_with("block_4.bin") && detail.contains("expected")),
        "{err:?}"
    );
    std::fs::remove_file(&f).unwrap();
    let err = DArray::<i32>::load(&path)
        .unwrap()
        .collect(&ctx)
        .unwrap_err();
    assert!(
        matches!(err.root_cause(), Error::NotFound(p) if p.ends_with("block_4.bin")),
        "{err:?}"
    );
}
