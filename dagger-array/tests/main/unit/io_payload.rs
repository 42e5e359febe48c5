//! The former unit tests of `src/io/payload.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{rand_block, sprand_block};
use dagger_array::io::*;
use dagger_array::Block;
use proptest::prelude::*;

proptest! {
    #[test]
    fn payload_round_trip(m in 0usize..9, n in 0usize..9, seed: u64, which in 0u8..3) {
        let b: Block<f32> = match which {
            0 => Block::Dense(rand_block(&[m, n], seed, 0)),
            1 => sprand_block(&[m, n], 0.3, seed, 0).unwrap(),
            _ => sprand_block(&[m * n], 0.3, seed, 0).unwrap(),
        };
        let (bytes, layout) = encode_block(&b);
        prop_assert_eq!(decode_block::<f32>(&bytes, layout, &b.shape(), "t").unwrap(), b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), l in 0u8..3) {
        let layout = [Layout::Dense, Layout::Csc, Layout::SparseVec][l as usize];
        let _ = decode_block::<f64>(&bytes, layout, &[3, 4], "t");
        let _ = decode_block::<f64>(&bytes, layout, &[5], "t");
    }
}
