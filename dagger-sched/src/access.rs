//! Declared accesses as a task carries them ([`Declared`]), and the permits a task takes on
//! the objects it names before its arguments resolve.
//!
//! A datadeps region orders conflicting tasks, so a task's objects are free when it runs.
//! The per-object lock still guards them, for two reasons: tasks spawned outside a region
//! (nothing orders them), and tasks of one region naming disjoint views of one object, which
//! the plan lets run together but which share the object's one lock. A task therefore takes
//! all its permits before its body, in object order: two tasks never hold one permit each
//! while waiting for the other's (no deadlock), whatever order their arguments list them in.

use dagger_core::{Access, ObjectId, Result};
use smallvec::SmallVec;
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

/// The lock of an object datadeps tasks read and write in place.
pub trait ObjectLock: Send + Sync + 'static {
    /// Blocks until the object can be read (`write` false) or written, and returns the
    /// permit (a guard the task's argument then takes over).
    fn acquire(self: Arc<Self>, write: bool) -> Box<dyn Any + Send>;
}

/// One access a task argument declares: what it names and how, the shape of the object (for
/// views), and the object's lock if it has one (a value with interior mutability, such as a
/// `mutable`, needs none: it is only ordered).
#[derive(Clone)]
pub struct Declared {
    /// Object, extent and mode.
    pub access: Access,
    /// `[rows, columns]` of the object, if it has a shape.
    pub shape: Option<[usize; 2]>,
    /// The lock taken before the task runs.
    pub lock: Option<Arc<dyn ObjectLock>>,
}

impl fmt::Debug for Declared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Declared")
            .field("access", &self.access)
            .field("shape", &self.shape)
            .field("locked", &self.lock.is_some())
            .finish()
    }
}

/// What a task's argument tuple declares (most tasks: nothing).
pub(crate) type Accesses = SmallVec<[Declared; 2]>;

/// The locks a task takes before it runs, sorted by object (none unless it takes two or
/// more: the common task carries an empty `Vec`, three words, no allocation).
pub(crate) type Locks = Vec<(ObjectId, bool, Arc<dyn ObjectLock>)>;

/// The declared accesses of a task, gathered as its arguments name them: the first invalid
/// declaration (a view out of bounds, a write to something immutable) or object named twice
/// is kept as the error, and ends the gathering.
#[derive(Default)]
pub(crate) struct Gather {
    accesses: Accesses,
    error: Option<dagger_core::Error>,
}

impl Gather {
    /// Adds the next declaration.
    pub(crate) fn add(&mut self, d: Result<Declared>) {
        if self.error.is_some() {
            return;
        }
        let d = match d {
            Ok(d) => d,
            Err(e) => return self.error = Some(e),
        };
        if let Some(o) = self
            .accesses
            .iter()
            .find(|o| o.access.object == d.access.object)
        {
            self.error = Some(dagger_core::Error::Argument(format!(
                "object {} is named twice by one task (as {} and {}): pass it once, with the \
                 mode and extent that cover both uses",
                d.access.object, o.access.extent, d.access.extent
            )));
            return;
        }
        self.accesses.push(d);
    }

    /// Whether the arguments declared nothing (valid or not).
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.accesses.is_empty() && self.error.is_none()
    }

    /// The accesses, or none and the error that made them invalid.
    pub(crate) fn checked(&mut self) -> (&[Declared], Option<dagger_core::Error>) {
        match self.error.take() {
            Some(e) => (&[], Some(e)),
            None => (&self.accesses, None),
        }
    }
}

/// The locks of `accesses` a task takes before its arguments resolve, in the order they
/// must be taken. A task with one lock takes it as its argument resolves: holding one lock
/// and waiting for none, it cannot close a cycle.
pub(crate) fn locks(accesses: &[Declared]) -> Locks {
    if accesses.iter().filter(|d| d.lock.is_some()).count() < 2 {
        return Locks::new();
    }
    let mut l: Locks = accesses
        .iter()
        .filter_map(|d| {
            d.lock
                .as_ref()
                .map(|k| (d.access.object, d.access.mode.writes(), k.clone()))
        })
        .collect();
    l.sort_by_key(|(o, _, _)| *o);
    l
}

thread_local! {
    /// Permits taken for the task about to resolve its arguments on this thread.
    static PERMITS: RefCell<Vec<(ObjectId, Box<dyn Any + Send>)>> = const { RefCell::new(Vec::new()) };
}

/// Clears what the arguments did not take when the body's resolution ends (also on error).
pub(crate) struct Permits(bool);

impl Drop for Permits {
    fn drop(&mut self) {
        if self.0 {
            // Dropped after the body returned, so no guard of this task outlives it.
            let left = PERMITS.with(|p| std::mem::take(&mut *p.borrow_mut()));
            drop(left);
        }
    }
}

/// Takes every lock in order and leaves the permits for the arguments to take.
pub(crate) fn acquire(locks: &Locks) -> Permits {
    if locks.is_empty() {
        return Permits(false);
    }
    let taken: Vec<_> = locks
        .iter()
        .map(|(o, w, l)| (*o, l.clone().acquire(*w)))
        .collect();
    PERMITS.with(|p| p.borrow_mut().extend(taken));
    Permits(true)
}

/// The permit taken for `object` before this task's arguments resolve, if any (an argument
/// resolved outside a permitted task locks for itself).
pub fn take_permit(object: ObjectId) -> Option<Box<dyn Any + Send>> {
    PERMITS.with(|p| {
        let mut p = p.borrow_mut();
        let i = p.iter().position(|(o, _)| *o == object)?;
        Some(p.swap_remove(i).1)
    })
}
