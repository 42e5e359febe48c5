//! The metadata of a saved array: the format tag, each block's entry (file, size,
//! checksum, layout) and where the payloads live.

use crate::meta::ArrayMeta;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format tag written into every metadata file.
pub const FORMAT: &str = "dagger-array/1";

/// How one block's payload is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Raw elements, row-major.
    Dense,
    /// `rows, cols, nnz, indptr[cols+1], indices[nnz]` as `u64`, then `data[nnz]`.
    Csc,
    /// `len, nnz, indices[nnz]` as `u64`, then `data[nnz]`.
    SparseVec,
}

/// One block's entry in the metadata file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedBlock {
    /// Payload file name inside the data directory.
    pub file: String,
    /// Payload length in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of the payload.
    pub crc32: u32,
    /// Payload layout.
    pub layout: Layout,
}

/// The contents of the metadata file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedArray {
    /// Always [`FORMAT`].
    pub format: String,
    /// Shape, grid, element type, kind.
    pub meta: ArrayMeta,
    /// One entry per block, in row-major block order.
    pub blocks: Vec<SavedBlock>,
}

/// The data directory of an array saved at `path`: `<path>_data`.
pub fn data_dir(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("_data");
    PathBuf::from(s)
}
