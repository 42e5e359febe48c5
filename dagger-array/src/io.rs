//! The on-disk format of `save`/`load` (the reference's `save(x, "X_sq")`): a JSON metadata
//! file at `path` describing the array and its blocks, and one payload file per block in the
//! directory `<path>_data/`. Dense payloads are the raw little-endian elements in row-major
//! order; sparse payloads are the CSC arrays (or the index/value arrays of a sparse vector)
//! as little-endian `u64`s and elements. Every payload carries a CRC-32 in the metadata, so a
//! damaged or truncated file is reported as [`Error::Corrupt`] naming the file.

use crate::block::{Block, Kind};
use crate::scalar::Scalar;
use crate::meta::ArrayMeta;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use ndarray::{ArrayD, IxDyn};
use serde::{Deserialize, Serialize};
use sprs::{CsMat, CsVec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

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

fn io_err(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound(path.display().to_string())
    } else {
        Error::Io(format!("{}: {e}", path.display()))
    }
}

/// Where an array is saved: a local path, or a store location such as
/// `s3://bucket/prefix/name` or `file:///dir/name` (through `dagger-storage`'s `ChunkStore`s;
/// the last path segment names the array, the rest the store).
enum Place {
    Fs(PathBuf),
    Store(Arc<dyn ChunkStore>, String),
}

fn place(path: &Path) -> Result<Place> {
    let s = path.to_string_lossy();
    let Some((scheme, rest)) = s.split_once("://") else {
        return Ok(Place::Fs(path.to_path_buf()));
    };
    let (base, name) = rest
        .rsplit_once('/')
        .filter(|(_, n)| !n.is_empty())
        .ok_or_else(|| Error::Argument(format!("{s}: no array name after the store location")))?;
    let url = format!("{scheme}://{base}");
    // One store per location, so a process saves and loads through the same client.
    static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ChunkStore>>>> = OnceLock::new();
    let mut stores = STORES
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| Error::Storage("store table poisoned".into()))?;
    let store = match stores.get(&url) {
        Some(s) => s.clone(),
        None => {
            let st = dagger_storage::open_store(&url)?;
            stores.insert(url, st.clone());
            st
        }
    };
    Ok(Place::Store(store, name.to_string()))
}

/// `path` as every process of a cluster reads it: a store location (`s3://…`) as it is, a
/// local path made absolute against this process's working directory (a worker may have
/// been started elsewhere).
///
/// ```
/// use dagger_array::io::shared_path;
/// use std::path::Path;
/// assert!(shared_path(Path::new("X")).unwrap().is_absolute());
/// assert_eq!(shared_path(Path::new("s3://b/p/X")).unwrap(), Path::new("s3://b/p/X"));
/// ```
pub fn shared_path(path: &Path) -> Result<PathBuf> {
    if path.to_string_lossy().contains("://") {
        return Ok(path.to_path_buf());
    }
    std::path::absolute(path).map_err(|e| io_err(path, e))
}

fn put_bytes(path: &Path, rel: Option<&str>, bytes: Vec<u8>) -> Result<()> {
    match place(path)? {
        Place::Fs(p) => {
            let target = match rel {
                Some(r) => {
                    let dir = data_dir(&p);
                    std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
                    dir.join(r)
                }
                None => p,
            };
            std::fs::write(&target, &bytes).map_err(|e| io_err(&target, e))
        }
        Place::Store(store, name) => {
            let key = StoreKey::new(match rel {
                Some(r) => format!("{name}_data/{r}"),
                None => name,
            })?;
            dagger_storage::blocking::put(&store, &key, bytes.into())
        }
    }
}

fn get_bytes(path: &Path, rel: Option<&str>) -> Result<Vec<u8>> {
    match place(path)? {
        Place::Fs(p) => {
            let target = match rel {
                Some(r) => data_dir(&p).join(r),
                None => p,
            };
            std::fs::read(&target).map_err(|e| io_err(&target, e))
        }
        Place::Store(store, name) => {
            let key = StoreKey::new(match rel {
                Some(r) => format!("{name}_data/{r}"),
                None => name,
            })?;
            dagger_storage::blocking::get(&store, &key).map(|b| b.to_vec())
        }
    }
}

/// The piece a dense payload is streamed in, so reading or writing a block holds one
/// piece of its bytes beside it, not a second copy of the whole block (out-of-core runs).
const PIECE: usize = 1 << 20;

/// Writes a dense block straight into `target` piece by piece, with its checksum.
fn write_dense_file<T: Scalar>(target: &Path, a: &ArrayD<T>) -> Result<(u64, u32)> {
    use std::io::Write;
    let mut f = std::fs::File::create(target).map_err(|e| io_err(target, e))?;
    let mut crc = crc32fast::Hasher::new();
    let mut buf = Vec::with_capacity(PIECE + 16);
    let mut len = 0u64;
    let a = a.as_standard_layout();
    let mut flush = |buf: &mut Vec<u8>| -> Result<()> {
        crc.update(buf);
        len += buf.len() as u64;
        f.write_all(buf).map_err(|e| io_err(target, e))?;
        buf.clear();
        Ok(())
    };
    for &x in a.iter() {
        x.write_le(&mut buf);
        if buf.len() >= PIECE {
            flush(&mut buf)?;
        }
    }
    flush(&mut buf)?;
    Ok((len, crc.finalize()))
}

/// Reads a dense payload file of `shape` piece by piece, checking its length and checksum.
fn read_dense_file<T: Scalar>(
    target: &Path,
    entry: &SavedBlock,
    shape: &[usize],
) -> Result<Block<T>> {
    use std::io::Read;
    let what = target.display().to_string();
    let corrupt = |detail: String| Error::Corrupt {
        what: what.clone(),
        detail,
    };
    let mut f = std::fs::File::open(target).map_err(|e| io_err(target, e))?;
    let on_disk = f.metadata().map_err(|e| io_err(target, e))?.len();
    if on_disk != entry.bytes {
        return Err(corrupt(format!(
            "{on_disk} bytes, expected {}",
            entry.bytes
        )));
    }
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| corrupt("shape overflow".into()))?;
    if n.checked_mul(T::BYTES).map(|b| b as u64) != Some(entry.bytes) {
        return Err(corrupt(format!(
            "{} bytes for a block of {shape:?} {} elements",
            entry.bytes,
            T::NAME
        )));
    }
    let mut out = Vec::with_capacity(n);
    let mut crc = crc32fast::Hasher::new();
    let cap = (PIECE / T::BYTES).max(1) * T::BYTES;
    let mut buf = vec![0u8; cap.min(n * T::BYTES)];
    let mut left = n * T::BYTES;
    while left > 0 {
        let piece = &mut buf[..left.min(cap)];
        f.read_exact(piece).map_err(|e| io_err(target, e))?;
        crc.update(piece);
        for c in piece.chunks_exact(T::BYTES) {
            out.push(T::read_le(c).ok_or_else(|| corrupt("bad element".into()))?);
        }
        left -= piece.len();
    }
    let got = crc.finalize();
    if got != entry.crc32 {
        return Err(corrupt(format!(
            "checksum {got:08x}, expected {:08x}",
            entry.crc32
        )));
    }
    let a = ArrayD::from_shape_vec(IxDyn(shape), out).map_err(|e| corrupt(e.to_string()))?;
    Ok(Block::Dense(a))
}

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

/// Reads block number `index` of the array saved at `path`, checking length, checksum,
/// element type and structure.
pub fn read_block<T: Scalar>(path: &Path, saved: &SavedArray, index: usize) -> Result<Block<T>> {
    if saved.meta.eltype != T::NAME {
        return Err(Error::Argument(format!(
            "{} holds {} elements, not {}",
            path.display(),
            saved.meta.eltype,
            T::NAME
        )));
    }
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
pub fn read_entry<T: Scalar>(
    path: &Path,
    entry: &SavedBlock,
    shape: &[usize],
) -> Result<Block<T>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::{rand_block, sprand_block};
    use crate::dist::distribute;
    use crate::grid::BlockGrid;
    use crate::partition::Blocks;
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
}
