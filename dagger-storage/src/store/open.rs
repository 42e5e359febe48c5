//! [`open_store`]: a store from a URL-ish location string.

use super::disk::DiskStore;
use super::memory::MemoryStore;
use dagger_core::{ChunkStore, Error, Result};
use std::sync::Arc;

/// Opens the store a location names.
///
/// | location | store |
/// | --- | --- |
/// | `memory://` | a new [`MemoryStore`] |
/// | `file:///abs/path`, or a plain path | a [`DiskStore`] there |
/// | `s3://bucket/prefix` | S3 through `object_store` (feature `s3`); credentials, region and endpoint from the `AWS_*` environment (`AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, …) |
/// | `gs://bucket/prefix` | Google Cloud Storage (feature `gcs`), from `GOOGLE_*` |
/// | `az://container/prefix` | Azure Blob Storage (feature `azure`), from `AZURE_*` |
///
/// # Errors
///
/// [`Error::Argument`] for an unknown scheme, or a cloud scheme whose feature is off in
/// this build (the message names the feature); [`Error::Io`] if a directory cannot be
/// created; [`Error::Storage`] if a cloud client cannot be configured.
///
/// # Examples
///
/// ```
/// let store = dagger_storage::open_store("memory://").unwrap();
/// assert_eq!(store.location(), "memory://");
/// let dir = tempfile::tempdir().unwrap();
/// let disk = dagger_storage::open_store(dir.path().to_str().unwrap()).unwrap();
/// assert!(disk.location().starts_with("file://"));
/// assert!(dagger_storage::open_store("ftp://x").is_err());
/// ```
pub fn open_store(location: &str) -> Result<Arc<dyn ChunkStore>> {
    let Some((scheme, rest)) = location.split_once("://") else {
        if location.is_empty() {
            return Err(Error::Argument("empty store location".into()));
        }
        return Ok(Arc::new(DiskStore::new(location)?));
    };
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::new())),
        "file" => {
            if rest.is_empty() {
                return Err(Error::Argument(format!("store location {location:?} names no directory")));
            }
            Ok(Arc::new(DiskStore::new(rest)?))
        }
        "s3" | "s3a" => cloud::s3(location, rest),
        "gs" => cloud::gcs(location, rest),
        "az" | "azure" | "abfs" => cloud::azure(location, rest),
        other => Err(Error::Argument(format!(
            "unknown store scheme {other:?} in {location:?} (expected memory://, file://, s3://, gs:// or az://)"
        ))),
    }
}

/// Splits `bucket/prefix/more` into the bucket and the (possibly empty) prefix.
#[allow(dead_code)] // unused when every cloud feature is off
fn bucket_and_prefix<'a>(location: &str, rest: &'a str) -> Result<(&'a str, &'a str)> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::Argument(format!(
            "store location {location:?} names no bucket"
        )));
    }
    Ok((bucket, prefix))
}

mod cloud {
    use super::*;

    #[allow(dead_code)]
    fn feature_off(location: &str, feature: &str) -> Error {
        Error::Argument(format!(
            "cannot open {location:?}: dagger-storage was built without its `{feature}` feature (enable it to use this store)"
        ))
    }

    #[allow(dead_code)]
    fn wrap(
        store: Arc<dyn object_store::ObjectStore>,
        scheme: &str,
        bucket: &str,
        prefix: &str,
    ) -> Result<Arc<dyn ChunkStore>> {
        let backend =
            crate::store::object::ObjectStoreBackend::new(store, format!("{scheme}://{bucket}"))
                .with_prefix(prefix)?;
        Ok(Arc::new(backend))
    }

    #[cfg(feature = "s3")]
    pub(super) fn s3(location: &str, rest: &str) -> Result<Arc<dyn ChunkStore>> {
        let (bucket, prefix) = bucket_and_prefix(location, rest)?;
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| Error::Storage(format!("configuring {location:?}: {e}")))?;
        wrap(Arc::new(s3), "s3", bucket, prefix)
    }

    #[cfg(not(feature = "s3"))]
    pub(super) fn s3(location: &str, _rest: &str) -> Result<Arc<dyn ChunkStore>> {
        Err(feature_off(location, "s3"))
    }

    #[cfg(feature = "gcs")]
    pub(super) fn gcs(location: &str, rest: &str) -> Result<Arc<dyn ChunkStore>> {
        let (bucket, prefix) = bucket_and_prefix(location, rest)?;
        let gcs = object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| Error::Storage(format!("configuring {location:?}: {e}")))?;
        wrap(Arc::new(gcs), "gs", bucket, prefix)
    }

    #[cfg(not(feature = "gcs"))]
    pub(super) fn gcs(location: &str, _rest: &str) -> Result<Arc<dyn ChunkStore>> {
        Err(feature_off(location, "gcs"))
    }

    #[cfg(feature = "azure")]
    pub(super) fn azure(location: &str, rest: &str) -> Result<Arc<dyn ChunkStore>> {
        let (container, prefix) = bucket_and_prefix(location, rest)?;
        let az = object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_container_name(container)
            .build()
            .map_err(|e| Error::Storage(format!("configuring {location:?}: {e}")))?;
        wrap(Arc::new(az), "az", container, prefix)
    }

    #[cfg(not(feature = "azure"))]
    pub(super) fn azure(location: &str, _rest: &str) -> Result<Arc<dyn ChunkStore>> {
        Err(feature_off(location, "azure"))
    }
}
