//! The former unit tests of `src/io/files.rs` (`unit`'s doc says why they moved).

use dagger_array::create::sprand_block;
use dagger_array::dist::distribute;
use dagger_array::grid::BlockGrid;
use dagger_array::io::*;
use dagger_array::partition::Blocks;
use dagger_array::ArrayMeta;
use dagger_core::Error;

#[test]
fn save_load_and_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s1");
    let g = BlockGrid::new(&[30, 20], &Blocks::from([16, 16]), 1).unwrap();
    let whole = sprand_block::<f64>(&[30, 20], 0.1, 4, 0).unwrap();
    let blocks = distribute(&whole, &g).unwrap();
    let meta = ArrayMeta::new(g, "f64", kind_of(&blocks));
    save_blocks(&path, &meta, &blocks).unwrap();
    let (m2, b2) = load_blocks::<f64>(&path).unwrap();
    assert_eq!(m2, meta);
    assert_eq!(b2, blocks);
    // Wrong element type.
    assert!(matches!(load_blocks::<f32>(&path), Err(Error::Argument(_))));
    // Flip a byte: checksum error naming the file.
    let f = data_dir(&path).join("block_1.bin");
    let mut bytes = std::fs::read(&f).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&f, &bytes).unwrap();
    match load_blocks::<f64>(&path) {
        Err(Error::Corrupt { what, detail }) => {
            assert!(what.ends_with("block_1.bin"), "{what}");
            assert!(detail.contains("checksum"));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    std::fs::remove_file(&f).unwrap();
    match load_blocks::<f64>(&path) {
        Err(Error::NotFound(p)) => assert!(p.ends_with("block_1.bin")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    std::fs::write(&path, b"{not json").unwrap();
    assert!(matches!(read_meta(&path), Err(Error::Corrupt { .. })));
    assert!(matches!(
        read_meta(&dir.path().join("missing")),
        Err(Error::NotFound(_))
    ));
}
