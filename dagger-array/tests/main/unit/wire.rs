//! The former unit tests of `src/wire.rs` (`unit`'s doc says why they moved).

use dagger_array::create::{ones_block, rand_block, sprand_block};
use dagger_array::{Block, Scalar};
use proptest::prelude::*;
use serde::{Serialize, Serializer};

fn round<T: Scalar>(b: &Block<T>) -> Block<T> {
    let bytes = postcard::to_allocvec(b).unwrap();
    postcard::from_bytes(&bytes).unwrap()
}

/// Bytes that serialize as one byte string, as the crate's wire form writes element data.
struct Raw(Vec<u8>);

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// The wire form of a block as `src/wire.rs` lays it out (the same variants and fields in
/// the same order; postcard writes no names), to encode payloads a `Block` never makes.
#[derive(Serialize)]
#[allow(dead_code)] // SparseVec keeps the variant order of the real wire form.
enum WireBlock {
    Dense {
        shape: Vec<u64>,
        data: Raw,
    },
    SparseMat {
        rows: u64,
        cols: u64,
        indptr: Vec<u64>,
        indices: Vec<u64>,
        data: Raw,
    },
    SparseVec {
        dim: u64,
        indices: Vec<u64>,
        data: Raw,
    },
}

#[test]
fn kinds_round_trip() {
    let d = Block::Dense(rand_block::<f64>(&[3, 4, 2], 1, 0));
    assert_eq!(round(&d), d);
    let t = Block::Dense(rand_block::<i32>(&[5, 3], 1, 0).reversed_axes());
    assert_eq!(round(&t), t);
    let m = sprand_block::<f32>(&[20, 30], 0.2, 3, 1).unwrap();
    assert_eq!(round(&m), m);
    let v = sprand_block::<u8>(&[50], 0.3, 3, 1).unwrap();
    assert_eq!(round(&v), v);
    // A CSR matrix goes as CSC and comes back equal in value.
    let Block::SparseMat(csc) = m else { panic!() };
    let csr = Block::SparseMat(csc.to_other_storage());
    assert_eq!(round(&csr).to_dense(), csr.to_dense());
}

#[test]
fn bad_payloads_are_errors() {
    let d = Block::Dense(ones_block::<f64>(&[2, 2]));
    let mut bytes = postcard::to_allocvec(&d).unwrap();
    bytes.truncate(bytes.len() - 1);
    assert!(postcard::from_bytes::<Block<f64>>(&bytes).is_err());
    // Shape says 3 elements, data holds 4.
    let w = WireBlock::Dense {
        shape: vec![3],
        data: Raw(vec![0; 32]),
    };
    let bytes = postcard::to_allocvec(&w).unwrap();
    assert!(postcard::from_bytes::<Block<f64>>(&bytes).is_err());
    let w = WireBlock::SparseMat {
        rows: 2,
        cols: 2,
        indptr: vec![0, 1, 9],
        indices: vec![5],
        data: Raw(vec![0; 8]),
    };
    let bytes = postcard::to_allocvec(&w).unwrap();
    assert!(postcard::from_bytes::<Block<f64>>(&bytes).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn dense_round_trip(r in 0usize..6, c in 0usize..6, seed in any::<u64>()) {
        let b = Block::Dense(rand_block::<i64>(&[r, c], seed, 0));
        prop_assert_eq!(round(&b), b);
    }

    #[test]
    fn sparse_round_trip(r in 1usize..12, c in 1usize..12, seed in any::<u64>()) {
        let b = sprand_block::<f64>(&[r, c], 0.3, seed, 0).unwrap();
        prop_assert_eq!(round(&b), b);
    }
}
