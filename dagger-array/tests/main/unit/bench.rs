//! The former unit tests of `src/bench.rs` (`unit`'s doc says why they moved).

use dagger_array::bench::*;
use serde_json::json;

#[test]
fn line_has_the_shared_keys() {
    let v = line(
        "w",
        "ndarray",
        json!({"n": 1}),
        &[3.0, 1.0, 2.0],
        "gflop_per_s",
        |t| 10.0 / t,
    );
    for k in [
        "workload",
        "system",
        "params",
        "median_s",
        "min_s",
        "max_s",
        "reps",
        "gflop_per_s",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["median_s"], 2.0);
    assert_eq!(v["gflop_per_s"], 5.0);
    assert_eq!(v["reps"], 3);
}
