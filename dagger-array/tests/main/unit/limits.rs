//! The former unit tests of `src/limits.rs` (`unit`'s doc says why they moved).

use dagger_array::limits::*;
use dagger_core::Error;

#[test]
fn shapes_over_the_limits_are_argument_errors_naming_the_shape() {
    assert_eq!(check_shape::<f32>("rand", &[]).unwrap(), 1);
    assert_eq!(check_shape::<f32>("rand", &[0, 1 << 40]).unwrap(), 0);
    // Empty, but ndarray could not make it: its other lengths overflow.
    assert!(check_shape::<f32>("rand", &[0, usize::MAX, 2]).is_err());
    let e = check_shape::<f64>("randn", &[usize::MAX, usize::MAX]).unwrap_err();
    assert!(
        matches!(&e, Error::Argument(m) if m.contains("randn") && m.contains(&format!("{}", usize::MAX))),
        "{e}"
    );
    let e = check_shape::<f64>("fill", &[1 << 20, 1 << 21]).unwrap_err();
    assert!(e.to_string().contains("[1048576, 2097152]"), "{e}");
    assert!(check_shape::<u8>("fill", &[1; 33]).is_err());
    assert!(check_parts("sort", 0).is_err());
    assert!(check_parts("sort", MAX_PARTS + 1).is_err());
    assert!(check_parts("sort", 4).is_ok());
    // A huge sparse shape is fine when its non-zeros are few: 10^5 × 10^5 at density
    // 10^-5 is 10^5 non-zeros, 2.4 MB, under the 4 MiB limit the kernel fuzz tests of
    // this binary may have set meanwhile (the limit is process-wide).
    assert!(check_sparse_shape::<f64>("sprand", &[100_000, 100_000], 1e-5).is_ok());
    assert!(check_sparse_shape::<f64>("sprand", &[100_000, 100_000], 1.0).is_err());
    assert!(check_sparse_shape::<f64>("sprand", &[usize::MAX, 3], 0.0).is_err());
    // Bytes past physical memory (or the set limit) are refused, elements below 2^40 or not.
    let over = max_block_bytes() / 8 + 1;
    assert!(check_shape::<f64>("fill", &[over as usize]).is_err());
}
