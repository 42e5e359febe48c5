//! The on-disk format of `save`/`load` (the reference's `save(x, "X_sq")`): a JSON metadata
//! file at `path` describing the array and its blocks, and one payload file per block in the
//! directory `<path>_data/`. Dense payloads are the raw little-endian elements in row-major
//! order; sparse payloads are the CSC arrays (or the index/value arrays of a sparse vector)
//! as little-endian `u64`s and elements. Every payload carries a CRC-32 in the metadata, so a
//! damaged or truncated file is reported as [`Error::Corrupt`](dagger_core::Error::Corrupt) naming the file.
//!
//! | part | what it holds |
//! | --- | --- |
//! | `format` | [`SavedArray`], [`SavedBlock`], [`Layout`], [`FORMAT`], [`data_dir`] |
//! | `payload` | [`encode_block`] / [`decode_block`]: one block's bytes |
//! | `place` | where bytes go: a local file or a store location ([`shared_path`]) |
//! | `files` | [`write_block`], [`read_entry`], [`write_meta`], [`read_meta`], whole arrays |

pub(crate) mod files;
pub(crate) mod format;
pub(crate) mod payload;
pub(crate) mod place;

pub use files::{
    kind_of, load_blocks, read_block, read_entry, read_meta, save_blocks, write_block, write_meta,
};
pub use format::{data_dir, Layout, SavedArray, SavedBlock, FORMAT};
pub use payload::{decode_block, encode_block};
pub use place::shared_path;
