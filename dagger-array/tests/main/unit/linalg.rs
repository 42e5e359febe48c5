//! The former unit tests of `src/linalg.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{rand_block, sprand_block};
use dagger_array::dist::{assemble, distribute};
use dagger_array::linalg::*;
use dagger_array::partition::Blocks;
use dagger_array::{Block, BlockGrid};
use dagger_core::Error;
use ndarray::ArrayD;
use proptest::prelude::*;

fn close(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| (x - y).abs() <= 1e-10 * (1.0 + y.abs()))
}

proptest! {
    #[test]
    fn dense_blocked_product(m in 1usize..9, k in 1usize..9, n in 1usize..9,
                             bm in 1usize..4, bk in 1usize..4, bn in 1usize..4, seed: u64) {
        let a = rand_block::<f64>(&[m, k], seed, 0);
        let b = rand_block::<f64>(&[k, n], seed, 1);
        let x = rand_block::<f64>(&[k], seed, 2);
        let ag = BlockGrid::new(&[m, k], &Blocks::from([bm, bk]), 1).unwrap();
        let bg = BlockGrid::new(&[k, n], &Blocks::from([bk, bn]), 1).unwrap();
        let xg = BlockGrid::new(&[k], &Blocks::from([bk]), 1).unwrap();
        let ab = distribute(&Block::Dense(a.clone()), &ag).unwrap();
        let bb = distribute(&Block::Dense(b.clone()), &bg).unwrap();
        let xb = distribute(&Block::Dense(x.clone()), &xg).unwrap();
        let (cg, cb) = matmul_blocks(&ag, &ab, &bg, &bb).unwrap();
        prop_assert!(close(&assemble(&cg, &cb).unwrap().to_dense(), &matmul_dense(&a, &b).unwrap()));
        let (yg, yb) = matmul_blocks(&ag, &ab, &xg, &xb).unwrap();
        prop_assert!(close(&assemble(&yg, &yb).unwrap().to_dense(), &matmul_dense(&a, &x).unwrap()));
        let (tg, tb) = transpose_blocks(&ag, &ab).unwrap();
        prop_assert_eq!(assemble(&tg, &tb).unwrap().to_dense(), a.t().to_owned());
    }

    #[test]
    fn sparse_blocked_products(m in 1usize..12, k in 1usize..12, bm in 1usize..5, bk in 1usize..5, seed: u64) {
        let a = sprand_block::<f64>(&[m, k], 0.3, seed, 0).unwrap();
        let x = sprand_block::<f64>(&[k], 0.5, seed, 1).unwrap();
        let b = sprand_block::<f64>(&[k, m], 0.3, seed, 2).unwrap();
        let ag = BlockGrid::new(&[m, k], &Blocks::from([bm, bk]), 1).unwrap();
        let xg = BlockGrid::new(&[k], &Blocks::from([bk]), 1).unwrap();
        let bg = BlockGrid::new(&[k, m], &Blocks::from([bk, bm]), 1).unwrap();
        let ab = distribute(&a, &ag).unwrap();
        let (yg, yb) = matmul_blocks(&ag, &ab, &xg, &distribute(&x, &xg).unwrap()).unwrap();
        let y = assemble(&yg, &yb).unwrap();
        prop_assert!(matches!(y, Block::SparseVec(_)));
        prop_assert!(close(&y.to_dense(), &matmul_dense(&a.to_dense(), &x.to_dense()).unwrap()));
        // Against sprs on the whole matrices.
        let (Block::SparseMat(am), Block::SparseVec(xv)) = (&a, &x) else { unreachable!() };
        prop_assert!(close(&y.to_dense(), &spmv(am, xv).unwrap().to_dense().into_dyn()));
        let (cg, cb) = matmul_blocks(&ag, &ab, &bg, &distribute(&b, &bg).unwrap()).unwrap();
        let c = assemble(&cg, &cb).unwrap();
        prop_assert!(matches!(c, Block::SparseMat(_)));
        prop_assert!(close(&c.to_dense(), &matmul_dense(&a.to_dense(), &b.to_dense()).unwrap()));
        prop_assert_eq!(transpose_block(&a).to_dense(), a.to_dense().t().to_owned());
        prop_assert_eq!(transpose_block(&x).to_dense(), x.to_dense().into_shape_with_order(vec![1, k]).unwrap());
    }
}

#[test]
fn mismatches() {
    let a = BlockGrid::new(&[4, 4], &Blocks::from([2, 2]), 1).unwrap();
    let b = BlockGrid::new(&[4, 4], &Blocks::from([3, 3]), 1).unwrap();
    let blocks =
        |g: &BlockGrid| distribute(&Block::Dense(ArrayD::<f64>::zeros(vec![4, 4])), g).unwrap();
    assert!(matches!(
        matmul_blocks(&a, &blocks(&a), &b, &blocks(&b)),
        Err(Error::DimensionMismatch(_))
    ));
    let x = ArrayD::<f64>::zeros(vec![3]);
    assert!(matmul_dense(&ArrayD::<f64>::zeros(vec![2, 2]), &x).is_err());
}

/// `matmul_nt` of block rows: Σ a_k·b_kᵀ for dense f64 (faer, transposed views), the
/// symmetric form (one triangle, mirrored), sparse blocks (the generic path), and typed
/// errors for rows that do not match.
#[test]
fn matmul_nt_of_block_rows() {
    let ks = [3usize, 5, 1];
    let a: Vec<ArrayD<f64>> = ks
        .iter()
        .enumerate()
        .map(|(i, &k)| rand_block(&[4, k], 9, i))
        .collect();
    let b: Vec<ArrayD<f64>> = ks
        .iter()
        .enumerate()
        .map(|(i, &k)| rand_block(&[6, k], 8, i))
        .collect();
    let blocks = |v: &[ArrayD<f64>]| {
        v.iter()
            .map(|x| Block::Dense(x.clone()))
            .collect::<Vec<_>>()
    };
    let (ab, bb) = (blocks(&a), blocks(&b));
    let (ar, br): (Vec<&Block<f64>>, Vec<&Block<f64>>) = (ab.iter().collect(), bb.iter().collect());
    let view = |v: &ArrayD<f64>| {
        v.view()
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap()
            .to_owned()
    };
    let mut want = ndarray::Array2::<f64>::zeros((4, 6));
    let mut sym = ndarray::Array2::<f64>::zeros((4, 4));
    for (x, y) in a.iter().zip(&b) {
        want += &view(x).dot(&view(y).t());
        sym += &view(x).dot(&view(x).t());
    }
    assert!(close(
        &matmul_nt(&ar, Some(&br)).unwrap().to_dense(),
        &want.into_dyn()
    ));
    let s = matmul_nt(&ar, None).unwrap().to_dense();
    assert!(close(&s, &sym.clone().into_dyn()));
    assert!((0..4).all(|i| (0..4).all(|j| s[[i, j]] == s[[j, i]])));
    let sp: Vec<Block<f64>> = ab.iter().map(sparse_like).collect();
    let spr: Vec<&Block<f64>> = sp.iter().collect();
    let ss = matmul_nt(&spr, None).unwrap().to_dense();
    let mut want_sp = ndarray::Array2::<f64>::zeros((4, 4));
    for x in &sp {
        let d = view(&x.to_dense());
        want_sp += &d.dot(&d.t());
    }
    assert!(close(&ss, &want_sp.into_dyn()));
    assert!(matches!(
        matmul_nt(&ar[..2], Some(&br)),
        Err(Error::DimensionMismatch(_))
    ));
    assert!(matches!(
        matmul_nt(&ar, Some(&ar[..1])),
        Err(Error::DimensionMismatch(_))
    ));
    let none: [&Block<f64>; 0] = [];
    assert!(matches!(
        matmul_nt(&none, None),
        Err(Error::DimensionMismatch(_))
    ));
}

/// A sparse block with the pattern of every other value of `x`.
fn sparse_like(x: &Block<f64>) -> Block<f64> {
    let d = x.to_dense().into_dimensionality::<ndarray::Ix2>().unwrap();
    let mut t = sprs::TriMat::new(d.dim());
    for ((i, j), &v) in d.indexed_iter() {
        if (i + j) % 2 == 0 {
            t.add_triplet(i, j, v);
        }
    }
    Block::SparseMat(t.to_csc())
}
