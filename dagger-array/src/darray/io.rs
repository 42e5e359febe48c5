//! Saving and loading a [`DArray`]: every block is written or read by a registered kernel
//! where the block lives; the metadata file is written last, by the driver (the format is
//! in [`crate::io`]).

use super::lazy::gather;
use super::{DArray, Lazy};
use crate::element::Element;
use crate::graph::{load_node, save_node, Node};
use crate::io;
use crate::io::files::check_eltype;
use dagger_core::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl<T: Element> DArray<T> {
    /// Saves the array: the metadata file at `path` and one payload per block in
    /// `<path>_data/`. Each block is written by a registered kernel where the block lives
    /// (a worker process on a cluster), which sends back only the block's record; the
    /// metadata file is written last, from those records, so it only ever describes
    /// complete payloads. `path` is a local path (made absolute here, so every process
    /// reads it alike) or a store location such as `s3://bucket/prefix/name`.
    pub fn save(&self, path: impl AsRef<Path>) -> Lazy<io::SavedArray> {
        let path: Arc<PathBuf> = Arc::new(
            io::shared_path(path.as_ref()).unwrap_or_else(|_| path.as_ref().to_path_buf()),
        );
        let parts: Vec<_> = self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| save_node(path.clone(), i, b))
            .collect();
        let all = gather(&parts);
        let meta = self.meta.clone();
        let node = Node::task1("save", &all, move |v: Result<Vec<io::SavedBlock>>| {
            let saved = io::SavedArray {
                format: io::FORMAT.into(),
                meta: meta.clone(),
                blocks: v?,
            };
            io::write_meta(&path, &saved)?;
            Ok(saved)
        });
        Lazy { node }
    }

    /// Opens an array saved at `path`: the metadata is read (and checked) now, in this
    /// process; each block is read by its own registered kernel, which on a cluster runs on
    /// a worker process and keeps the block there (it never passes through this process).
    /// A missing or damaged payload comes out of `compute`/`collect` as
    /// [`Error::NotFound`](dagger_core::Error::NotFound)/[`Error::Corrupt`](dagger_core::Error::Corrupt)
    /// naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<DArray<T>> {
        let path = io::shared_path(path.as_ref())?;
        let saved = io::read_meta(&path)?;
        check_eltype::<T>(&path, &saved)?;
        let path = Arc::new(path);
        Ok(Self::from_fn(
            saved.meta.grid.clone(),
            saved.meta.kind,
            // ok: `read_meta` checked there is one entry per block of the grid.
            |i, shape| load_node(path.clone(), saved.blocks[i].clone(), shape),
        ))
    }
}
