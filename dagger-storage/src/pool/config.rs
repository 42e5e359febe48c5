//! [`StorageConfig`] and the spill [`Policy`].

use dagger_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::str::FromStr;

/// Which resident value the pool spills first when it needs room.
///
/// Parsed case-insensitively from `"lru"` / `"mru"`; anything else is an
/// [`Error::Argument`].
///
/// ```
/// use dagger_storage::Policy;
/// assert_eq!("LRU".parse::<Policy>().unwrap(), Policy::Lru);
/// assert_eq!("mru".parse::<Policy>().unwrap(), Policy::Mru);
/// assert!("fifo".parse::<Policy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Policy {
    /// Spill the least recently used value (the default: keeps the working set hot).
    #[default]
    Lru,
    /// Spill the most recently used value (good for one-pass scans larger than memory).
    Mru,
}

impl FromStr for Policy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lru" => Ok(Policy::Lru),
            "mru" => Ok(Policy::Mru),
            _ => Err(Error::Argument(format!(
                "unknown spill policy {s:?} (expected \"LRU\" or \"MRU\")"
            ))),
        }
    }
}

/// How a worker's [`MemoryPool`](crate::MemoryPool) keeps values; accepted by the scheduler's
/// `Context` builder.
///
/// The default has no limits: values stay in memory and nothing spills.
///
/// # Examples
///
/// ```
/// use dagger_storage::{StorageConfig, Policy};
/// let cfg = StorageConfig {
///     memory_limit: Some(512 << 20),
///     disk_limit: Some(8 << 30),
///     policy: Policy::Lru,
///     ..Default::default()
/// };
/// assert!(cfg.validate().is_ok());
/// assert!(StorageConfig { memory_limit: Some(0), ..Default::default() }.validate().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageConfig {
    /// Bytes of live values to keep in memory before spilling; `None` for no limit.
    pub memory_limit: Option<u64>,
    /// Bytes of spilled values the store may hold; `None` for no limit.
    pub disk_limit: Option<u64>,
    /// Directory to spill into (kept after the pool, though the pool deletes its own files).
    /// `None` (and no `store`): a fresh temp directory, deleted with the pool.
    pub spill_dir: Option<PathBuf>,
    /// A store location for spilled values, as [`open_store`](crate::open_store) takes it
    /// (`"memory://"`, `"file:///x"`, `"s3://bucket/prefix"`). Excludes `spill_dir`.
    pub store: Option<String>,
    /// Which value to spill first.
    pub policy: Policy,
}

impl StorageConfig {
    /// Checks the limits and the choice of spill target.
    ///
    /// # Errors
    ///
    /// [`Error::Argument`] for a zero limit, or both `spill_dir` and `store` given.
    pub fn validate(&self) -> Result<()> {
        if self.memory_limit == Some(0) {
            return Err(Error::Argument(
                "memory limit must be at least 1 byte".into(),
            ));
        }
        if self.disk_limit == Some(0) {
            return Err(Error::Argument("disk limit must be at least 1 byte".into()));
        }
        if self.spill_dir.is_some() && self.store.is_some() {
            return Err(Error::Argument(
                "give either spill_dir or store for spilled values, not both".into(),
            ));
        }
        Ok(())
    }
}
