//! Where saved bytes go: a local file (dense payloads streamed, with their CRC-32 taken on
//! the way) or a `ChunkStore` location such as `s3://bucket/prefix/name`.

use crate::block::Block;
use crate::io::format::{data_dir, SavedBlock};
use crate::scalar::Scalar;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound(path.display().to_string())
    } else {
        Error::Io(format!("{}: {e}", path.display()))
    }
}

/// Where an array is saved: a local path, or a store location such as
/// `s3://bucket/prefix/name` or `file:///dir/name` (through `dagger-storage`'s `ChunkStore`s;
/// the last path segment names the array, the rest the store).
pub(crate) enum Place {
    Fs(PathBuf),
    Store(Arc<dyn ChunkStore>, String),
}

pub(crate) fn place(path: &Path) -> Result<Place> {
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

pub(crate) fn put_bytes(path: &Path, rel: Option<&str>, bytes: Vec<u8>) -> Result<()> {
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

pub(crate) fn get_bytes(path: &Path, rel: Option<&str>) -> Result<Vec<u8>> {
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
pub(crate) fn write_dense_file<T: Scalar>(target: &Path, a: &ArrayD<T>) -> Result<(u64, u32)> {
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
pub(crate) fn read_dense_file<T: Scalar>(
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
