//! The former unit tests of `src/create.rs` (`unit`'s doc says why they moved).

use dagger_array::create::*;

#[test]
fn randn_moments() {
    let a = randn_block::<f64>(&[200, 200], 3, 5);
    let n = a.len() as f64;
    let mean = a.sum() / n;
    let var = a.mapv(|x| x * x).sum() / n;
    assert!(mean.abs() < 0.02, "mean {mean}");
    assert!((var - 1.0).abs() < 0.03, "var {var}");
}

#[test]
fn sprand_extremes() {
    assert_eq!(sprand_block::<f64>(&[7, 9], 0.0, 1, 0).unwrap().nnz(), 0);
    assert_eq!(sprand_block::<f64>(&[7, 9], 1.0, 1, 0).unwrap().nnz(), 63);
    let v = sprand_block::<f32>(&[50], 1.0, 1, 0).unwrap();
    assert_eq!(v.shape(), vec![50]);
    assert_eq!(v.nnz(), 50);
    assert!(sprand_block::<f64>(&[2, 2, 2], 0.5, 1, 0).is_err());
}

#[test]
fn ints_and_ones() {
    let a = rand_block::<i32>(&[10], 1, 0);
    assert!(a.iter().any(|&x| x != a[[0]]));
    assert_eq!(ones_block::<i64>(&[2, 2]).sum(), 4);
    assert_eq!(zeros_block::<f32>(&[]).len(), 1);
}
