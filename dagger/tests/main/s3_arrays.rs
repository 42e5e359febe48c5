//! `save`/`load` of a blocked array to an `s3://` location, the same as to a local path,
//! against an S3-compatible server on loopback (moto, started by `.ci/run`). Needs the `s3`
//! feature and `DAGGER_TEST_S3_ENDPOINT`; otherwise it says it skipped.

use dagger::array::{Blocks, DArray};
use dagger::Context;
use ndarray::{ArrayD, IxDyn};

#[test]
fn arrays_save_to_and_load_from_s3() {
    let Ok(ep) = std::env::var("DAGGER_TEST_S3_ENDPOINT") else {
        eprintln!("skipped: DAGGER_TEST_S3_ENDPOINT not set");
        return;
    };
    let bucket = format!("dagger-arrays-{}", std::process::id());
    dagger::storage::conformance::create_test_bucket(&ep, &bucket).unwrap();
    for (k, v) in [
        ("AWS_ENDPOINT", ep.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ] {
        // SAFETY: set_var is unsound only next to a C-level getenv on another thread. The
        // tests of this binary that may run meanwhile read the environment (and spawn
        // processes) only through std, which takes the lock set_var takes; so does
        // object_store, which reads these settings with std::env::var.
        unsafe { std::env::set_var(k, v) };
    }
    let ctx = Context::builder().threads(2).build();
    let a = ArrayD::from_shape_fn(IxDyn(&[50, 40]), |ix| (ix[0] * 1000 + ix[1]) as f64);
    let x = DArray::from_array(a.clone(), &Blocks::new([16, 16]).unwrap()).unwrap();
    let url = format!("s3://{bucket}/arrays/x_sq");
    let saved = x.map(|v| v * v).save(&url).collect(&ctx).unwrap();
    assert_eq!(saved.blocks.len(), 4 * 3);
    let back = DArray::<f64>::load(&url).unwrap();
    assert_eq!(back.collect_dense(&ctx).unwrap(), a.mapv(|v| v * v));
}
