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
