//! Saving and loading blocks and metadata files: one payload per block, checked against
//! its metadata entry when read back.

use crate::block::{Block, Kind};
use crate::io::format::{data_dir, Layout, SavedArray, SavedBlock, FORMAT};
use crate::io::payload::{decode_block, encode_block};
use crate::io::place::{
    get_bytes, io_err, place, put_bytes, read_dense_file, write_dense_file, Place,
};
use crate::meta::ArrayMeta;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use std::path::Path;

/// Writes block number `index` of an array saved at `path` into its data directory.
pub fn write_block<T: Scalar>(path: &Path, index: usize, b: &Block<T>) -> Result<SavedBlock> {
    let file = format!("block_{index}.bin");
    if let (Place::Fs(p), Block::Dense(a)) = (place(path)?, b) {
        let dir = data_dir(&p);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let (bytes, crc32) = write_dense_file(&dir.join(&file), a)?;
        return Ok(SavedBlock {
            file,
            bytes,
            crc32,
            layout: Layout::Dense,
        });
    }
    let (bytes, layout) = encode_block(b);
    let (len, crc32) = (bytes.len() as u64, crc32fast::hash(&bytes));
    put_bytes(path, Some(&file), bytes)?;
    Ok(SavedBlock {
        file,
        bytes: len,
        crc32,
        layout,
    })
}

/// Writes the metadata file.
pub fn write_meta(path: &Path, saved: &SavedArray) -> Result<()> {
    let json = serde_json::to_vec_pretty(saved).map_err(|e| Error::Codec(e.to_string()))?;
    put_bytes(path, None, json)
}

/// Reads and checks the metadata file.
pub fn read_meta(path: &Path) -> Result<SavedArray> {
    let bytes = get_bytes(path, None)?;
    let what = path.display().to_string();
    let saved: SavedArray = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
        what: what.clone(),
        detail: e.to_string(),
    })?;
    if saved.format != FORMAT {
        return Err(Error::Corrupt {
            what,
            detail: format!("format {:?}, expected {FORMAT:?}", saved.format),
        });
    }
    if saved.blocks.len() != saved.meta.grid.num_blocks() {
        return Err(Error::Corrupt {
            what,
            detail: format!(
                "{} block entries for a grid of {}",
                saved.blocks.len(),
                saved.meta.grid.num_blocks()
            ),
        });
    }
    Ok(saved)
}

/// Checks that the array saved at `path` holds elements of type `T`.
pub(crate) fn check_eltype<T: Scalar>(path: &Path, saved: &SavedArray) -> Result<()> {
    if saved.meta.eltype != T::NAME {
        return Err(Error::Argument(format!(
            "{} holds {} elements, not {}",
            path.display(),
            saved.meta.eltype,
            T::NAME
        )));
    }
    Ok(())
}

/// Reads block number `index` of the array saved at `path`, checking length, checksum,
/// element type and structure.
pub fn read_block<T: Scalar>(path: &Path, saved: &SavedArray, index: usize) -> Result<Block<T>> {
    check_eltype::<T>(path, saved)?;
    let entry = saved
        .blocks
        .get(index)
        .ok_or_else(|| Error::Argument(format!("{} has no block {index}", path.display())))?;
    let shape = saved
        .meta
        .grid
        .block_shape(&saved.meta.grid.block_coords(index));
    read_entry(path, entry, &shape)
}

/// Reads the block described by `entry` (of `shape`) of the array saved at `path`, checking
/// length, checksum and structure: what a load task runs in whichever process it is placed
/// on, with only this block's entry (not the whole metadata) as its argument.
pub fn read_entry<T: Scalar>(path: &Path, entry: &SavedBlock, shape: &[usize]) -> Result<Block<T>> {
    if entry.file.contains('/') || entry.file.contains('\\') || entry.file.contains("..") {
        return Err(Error::Corrupt {
            what: path.display().to_string(),
            detail: format!("bad block file name {:?}", entry.file),
        });
    }
    let p = data_dir(path).join(&entry.file);
    if let (Place::Fs(_), Layout::Dense) = (place(path)?, entry.layout) {
        return read_dense_file(&p, entry, shape);
    }
    let what = p.display().to_string();
    let bytes = get_bytes(path, Some(&entry.file))?;
    if bytes.len() as u64 != entry.bytes {
        return Err(Error::Corrupt {
            what,
            detail: format!("{} bytes, expected {}", bytes.len(), entry.bytes),
        });
    }
    let crc = crc32fast::hash(&bytes);
    if crc != entry.crc32 {
        return Err(Error::Corrupt {
            what,
            detail: format!("checksum {crc:08x}, expected {:08x}", entry.crc32),
        });
    }
    decode_block(&bytes, entry.layout, shape, &what)
}

/// Saves whole blocks from memory (one process, sequentially): payloads first, metadata last,
/// so a metadata file only ever describes complete payloads.
///
/// ```
/// use dagger_array::{io, meta::ArrayMeta, Block, BlockGrid, Blocks, Kind};
/// use ndarray::ArrayD;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("X");
/// let g = BlockGrid::new(&[3], &Blocks::from([2]), 1).unwrap();
/// let blocks = vec![Block::Dense(ArrayD::from_elem(vec![2], 1.0f64)), Block::Dense(ArrayD::from_elem(vec![1], 2.0))];
/// io::save_blocks(&path, &ArrayMeta::new(g, "f64", Kind::Dense), &blocks).unwrap();
/// let (meta, back) = io::load_blocks::<f64>(&path).unwrap();
/// assert_eq!(back, blocks);
/// assert!(path.with_file_name("X_data").is_dir());
/// ```
pub fn save_blocks<T: Scalar>(
    path: &Path,
    meta: &ArrayMeta,
    blocks: &[Block<T>],
) -> Result<SavedArray> {
    if blocks.len() != meta.grid.num_blocks() {
        return Err(Error::DimensionMismatch(format!(
            "{} blocks for a grid of {}",
            blocks.len(),
            meta.grid.num_blocks()
        )));
    }
    let entries = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| write_block(path, i, b))
        .collect::<Result<Vec<_>>>()?;
    let saved = SavedArray {
        format: FORMAT.into(),
        meta: meta.clone(),
        blocks: entries,
    };
    write_meta(path, &saved)?;
    Ok(saved)
}

/// Loads every block of the array saved at `path` into memory.
pub fn load_blocks<T: Scalar>(path: &Path) -> Result<(ArrayMeta, Vec<Block<T>>)> {
    let saved = read_meta(path)?;
    let blocks = (0..saved.blocks.len())
        .map(|i| read_block(path, &saved, i))
        .collect::<Result<Vec<_>>>()?;
    Ok((saved.meta, blocks))
}

/// The kind recorded for a set of blocks: sparse if every block is.
pub fn kind_of<T: Scalar>(blocks: &[Block<T>]) -> Kind {
    if !blocks.is_empty() && blocks.iter().all(|b| b.kind() == Kind::Sparse) {
        Kind::Sparse
    } else {
        Kind::Dense
    }
}
