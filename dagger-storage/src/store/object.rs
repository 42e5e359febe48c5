//! [`ObjectStoreBackend`]: a [`ChunkStore`] over any [`object_store::ObjectStore`].

use async_trait::async_trait;
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, Result, StoreKey};
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;
use std::sync::Arc;

/// Adapts an [`ObjectStore`] (S3, GCS, Azure, local files, memory) to [`ChunkStore`].
///
/// Keys are stored under an optional prefix (`s3://bucket/prefix/<key>`), so several
/// clusters can share a bucket. Listing by prefix is by plain string prefix, as the
/// `ChunkStore` contract says, even though object stores list by path segment.
///
/// # Examples
///
/// ```
/// use dagger_core::{ChunkStore, StoreKey};
/// use dagger_storage::ObjectStoreBackend;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = ObjectStoreBackend::in_memory();
/// let key = StoreKey::new("chunks/c12").unwrap();
/// store.put(&key, "v".into()).await.unwrap();
/// assert_eq!(store.list("chunks/c1").await.unwrap(), vec![key]);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ObjectStoreBackend {
    inner: Arc<dyn ObjectStore>,
    /// Prepended to every key, without a trailing `/`; empty for none.
    prefix: String,
    location: String,
}

impl ObjectStoreBackend {
    /// Wraps `store`; `location` names it in messages (e.g. `"s3://bucket"`).
    pub fn new(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Self {
            inner: store,
            prefix: String::new(),
            location: location.into(),
        }
    }

    /// Keeps every key under `prefix` (`a/b` keeps key `k` at `a/b/k`).
    ///
    /// # Errors
    ///
    /// [`Error::Argument`] if the prefix is not a valid key path.
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self> {
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            StoreKey::new(prefix)?;
            let sep = if self.location.ends_with('/') {
                ""
            } else {
                "/"
            };
            self.location = format!("{}{sep}{prefix}", self.location);
        }
        self.prefix = prefix.to_string();
        Ok(self)
    }

    /// Over `object_store`'s in-memory store.
    pub fn in_memory() -> Self {
        Self::new(
            Arc::new(object_store::memory::InMemory::new()),
            "object-memory://",
        )
    }

    /// Over `object_store`'s local file system store, rooted at `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the directory cannot be created; [`Error::Storage`] if
    /// `object_store` rejects it.
    pub fn local(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("creating store directory {}: {e}", dir.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| Error::Storage(format!("opening {}: {e}", dir.display())))?;
        Ok(Self::new(
            Arc::new(fs),
            format!("object-file://{}", dir.display()),
        ))
    }

    /// The wrapped object store.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    fn path_of(&self, key: &StoreKey) -> Result<ObjectPath> {
        let full = if self.prefix.is_empty() {
            key.as_str().to_string()
        } else {
            format!("{}/{key}", self.prefix)
        };
        ObjectPath::parse(&full)
            .map_err(|e| Error::Argument(format!("key {key} is not a valid object path: {e}")))
    }

    fn map_err(&self, doing: &str, key: &StoreKey, e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { .. } => {
                Error::NotFound(format!("{key} in {}", self.location))
            }
            e => Error::Storage(format!("{doing} {key} in {}: {e}", self.location)),
        }
    }
}

#[async_trait]
impl ChunkStore for ObjectStoreBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn put(&self, key: &StoreKey, value: Bytes) -> Result<()> {
        let path = self.path_of(key)?;
        self.inner
            .put(&path, value.into())
            .await
            .map(|_| ())
            .map_err(|e| self.map_err("writing", key, e))
    }

    async fn get(&self, key: &StoreKey) -> Result<Bytes> {
        let path = self.path_of(key)?;
        let result = self
            .inner
            .get(&path)
            .await
            .map_err(|e| self.map_err("reading", key, e))?;
        result
            .bytes()
            .await
            .map_err(|e| self.map_err("reading", key, e))
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let path = self.path_of(key)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.map_err("deleting", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoreKey>> {
        // Object stores list whole path segments: list the deepest directory the prefix
        // names in full, then filter by string.
        let dir = match prefix.rfind('/') {
            Some(i) => match StoreKey::new(&prefix[..i]) {
                Ok(d) => Some(d),
                // No key can start with an invalid directory part.
                Err(_) => return Ok(Vec::new()),
            },
            None => None,
        };
        let list_path = match (&dir, self.prefix.is_empty()) {
            (Some(d), _) => Some(self.path_of(d)?),
            (None, false) => Some(
                ObjectPath::parse(&self.prefix)
                    .map_err(|e| Error::Argument(format!("bad prefix {:?}: {e}", self.prefix)))?,
            ),
            (None, true) => None,
        };
        let metas: Vec<_> = self
            .inner
            .list(list_path.as_ref())
            .try_collect()
            .await
            .map_err(|e| Error::Storage(format!("listing {prefix:?} in {}: {e}", self.location)))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let keys = metas
            .iter()
            .filter_map(|m| {
                m.location
                    .as_ref()
                    .strip_prefix(strip.as_str())
                    .map(str::to_string)
            })
            .filter_map(|k| StoreKey::new(k).ok())
            .collect();
        Ok(super::listing::finish_listing(keys, prefix))
    }
}
