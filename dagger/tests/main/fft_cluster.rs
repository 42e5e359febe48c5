//! FFTs and permutedims on a cluster of 2 worker processes (one cluster for every case):
//! 1-D and 2-D transforms of ragged blockings equal one single-block transform (rustfft on
//! the whole array) within a relative error of 1e-12, round trips give the input back, and
//! permutedims equals ndarray's `permuted_axes`.

use dagger::array::{Blocks, DArray};
use dagger::{Context, WorkerId};
use ndarray::ArrayD;
use std::collections::HashSet;

use crate::harness::cluster_builder;

/// `‖a − b‖ / ‖b‖` over all values.
fn rel(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
    let n: f64 = b.iter().map(|y| y * y).sum();
    (d / n.max(1e-300)).sqrt()
}

/// The same values in one block: its transform is one rustfft call per lane.
fn one_block(x: &ArrayD<f64>) -> DArray<f64> {
    DArray::from_array(x.clone(), &Blocks::new(x.shape()).unwrap()).unwrap()
}

#[test]
fn ffts_and_permutedims_on_two_workers() {
    let ctx = cluster_builder(2).threads(2).worker_threads(2).build();
    let local = Context::builder().threads(1).build();

    // Complex matrices of pairs [n, m, 2], ragged blockings spread over both workers.
    for (shape, blocks) in [([12, 10, 2], [5, 4, 2]), ([16, 9, 2], [3, 9, 2])] {
        let x = DArray::<f64>::rand_seeded(&Blocks::new(blocks).unwrap(), &shape, 11)
            .unwrap()
            .compute(&ctx)
            .unwrap();
        let owners: HashSet<WorkerId> = x.chunks().unwrap().iter().map(|c| c.owner()).collect();
        assert!(
            owners.contains(&WorkerId(2)) && owners.contains(&WorkerId(3)),
            "{shape:?}: blocks on both workers, {owners:?}"
        );
        let whole = x.collect_dense(&ctx).unwrap();
        let single = one_block(&whole);
        for inverse in [false, true] {
            for axis in [0, 1] {
                let got = x.fft(axis, inverse).unwrap().collect_dense(&ctx).unwrap();
                let want = single.fft(axis, inverse).unwrap();
                let want = want.collect_dense(&local).unwrap();
                let e = rel(&got, &want);
                assert!(e < 1e-12, "{shape:?} axis {axis} inverse {inverse}: {e}");
            }
            let got = x.fft2(inverse).unwrap().collect_dense(&ctx).unwrap();
            let want = single.fft2(inverse).unwrap().collect_dense(&local).unwrap();
            let e = rel(&got, &want);
            assert!(e < 1e-12, "{shape:?} fft2 inverse {inverse}: {e}");
        }
        // Round trips on the workers.
        let back = x.fft(0, false).unwrap().fft(0, true).unwrap();
        let e = rel(&back.collect_dense(&ctx).unwrap(), &whole);
        assert!(e < 1e-12, "{shape:?} 1-D round trip: {e}");
        let back = x.fft2(false).unwrap().fft2(true).unwrap();
        let e = rel(&back.collect_dense(&ctx).unwrap(), &whole);
        assert!(e < 1e-12, "{shape:?} 2-D round trip: {e}");
        // The transposed spectrum is the 2-D spectrum with its first two dimensions swapped.
        let t = x
            .fft2_transposed(false)
            .unwrap()
            .collect_dense(&ctx)
            .unwrap();
        let f = single.fft2(false).unwrap().collect_dense(&local).unwrap();
        let f = f
            .permuted_axes(vec![1, 0, 2])
            .as_standard_layout()
            .to_owned();
        assert!(rel(&t, &f) < 1e-12, "{shape:?} fft2_transposed");
    }

    // A real matrix: rfft and its inverse.
    let r = DArray::<f64>::rand_seeded(&Blocks::new([5, 4]).unwrap(), &[11, 14], 12)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let whole = r.collect_dense(&ctx).unwrap();
    let got = r.rfft(1).unwrap().collect_dense(&ctx).unwrap();
    let want = one_block(&whole)
        .rfft(1)
        .unwrap()
        .collect_dense(&local)
        .unwrap();
    assert!(rel(&got, &want) < 1e-12, "rfft");
    let back = r.rfft(1).unwrap().irfft(1, 14).unwrap();
    assert!(
        rel(&back.collect_dense(&ctx).unwrap(), &whole) < 1e-12,
        "irfft"
    );

    // permutedims in every order of a 3-D array, re-blocked, against permuted_axes.
    let a = DArray::<f64>::rand_seeded(&Blocks::new([3, 4, 5]).unwrap(), &[7, 9, 11], 13)
        .unwrap()
        .compute(&ctx)
        .unwrap();
    let whole = a.collect_dense(&ctx).unwrap();
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for perm in perms {
        let want = whole.clone().permuted_axes(perm.to_vec());
        let same = a.permutedims(&perm).unwrap().collect_dense(&ctx).unwrap();
        assert_eq!(same, want, "permutedims {perm:?}");
        let re = a
            .permutedims_blocked(&perm, &Blocks::new([4, 2, 6]).unwrap())
            .unwrap();
        assert_eq!(re.grid().block_shape(&[0, 0, 0]), vec![4, 2, 6]);
        assert_eq!(re.collect_dense(&ctx).unwrap(), want, "blocked {perm:?}");
    }
}
