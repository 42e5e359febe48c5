//! Where a listener's socket file goes, and removing it again.

use dagger_core::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The socket path to bind for `addr`: a fresh name inside `addr` when it is a directory,
/// else `addr` itself.
///
/// # Errors
/// [`Error::Argument`] for an empty address.
pub(crate) fn socket_path(addr: &str) -> Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if addr.is_empty() {
        return Err(Error::Argument(
            "a Unix socket address is a path; got an empty string".into(),
        ));
    }
    let path = Path::new(addr);
    if path.is_dir() {
        // The process id keeps two processes sharing the directory apart.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Ok(path.join(format!("dagger-{}-{n}.sock", std::process::id())))
    } else {
        Ok(path.to_path_buf())
    }
}

/// A socket file that is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct SocketFile(PathBuf);

impl SocketFile {
    /// Takes charge of the socket file just bound at `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        SocketFile(path)
    }

    /// The file's path as an address string.
    pub(crate) fn addr(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Already gone (someone removed it) is fine: the goal is that it does not stay.
        let _ = std::fs::remove_file(&self.0);
    }
}
