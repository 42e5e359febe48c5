//! [`Data`]: a value tasks read and write in place, and the access declarations [`In`],
//! [`Out`] and [`InOut`] that datadeps regions order tasks by.
//!
//! A task argument `In(&d)` hands the body a [`DataRef`] (reads `d`); `Out(&d)` and
//! `InOut(&d)` hand it a [`DataMut`] (writes `d` in place). A bare `&d` counts as `In`.
//! Views name part of a shaped value (`d.rows(0..2)`, `d.upper(true)`, …): the plan of a
//! region then orders tasks only where their views overlap. The body still receives the
//! whole value and its [`DataRef::extent`]; it must keep to the elements it declared, as in
//! Dagger.jl.
//!
//! ```
//! use dagger_sched::{Context, Data, In, InOut};
//! let ctx = Context::builder().threads(2).build();
//! let a = Data::new(vec![1.0, 2.0, 3.0]);
//! let b = Data::new(vec![0.0; 3]);
//! ctx.datadeps(|| {
//!     // b += a, then a *= 2: the second waits for the first (it writes what that one reads).
//!     ctx.spawn(|(mut b, a)| for (y, x) in b.iter_mut().zip(a.iter()) { *y += *x }, (InOut(&b), In(&a)));
//!     ctx.spawn(|(mut a,)| a.iter_mut().for_each(|x| *x *= 2.0), (InOut(&a),));
//! })
//! .unwrap();
//! assert_eq!(b.get(), vec![1.0, 2.0, 3.0]);
//! assert_eq!(a.get(), vec![2.0, 4.0, 6.0]);
//! ```

use crate::access::{take_permit, Declared, ObjectLock};
use crate::args::{Arg, IntoArg};
use crate::handle::{Chunk, DTask};
use crate::task::Dependency;
use dagger_core::{Access, Error, Extent, Mode, ObjectId, Result, Scope};
use parking_lot::lock_api::{ArcRwLockReadGuard, ArcRwLockWriteGuard};
use parking_lot::{RawRwLock, RwLock};
use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut, Range};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The id of the next object made in this process.
static NEXT_OBJECT: AtomicU64 = AtomicU64::new(1);

/// A fresh object id, unique in this process (for other crates' in-place objects too).
pub fn new_object_id() -> ObjectId {
    ObjectId(NEXT_OBJECT.fetch_add(1, Ordering::Relaxed))
}

/// A value that datadeps tasks read and write in place: the mutable object of a region.
///
/// Clones are handles to the one value. It lives in the process that made it; tasks that
/// name it run there. Outside tasks, [`Data::read`], [`Data::write`] and [`Data::get`] reach
/// it (they wait while a task holds it).
///
/// ```
/// use dagger_sched::Data;
/// let d = Data::with_shape(vec![0; 6], [2, 3]); // a 2×3 value, row-major
/// d.write(|v| v[4] = 7);
/// assert_eq!(d.read(|v| v[4]), 7);
/// assert_eq!(d.shape(), Some([2, 3]));
/// ```
pub struct Data<T> {
    id: ObjectId,
    shape: Option<[usize; 2]>,
    value: Arc<RwLock<T>>,
}

impl<T> Clone for Data<T> {
    fn clone(&self) -> Self {
        Data {
            id: self.id,
            shape: self.shape,
            value: self.value.clone(),
        }
    }
}

impl<T> fmt::Debug for Data<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Data({}", self.id)?;
        if let Some([r, c]) = self.shape {
            write!(f, ", {r}×{c}")?;
        }
        write!(f, ")")
    }
}

impl<T: Send + Sync + 'static> Data<T> {
    /// A value with no shape: tasks name all of it.
    pub fn new(value: T) -> Self {
        Data {
            id: new_object_id(),
            shape: None,
            value: Arc::new(RwLock::new(value)),
        }
    }

    /// A value with a `[rows, columns]` shape, so that tasks may name views of it (a vector
    /// is `[len, 1]`). The shape is what views are checked and ordered by; the value's own
    /// layout is the tasks' business.
    pub fn with_shape(value: T, shape: [usize; 2]) -> Self {
        Data {
            shape: Some(shape),
            ..Data::new(value)
        }
    }

    /// The object's id (what regions order accesses by).
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// The shape given at construction.
    pub fn shape(&self) -> Option<[usize; 2]> {
        self.shape
    }

    /// Calls `f` with the value (waits while a task writes it).
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value.read())
    }

    /// Calls `f` with the value, mutably (waits while a task holds it).
    pub fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.value.write())
    }

    /// A copy of the value.
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.value.read().clone()
    }

    /// Part of the value, for a task to declare (`In(d.view(e))`).
    pub fn view(&self, extent: Extent) -> View<'_, T> {
        View { data: self, extent }
    }

    /// Rows `r` (every column).
    pub fn rows(&self, r: Range<usize>) -> View<'_, T> {
        self.view(Extent::rows(r))
    }

    /// Columns `c` (every row).
    pub fn cols(&self, c: Range<usize>) -> View<'_, T> {
        self.view(Extent::cols(c))
    }

    /// The upper triangle, with the diagonal if `diagonal`.
    pub fn upper(&self, diagonal: bool) -> View<'_, T> {
        self.view(Extent::upper(diagonal))
    }

    /// The lower triangle, with the diagonal if `diagonal`.
    pub fn lower(&self, diagonal: bool) -> View<'_, T> {
        self.view(Extent::lower(diagonal))
    }

    /// The diagonal.
    pub fn diagonal(&self) -> View<'_, T> {
        self.view(Extent::Diagonal)
    }

    fn declared(&self, extent: &Extent, mode: Mode) -> Result<Declared> {
        extent.check(self.shape)?;
        Ok(Declared {
            access: Access {
                object: self.id,
                extent: extent.clone(),
                mode,
            },
            shape: self.shape,
            lock: Some(self.value.clone()),
        })
    }
}

impl<T: Send + Sync + 'static> ObjectLock for RwLock<T> {
    fn acquire(self: Arc<Self>, write: bool) -> Box<dyn Any + Send> {
        if write {
            Box::new(RwLock::write_arc(&self))
        } else {
            Box::new(RwLock::read_arc(&self))
        }
    }
}

/// Part of a [`Data`] value, as a task declares it: `In(d.rows(0..2))`.
#[derive(Debug)]
pub struct View<'a, T> {
    data: &'a Data<T>,
    extent: Extent,
}

/// Declares that a task reads its argument (Dagger.jl's `In`).
#[derive(Clone, Copy, Debug)]
pub struct In<X>(pub X);

/// Declares that a task overwrites its argument without reading it first (`Out`).
#[derive(Clone, Copy, Debug)]
pub struct Out<X>(pub X);

/// Declares that a task reads and then writes its argument (`InOut`).
#[derive(Clone, Copy, Debug)]
pub struct InOut<X>(pub X);

/// What a task that reads a [`Data`] receives: the value, shared with other readers.
pub struct DataRef<T> {
    guard: ArcRwLockReadGuard<RawRwLock, T>,
    extent: Extent,
}

impl<T> DataRef<T> {
    /// The part of the value the task declared.
    pub fn extent(&self) -> &Extent {
        &self.extent
    }
}

impl<T> Deref for DataRef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for DataRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// What a task that writes a [`Data`] receives: the value, exclusively.
pub struct DataMut<T> {
    guard: ArcRwLockWriteGuard<RawRwLock, T>,
    extent: Extent,
}

impl<T> DataMut<T> {
    /// The part of the value the task declared.
    pub fn extent(&self) -> &Extent {
        &self.extent
    }
}

impl<T> Deref for DataMut<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for DataMut<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for DataMut<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A read of a [`Data`], as stored in a task until it runs.
#[derive(Debug)]
pub struct ReadArg<T> {
    data: Data<T>,
    extent: Extent,
}

impl<T: Send + Sync + 'static> Arg for ReadArg<T> {
    type Value = DataRef<T>;
    fn visit(&self, _: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {}
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        f(self.data.declared(&self.extent, Mode::In))
    }
    fn resolve(self) -> Result<DataRef<T>> {
        let guard = match take_permit(self.data.id).map(|p| p.downcast()) {
            Some(Ok(g)) => *g,
            _ => RwLock::read_arc(&self.data.value),
        };
        Ok(DataRef {
            guard,
            extent: self.extent,
        })
    }
}

/// A write of a [`Data`], as stored in a task until it runs.
#[derive(Debug)]
pub struct WriteArg<T> {
    data: Data<T>,
    extent: Extent,
    mode: Mode,
}

impl<T: Send + Sync + 'static> Arg for WriteArg<T> {
    type Value = DataMut<T>;
    fn visit(&self, _: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {}
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        f(self.data.declared(&self.extent, self.mode))
    }
    fn resolve(self) -> Result<DataMut<T>> {
        let guard = match take_permit(self.data.id).map(|p| p.downcast()) {
            Some(Ok(g)) => *g,
            _ => RwLock::write_arc(&self.data.value),
        };
        Ok(DataMut {
            guard,
            extent: self.extent,
        })
    }
}

/// An object datadeps tasks can name with [`In`], [`Out`] and [`InOut`]: implemented by
/// [`Data`], and by other crates' in-place objects (a pinned `mutable`, a DArray block).
pub trait Tracked {
    /// What `In(&x)` stores in the task.
    type Read: Arg;
    /// What `Out(&x)` and `InOut(&x)` store.
    type Write: Arg;
    /// A read of `extent`.
    fn read_arg(&self, extent: Extent) -> Self::Read;
    /// A write (`mode` is `Out` or `InOut`) of `extent`.
    fn write_arg(&self, extent: Extent, mode: Mode) -> Self::Write;
}

impl<T: Send + Sync + 'static> Tracked for Data<T> {
    type Read = ReadArg<T>;
    type Write = WriteArg<T>;
    fn read_arg(&self, extent: Extent) -> ReadArg<T> {
        ReadArg {
            data: self.clone(),
            extent,
        }
    }
    fn write_arg(&self, extent: Extent, mode: Mode) -> WriteArg<T> {
        WriteArg {
            data: self.clone(),
            extent,
            mode,
        }
    }
}

impl<X: Tracked> IntoArg for In<&X> {
    type Arg = X::Read;
    fn into_arg(self) -> X::Read {
        self.0.read_arg(Extent::Whole)
    }
}

impl<X: Tracked> IntoArg for Out<&X> {
    type Arg = X::Write;
    fn into_arg(self) -> X::Write {
        self.0.write_arg(Extent::Whole, Mode::Out)
    }
}

impl<X: Tracked> IntoArg for InOut<&X> {
    type Arg = X::Write;
    fn into_arg(self) -> X::Write {
        self.0.write_arg(Extent::Whole, Mode::InOut)
    }
}

impl<T: Send + Sync + 'static> IntoArg for In<View<'_, T>> {
    type Arg = ReadArg<T>;
    fn into_arg(self) -> ReadArg<T> {
        self.0.data.read_arg(self.0.extent)
    }
}

impl<T: Send + Sync + 'static> IntoArg for Out<View<'_, T>> {
    type Arg = WriteArg<T>;
    fn into_arg(self) -> WriteArg<T> {
        self.0.data.write_arg(self.0.extent, Mode::Out)
    }
}

impl<T: Send + Sync + 'static> IntoArg for InOut<View<'_, T>> {
    type Arg = WriteArg<T>;
    fn into_arg(self) -> WriteArg<T> {
        self.0.data.write_arg(self.0.extent, Mode::InOut)
    }
}

/// A bare `&d` is a read of all of it.
impl<T: Send + Sync + 'static> IntoArg for &Data<T> {
    type Arg = ReadArg<T>;
    fn into_arg(self) -> ReadArg<T> {
        In(self).into_arg()
    }
}

/// A bare view is a read of it.
impl<T: Send + Sync + 'static> IntoArg for View<'_, T> {
    type Arg = ReadArg<T>;
    fn into_arg(self) -> ReadArg<T> {
        In(self).into_arg()
    }
}

/// `In` of a task result or chunk: its value, as a bare handle passes it (results are never
/// written, so a read needs no ordering).
impl<T: Clone + Send + Sync + 'static> IntoArg for In<&DTask<T>> {
    type Arg = DTask<T>;
    fn into_arg(self) -> DTask<T> {
        self.0.clone()
    }
}

/// See the `In<&DTask<T>>` case.
impl<T: Clone + Send + Sync + 'static> IntoArg for In<&Chunk<T>> {
    type Arg = Chunk<T>;
    fn into_arg(self) -> Chunk<T> {
        self.0.clone()
    }
}

/// A write declared on an immutable result: the task fails when spawned.
#[derive(Debug)]
pub struct Immutable<T> {
    what: String,
    _value: std::marker::PhantomData<fn() -> T>,
}

impl<T: Send + 'static> Arg for Immutable<T> {
    type Value = T;
    fn visit(&self, _: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {}
    fn accesses(&self, f: &mut dyn FnMut(Result<Declared>)) {
        f(Err(self.error()))
    }
    fn resolve(self) -> Result<T> {
        Err(self.error())
    }
}

impl<T> Immutable<T> {
    fn error(&self) -> Error {
        Error::Argument(format!(
            "{} cannot be written in place: task results are immutable (put the value in a \
             `Data` to mutate it)",
            self.what
        ))
    }
}

macro_rules! immutable {
    ($($wrap:ident),*) => {$(
        impl<T: Clone + Send + Sync + 'static> IntoArg for $wrap<&DTask<T>> {
            type Arg = Immutable<T>;
            fn into_arg(self) -> Immutable<T> {
                let what = format!("{}({})", stringify!($wrap), self.0.id());
                Immutable { what, _value: std::marker::PhantomData }
            }
        }
        impl<T: Clone + Send + Sync + 'static> IntoArg for $wrap<&Chunk<T>> {
            type Arg = Immutable<T>;
            fn into_arg(self) -> Immutable<T> {
                let what = format!("{}(chunk {})", stringify!($wrap), self.0.id());
                Immutable { what, _value: std::marker::PhantomData }
            }
        }
    )*};
}
immutable!(Out, InOut);
