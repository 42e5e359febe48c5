//! How a block crosses a process boundary: serde for [`Block`] and [`Held`].
//!
//! Element data is written as one contiguous little-endian byte string (`serialize_bytes`),
//! never element by element, so a big dense block moves at memory speed. Decoding checks
//! everything it is given — shape against data length, sparse structure through sprs'
//! validating constructors — and a malformed payload is a decode error, never a panic.
//! A decoded [`Held`] enters the live-bytes accounting like any other block.

use crate::block::Block;
use crate::mem::Held;
use crate::scalar::Scalar;
use ndarray::{ArrayD, IxDyn};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sprs::{CsMat, CsVec};
use std::borrow::Cow;
use std::fmt;

/// Raw bytes that serialize as one byte string (and accept a byte string or a sequence),
/// borrowed from the input when the format allows (postcard does: no copy).
struct Raw<'de>(Cow<'de, [u8]>);

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Raw<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Raw<'a>, E> {
                Ok(Raw(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Raw<'a>, E> {
                Ok(Raw(Cow::Owned(v.to_vec())))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Raw<'a>, E> {
                Ok(Raw(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Raw(Cow::Owned(out)))
            }
        }
        d.deserialize_bytes(V(std::marker::PhantomData))
    }
}

/// Borrowed bytes that serialize as one byte string.
struct RawRef<'a>(Cow<'a, [u8]>);

impl Serialize for RawRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// [`WireBlock`] for encoding, borrowing the element bytes where it can (same layout: the
/// variants and fields must stay in the same order).
#[derive(Serialize)]
enum WireRef<'a> {
    Dense {
        shape: Vec<u64>,
        data: RawRef<'a>,
    },
    SparseMat {
        rows: u64,
        cols: u64,
        indptr: Vec<u64>,
        indices: Vec<u64>,
        data: RawRef<'a>,
    },
    SparseVec {
        dim: u64,
        indices: Vec<u64>,
        data: RawRef<'a>,
    },
}

/// The wire form of a block: shapes and sparse structure as integers, values as raw bytes.
#[derive(Deserialize)]
enum WireBlock<'a> {
    Dense {
        shape: Vec<u64>,
        #[serde(borrow)]
        data: Raw<'a>,
    },
    SparseMat {
        rows: u64,
        cols: u64,
        indptr: Vec<u64>,
        indices: Vec<u64>,
        #[serde(borrow)]
        data: Raw<'a>,
    },
    SparseVec {
        dim: u64,
        indices: Vec<u64>,
        #[serde(borrow)]
        data: Raw<'a>,
    },
}

fn to_raw<'a, T: Scalar>(xs: impl Iterator<Item = &'a T>, n: usize) -> RawRef<'static> {
    let mut out = Vec::with_capacity(n * T::BYTES);
    for &x in xs {
        x.write_le(&mut out);
    }
    RawRef(Cow::Owned(out))
}

/// A contiguous slice's bytes: borrowed when the memory layout is the wire's.
fn slice_raw<T: Scalar>(xs: &[T]) -> RawRef<'_> {
    match T::le_bytes(xs) {
        Some(b) => RawRef(Cow::Borrowed(b)),
        None => to_raw(xs.iter(), xs.len()),
    }
}

fn from_raw<T: Scalar, E: de::Error>(raw: &Raw, want: usize) -> Result<Vec<T>, E> {
    if Some(raw.0.len()) != want.checked_mul(T::BYTES) {
        return Err(E::custom(format!(
            "block payload has {} bytes, expected {want} {} values",
            raw.0.len(),
            T::NAME
        )));
    }
    T::from_le_bytes_vec(&raw.0).ok_or_else(|| E::custom("short element"))
}

fn usizes<E: de::Error>(v: &[u64]) -> Result<Vec<usize>, E> {
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| E::custom(format!("index {x} too large"))))
        .collect()
}

fn u64s(v: &[usize]) -> Vec<u64> {
    v.iter().map(|&x| x as u64).collect()
}

impl<T: Scalar> Serialize for Block<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let w = match self {
            Block::Dense(a) => WireRef::Dense {
                shape: u64s(a.shape()),
                // Logical (row-major) order whatever the memory layout.
                data: match a.as_slice() {
                    Some(sl) => slice_raw(sl),
                    None => to_raw(a.iter(), a.len()),
                },
            },
            Block::SparseMat(m) => {
                let csc;
                let m = if m.is_csc() {
                    m.view()
                } else {
                    csc = m.to_other_storage();
                    csc.view()
                };
                WireRef::SparseMat {
                    rows: m.rows() as u64,
                    cols: m.cols() as u64,
                    indptr: u64s(&m.indptr().to_proper()),
                    indices: u64s(m.indices()),
                    data: to_raw(m.data().iter(), m.nnz()),
                }
            }
            Block::SparseVec(v) => WireRef::SparseVec {
                dim: v.dim() as u64,
                indices: u64s(v.indices()),
                data: slice_raw(v.data()),
            },
        };
        w.serialize(s)
    }
}

impl<'de, T: Scalar> Deserialize<'de> for Block<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use de::Error as _;
        Ok(match WireBlock::deserialize(d)? {
            WireBlock::Dense { shape, data } => {
                let shape = usizes::<D::Error>(&shape)?;
                let n = shape
                    .iter()
                    .try_fold(1usize, |a, &b| a.checked_mul(b))
                    .ok_or_else(|| D::Error::custom(format!("shape {shape:?} overflows")))?;
                let v = from_raw::<T, D::Error>(&data, n)?;
                Block::Dense(
                    ArrayD::from_shape_vec(IxDyn(&shape), v)
                        .map_err(|e| D::Error::custom(format!("dense block: {e}")))?,
                )
            }
            WireBlock::SparseMat {
                rows,
                cols,
                indptr,
                indices,
                data,
            } => {
                let v = from_raw::<T, D::Error>(&data, indices.len())?;
                let rc = usizes::<D::Error>(&[rows, cols])?;
                let (rows, cols) = (rc[0], rc[1]);
                Block::SparseMat(
                    CsMat::try_new_csc(
                        (rows, cols),
                        usizes::<D::Error>(&indptr)?,
                        usizes::<D::Error>(&indices)?,
                        v,
                    )
                    .map_err(|(_, _, _, e)| D::Error::custom(format!("sparse matrix: {e}")))?,
                )
            }
            WireBlock::SparseVec { dim, indices, data } => {
                let v = from_raw::<T, D::Error>(&data, indices.len())?;
                Block::SparseVec(
                    CsVec::try_new(
                        usizes::<D::Error>(&[dim])?[0],
                        usizes::<D::Error>(&indices)?,
                        v,
                    )
                    .map_err(|(_, _, e)| D::Error::custom(format!("sparse vector: {e}")))?,
                )
            }
        })
    }
}

impl<T: Scalar> Serialize for Held<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de, T: Scalar> Deserialize<'de> for Held<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Block::deserialize(d).map(Held::new)
    }
}
