//! [`DiskStore`]: one file per key under a local directory.

use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temp files of concurrent writers within this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Marks temp files. `~` can never appear in a [`StoreKey`], so a temp file is never
/// mistaken for a key, and `list` skips it.
const TEMP_MARK: &str = "~tmp";

/// A store that keeps each key as a file under a root directory (`a/b` is `<root>/a/b`).
///
/// A `put` writes a temp file beside the target and renames it into place, so a reader
/// sees either the old value or the new one, never a partial file, even if the writer dies
/// mid-way. Files are not fsynced: the store survives a process crash, not a power cut.
/// Blocking file I/O runs on tokio's blocking pool.
///
/// # Examples
///
/// ```
/// use dagger_core::{ChunkStore, StoreKey};
/// use dagger_storage::DiskStore;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = DiskStore::new(dir.path()).unwrap();
/// let key = StoreKey::new("spill/c1").unwrap();
/// store.put(&key, "bytes".into()).await.unwrap();
/// assert!(dir.path().join("spill/c1").is_file());
/// assert_eq!(store.get(&key).await.unwrap(), "bytes");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct DiskStore {
    root: PathBuf,
}

impl DiskStore {
    /// A store rooted at `root`, which is created if missing.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the directory if it cannot be created or is not a directory.
    pub fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref();
        std::fs::create_dir_all(root)
            .map_err(|e| Error::Io(format!("creating store directory {}: {e}", root.display())))?;
        let root = root
            .canonicalize()
            .map_err(|e| Error::Io(format!("resolving store directory {}: {e}", root.display())))?;
        Ok(Self { root })
    }

    /// The directory this store writes under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds `key`.
    pub fn path_of(&self, key: &StoreKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn io_err(&self, doing: &str, key: &StoreKey, e: std::io::Error) -> Error {
        Error::Io(format!("{doing} {key} in {}: {e}", self.location()))
    }

    fn not_found(&self, key: &StoreKey) -> Error {
        Error::NotFound(format!("{key} in {}", self.location()))
    }
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Storage(format!("disk store worker thread failed: {e}")))
}

fn write_atomically(path: &Path, value: &[u8]) -> std::io::Result<()> {
    write_atomically_with(path, |f| f.write_all(value))
}

/// Writes a temp file beside `path` with `fill`, then renames it into place.
fn write_atomically_with<T>(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>,
) -> std::io::Result<T> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        "{TEMP_MARK}.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(tmp);
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| fill(&mut f))
        .and_then(|v| std::fs::rename(&tmp, path).map(|()| v));
    if result.is_err() {
        // Best effort: do not leave a half-written temp file behind.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

impl DiskStore {
    /// Writes `key` synchronously, atomically, through `fill` (for the memory pool, which
    /// streams large values straight to disk from a non-async thread).
    pub(crate) fn put_sync_with<T>(
        &self,
        key: &StoreKey,
        fill: impl FnOnce(&mut std::fs::File) -> Result<T>,
    ) -> Result<T> {
        // The closure's own error is carried through the io::Error channel and restored.
        let mut inner_err = None;
        let out = write_atomically_with(&self.path_of(key), |f| {
            fill(f).map_err(|e| {
                inner_err = Some(e);
                std::io::Error::other("fill failed")
            })
        });
        match (out, inner_err) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(self.io_err("writing", key, e)),
        }
    }

    /// Opens `key` for a synchronous read; returns the file and its length.
    pub(crate) fn open_sync(&self, key: &StoreKey) -> Result<(std::fs::File, u64)> {
        let opened = std::fs::File::open(self.path_of(key)).and_then(|f| {
            let meta = f.metadata()?;
            if meta.is_dir() {
                return Err(std::io::Error::from(ErrorKind::NotFound));
            }
            Ok((f, meta.len()))
        });
        match opened {
            Ok(v) => Ok(v),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(self.not_found(key)),
            Err(e) => Err(self.io_err("reading", key, e)),
        }
    }
}

/// Collects every key under `dir` (relative to `root`) into `out`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<StoreKey>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound || e.kind() == ErrorKind::NotADirectory => {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            // Anything that is not a valid key (temp files, foreign files) is not ours.
            if let Some(key) = rel.to_str().and_then(|s| StoreKey::new(s).ok()) {
                out.push(key);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl ChunkStore for DiskStore {
    fn location(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn put(&self, key: &StoreKey, value: Bytes) -> Result<()> {
        let path = self.path_of(key);
        blocking(move || write_atomically(&path, &value))
            .await?
            .map_err(|e| self.io_err("writing", key, e))
    }

    async fn get(&self, key: &StoreKey) -> Result<Bytes> {
        let path = self.path_of(key);
        match blocking(move || std::fs::read(&path)).await? {
            Ok(v) => Ok(Bytes::from(v)),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
                ) =>
            {
                Err(self.not_found(key))
            }
            Err(e) => Err(self.io_err("reading", key, e)),
        }
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let path = self.path_of(key);
        match blocking(move || std::fs::remove_file(&path)).await? {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(()),
            Err(e) => Err(self.io_err("deleting", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoreKey>> {
        // Start at the deepest directory the prefix names in full; filter the rest by string.
        // A directory part that is not a valid key (`..`, `a//b`, `/x`) can prefix no key, and
        // must not be joined onto the root (it could walk outside it).
        let start = match prefix.rfind('/') {
            Some(i) => match StoreKey::new(&prefix[..i]) {
                Ok(dir) => self.path_of(&dir),
                Err(_) => return Ok(Vec::new()),
            },
            None => self.root.clone(),
        };
        let root = self.root.clone();
        let keys = blocking(move || {
            let mut out = Vec::new();
            walk(&root, &start, &mut out).map(|()| out)
        })
        .await?
        .map_err(|e| Error::Io(format!("listing {prefix:?} in {}: {e}", self.location())))?;
        Ok(super::listing::finish_listing(keys, prefix))
    }
}
