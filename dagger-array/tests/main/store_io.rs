//! `save`/`load` through a `ChunkStore` when the path is a store location (`file://…` here;
//! `s3://bucket/prefix/name` works the same through object_store).

use dagger_array::{Blocks, DArray};
use dagger_sched::Context;
use ndarray::{ArrayD, IxDyn};

#[test]
fn save_and_load_through_a_store_location() {
    let ctx = Context::builder().threads(2).build();
    let dir = std::env::temp_dir().join(format!("dagger-array-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("file://{}/saved", dir.display());
    let a = ArrayD::from_shape_fn(IxDyn(&[37, 23]), |ix| (ix[0] * 100 + ix[1]) as f64);
    let x = DArray::from_array(a.clone(), &Blocks::new([10, 7]).unwrap()).unwrap();
    let saved = x.save(&url).collect(&ctx).unwrap();
    assert_eq!(saved.blocks.len(), 4 * 4);
    // The store laid the blocks out under its own root.
    assert!(dir.join("saved").exists() || dir.join("saved_data").exists());
    let back = DArray::<f64>::load(&url).unwrap();
    assert_eq!(back.collect_dense(&ctx).unwrap(), a);
    // A missing array is NotFound, naming it.
    let missing = DArray::<f64>::load(format!("file://{}/nothing", dir.display()));
    assert!(missing.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
