//! How the algorithms run: one datadeps region of tile-kernel tasks ([`Tasks`]), whose
//! failures keep their typed error, and task arguments naming a run of tiles (a block
//! column) that one task writes.

use crate::scalar::Scalar;
use crate::tile::Tile;
use dagger_core::Extent;
use dagger_core::{Error, Result, Scope};
use dagger_sched::datadeps::{Declared, Mode, Tracked};
use dagger_sched::{Arg, Context, Data, DataMut, DataRef, IntoArg, IntoArgs, ValuesOf};
use dagger_sched::{Dependency, WriteArg};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// The open region of one algorithm: spawns kernel tasks that return a typed [`Error`].
pub(crate) struct Tasks<'a> {
    ctx: &'a Context,
    failed: Arc<Mutex<Option<Error>>>,
}

impl<'a> Tasks<'a> {
    /// Runs `body` as one datadeps region on `ctx`. A failed task fails what depends on it
    /// (so nothing computes on a broken factor) and the call returns that task's own error
    /// (e.g. [`Error::NotPositiveDefinite`]), not only its text.
    pub(crate) fn run<R>(ctx: &'a Context, body: impl FnOnce(&Tasks<'a>) -> R) -> Result<R> {
        let tasks = Tasks {
            ctx,
            failed: Arc::default(),
        };
        let out = ctx.datadeps(|| body(&tasks));
        let typed = tasks.failed.lock().map(|mut f| f.take()).unwrap_or(None);
        match (out, typed) {
            (_, Some(e)) => Err(e),
            (out, None) => out,
        }
    }

    /// Spawns one kernel task.
    pub(crate) fn spawn<A, F>(&self, f: F, args: A)
    where
        A: IntoArgs,
        F: FnOnce(ValuesOf<A>) -> Result<()> + Send + 'static,
    {
        let slot = self.failed.clone();
        self.ctx.try_spawn(
            move |v| {
                f(v).inspect_err(|e| {
                    if let Ok(mut s) = slot.lock() {
                        s.get_or_insert_with(|| e.clone());
                    }
                })
            },
            args,
        );
    }
}

/// A read and write of several tiles by one task.
pub(crate) struct InOutTiles<'a, T>(pub(crate) Vec<&'a Data<Tile<T>>>);

/// The stored form of [`InOutTiles`].
pub(crate) struct WriteTiles<T>(Vec<WriteArg<Tile<T>>>);

impl<T: Scalar> IntoArg for InOutTiles<'_, T> {
    type Arg = WriteTiles<T>;
    fn into_arg(self) -> WriteTiles<T> {
        let w = |d: &&Data<Tile<T>>| d.write_arg(Extent::Whole, Mode::InOut);
        WriteTiles(self.0.iter().map(w).collect())
    }
}

impl<T: Scalar> Arg for WriteTiles<T> {
    type Value = Vec<DataMut<Tile<T>>>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        self.0.iter().for_each(|a| a.visit(f));
    }
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        self.0.iter().for_each(|a| a.accesses(f));
    }
    fn resolve(self) -> Result<Self::Value> {
        self.0.into_iter().map(Arg::resolve).collect()
    }
}

/// The tiles of a block column stacked into one matrix (they share a width).
pub(crate) fn stack<T: Scalar, D: Deref<Target = Tile<T>>>(tiles: &[D]) -> Tile<T> {
    let w = tiles.first().map_or(0, |t| t.ncols());
    let h = tiles.iter().map(|t| t.nrows()).sum();
    let mut out = Tile::zeros(h, w);
    let mut r0 = 0;
    for t in tiles {
        out.as_mut()
            .get_mut(r0..r0 + t.nrows(), ..)
            .copy_from(t.as_ref());
        r0 += t.nrows();
    }
    out
}

/// Writes a stacked matrix back into the tiles it came from.
pub(crate) fn unstack<T: Scalar>(src: &Tile<T>, tiles: &mut [DataMut<Tile<T>>]) {
    let mut r0 = 0;
    for t in tiles {
        let h = t.nrows();
        t.copy_from(src.as_ref().get(r0..r0 + h, ..));
        r0 += h;
    }
}

/// What a task writing one tile receives.
pub(crate) type TileMut<T> = DataMut<Tile<T>>;

/// What a task reading one tile receives.
pub(crate) type TileRef<T> = DataRef<Tile<T>>;
