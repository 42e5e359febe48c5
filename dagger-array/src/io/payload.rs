//! A block's payload bytes: dense blocks as raw little-endian elements in row-major order,
//! sparse ones as their CSC arrays (or a sparse vector's index/value arrays) as
//! little-endian `u64`s and elements. Decoding checks every length, so damaged bytes are
//! an [`Error::Corrupt`], never a panic.

use crate::block::Block;
use crate::io::format::Layout;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, IxDyn};
use sprs::{CsMat, CsVec};

fn put_u64(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u64).to_le_bytes());
}

/// Encodes a block into its payload bytes and layout.
pub fn encode_block<T: Scalar>(b: &Block<T>) -> (Vec<u8>, Layout) {
    let mut out = Vec::with_capacity(b.nbytes() + 64);
    match b {
        Block::Dense(a) => {
            for &x in a.as_standard_layout().iter() {
                x.write_le(&mut out);
            }
            (out, Layout::Dense)
        }
        Block::SparseMat(m) => {
            let csc;
            let m = if m.is_csc() {
                m
            } else {
                csc = m.to_csc();
                &csc
            };
            put_u64(&mut out, m.rows());
            put_u64(&mut out, m.cols());
            put_u64(&mut out, m.nnz());
            for &p in m.indptr().raw_storage() {
                put_u64(&mut out, p);
            }
            for &i in m.indices() {
                put_u64(&mut out, i);
            }
            for &x in m.data() {
                x.write_le(&mut out);
            }
            (out, Layout::Csc)
        }
        Block::SparseVec(v) => {
            put_u64(&mut out, v.dim());
            put_u64(&mut out, v.nnz());
            for &i in v.indices() {
                put_u64(&mut out, i);
            }
            for &x in v.data() {
                x.write_le(&mut out);
            }
            (out, Layout::SparseVec)
        }
    }
}

/// Reads little-endian values from a byte slice, failing (never panicking) on short input.
struct Reader<'a> {
    bytes: &'a [u8],
    what: &'a str,
}

impl<'a> Reader<'a> {
    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            what: self.what.to_string(),
            detail: detail.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(self.corrupt(format!(
                "truncated: needed {n} more bytes, {} left",
                self.bytes.len()
            )));
        }
        let (h, t) = self.bytes.split_at(n);
        self.bytes = t;
        Ok(h)
    }

    fn u64s(&mut self, n: usize) -> Result<Vec<usize>> {
        let raw = self.take(
            n.checked_mul(8)
                .ok_or_else(|| self.corrupt("length overflow"))?,
        )?;
        raw.chunks_exact(8)
            .map(|c| {
                let v = u64::from_le_bytes(c.try_into().map_err(|_| self.corrupt("bad u64"))?);
                usize::try_from(v).map_err(|_| self.corrupt(format!("index {v} too large")))
            })
            .collect()
    }

    fn elems<T: Scalar>(&mut self, n: usize) -> Result<Vec<T>> {
        let raw = self.take(
            n.checked_mul(T::BYTES)
                .ok_or_else(|| self.corrupt("length overflow"))?,
        )?;
        raw.chunks_exact(T::BYTES)
            .map(|c| T::read_le(c).ok_or_else(|| self.corrupt("bad element")))
            .collect()
    }

    fn done(&self) -> Result<()> {
        if !self.bytes.is_empty() {
            return Err(self.corrupt(format!("{} trailing bytes", self.bytes.len())));
        }
        Ok(())
    }
}

/// Decodes a payload of `layout` for a block of `shape`; `what` names the file in errors.
pub fn decode_block<T: Scalar>(
    bytes: &[u8],
    layout: Layout,
    shape: &[usize],
    what: &str,
) -> Result<Block<T>> {
    let mut r = Reader { bytes, what };
    let block = match layout {
        Layout::Dense => {
            let n = shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| r.corrupt("shape overflow"))?;
            let data = r.elems::<T>(n)?;
            let a =
                ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| r.corrupt(e.to_string()))?;
            Block::Dense(a)
        }
        Layout::Csc => {
            let h = r.u64s(3)?;
            let (rows, cols, nnz) = (h[0], h[1], h[2]);
            if shape != [rows, cols] {
                return Err(r.corrupt(format!("block is {rows}×{cols}, metadata says {shape:?}")));
            }
            let indptr = r.u64s(
                cols.checked_add(1)
                    .ok_or_else(|| r.corrupt("length overflow"))?,
            )?;
            let indices = r.u64s(nnz)?;
            let data = r.elems::<T>(nnz)?;
            let m = CsMat::try_new_csc((rows, cols), indptr, indices, data)
                .map_err(|e| r.corrupt(e.3.to_string()))?;
            Block::SparseMat(m)
        }
        Layout::SparseVec => {
            let h = r.u64s(2)?;
            let (len, nnz) = (h[0], h[1]);
            if shape != [len] {
                return Err(r.corrupt(format!("vector has length {len}, metadata says {shape:?}")));
            }
            let indices = r.u64s(nnz)?;
            let data = r.elems::<T>(nnz)?;
            Block::SparseVec(
                CsVec::try_new(len, indices, data).map_err(|e| r.corrupt(e.2.to_string()))?,
            )
        }
    };
    r.done()?;
    Ok(block)
}
