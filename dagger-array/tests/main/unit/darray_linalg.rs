//! The former unit tests of `src/darray/linalg.rs` (`unit`'s doc says why they moved).

use dagger_array::__private::is_transpose_of;
use dagger_array::partition::Blocks;
use dagger_array::DArray;

#[test]
fn a_times_its_transpose_is_recognised() {
    let ctx = dagger_sched::Context::builder().threads(2).build();
    let a = DArray::<f64>::rand_seeded(&Blocks::from([3, 2]), &[7, 5], 1).unwrap();
    let b = DArray::<f64>::rand_seeded(&Blocks::from([3, 2]), &[7, 5], 2).unwrap();
    let at = a.transpose().unwrap();
    assert!(is_transpose_of(&at, &a));
    assert!(!is_transpose_of(&b.transpose().unwrap(), &a));
    assert!(!is_transpose_of(&a, &a));
    // The symmetric product equals the general one (A·Bᵀ with B = A by value).
    let b_same = DArray::<f64>::rand_seeded(&Blocks::from([3, 2]), &[7, 5], 1).unwrap();
    let sym = a.matmul(&at).unwrap().collect_dense(&ctx).unwrap();
    let general = a
        .matmul(&b_same.transpose().unwrap())
        .unwrap()
        .collect_dense(&ctx)
        .unwrap();
    assert_eq!(sym.shape(), &[7, 7]);
    assert!(sym
        .iter()
        .zip(general.iter())
        .all(|(x, y)| (x - y).abs() < 1e-12));
    for i in 0..7 {
        for j in 0..7 {
            assert_eq!(sym[[i, j]], sym[[j, i]]);
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    /// `A·Aᵀ` through the one-task-per-block path (`MatmulNt`: two block rows of `A`, no `Aᵀ`
    /// blocks; diagonal blocks one triangle, mirrored) equals ndarray's product, ragged edges
    /// included, and is exactly symmetric; f32 and i64 (the path without faer) too.
    #[test]
    fn a_times_its_transpose_matches_ndarray(m in 1usize..70, k in 1usize..70,
                                            bm in 1usize..40, bk in 1usize..40, seed in 0u64..1000) {
        let ctx = dagger_sched::Context::builder().threads(2).build();
        let a = DArray::<f64>::rand_seeded(&Blocks::from([bm, bk]), &[m, k], seed).unwrap();
        let got = a.matmul(&a.transpose().unwrap()).unwrap().collect_dense(&ctx).unwrap();
        let d = a.collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
        let want = d.dot(&d.t());
        proptest::prop_assert_eq!(got.shape(), &[m, m]);
        for i in 0..m {
            for j in 0..m {
                proptest::prop_assert!((got[[i, j]] - want[[i, j]]).abs() <= 1e-12 * (1.0 + want[[i, j]].abs()));
                proptest::prop_assert_eq!(got[[i, j]], got[[j, i]]);
            }
        }
        let af = a.map(|v| v as f32);
        let gf = af.matmul(&af.transpose().unwrap()).unwrap().collect_dense(&ctx).unwrap();
        proptest::prop_assert!(gf.iter().zip(want.iter()).all(|(x, y)| (f64::from(*x) - y).abs() <= 1e-4 * (1.0 + y.abs())));
        let ai = a.map(|v| (v * 10.0) as i64);
        let di = ai.collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
        let gi = ai.matmul(&ai.transpose().unwrap()).unwrap().collect_dense(&ctx).unwrap();
        proptest::prop_assert_eq!(gi, di.dot(&di.t()).into_dyn());
    }
}
