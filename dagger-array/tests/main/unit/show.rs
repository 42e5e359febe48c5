//! The former unit tests of `src/show.rs` (`unit`'s doc says why they moved).

use dagger_array::partition::Blocks;
use dagger_array::DArray;
use dagger_sched::Context;

#[test]
fn shows_like_ndarray_and_elides_large_arrays_to_corners() {
    let ctx = Context::local();
    let a = ndarray::Array::from_shape_fn((3, 4), |(i, j)| (i * 10 + j) as i64);
    let d = DArray::from_ndarray(a.clone(), &Blocks::from([2, 3])).unwrap();
    assert_eq!(d.show(&ctx).unwrap().to_string(), a.to_string());
    assert_eq!(
        format!("{:?}", d.show(&ctx).unwrap()),
        format!("{:?}", a.into_dyn())
    );

    let big = ndarray::Array::from_shape_fn((30, 20), |(i, j)| (i * 100 + j) as i64);
    let d = DArray::from_ndarray(big, &Blocks::from([7, 8])).unwrap();
    let shown = d.show(&ctx).unwrap().to_string();
    let (head, body) = shown.split_once('\n').unwrap();
    assert_eq!(
        head,
        "30×20 i64 in 15 parts of at most 7×8, first and last 3 along each axis:"
    );
    let corners = ndarray::array![
        [0, 1, 2, 17, 18, 19],
        [100, 101, 102, 117, 118, 119],
        [200, 201, 202, 217, 218, 219],
        [2700, 2701, 2702, 2717, 2718, 2719],
        [2800, 2801, 2802, 2817, 2818, 2819],
        [2900, 2901, 2902, 2917, 2918, 2919]
    ];
    assert_eq!(body, corners.to_string());
}
