//! The typed failures of the algorithms, naming the tile and the pivot.

use dagger_core::Error;

/// Pivot `pivot` of diagonal tile `(k, k)` with tiles of edge `b` is not positive.
pub(crate) fn not_positive_definite(k: usize, b: usize, pivot: usize) -> Error {
    Error::NotPositiveDefinite {
        tile: [k, k],
        pivot,
        column: k * b + pivot,
    }
}

/// Pivot `pivot` of diagonal tile `(k, k)` with tiles of edge `b` is exactly zero.
pub(crate) fn singular(k: usize, b: usize, pivot: usize) -> Error {
    Error::Singular {
        tile: [k, k],
        pivot,
        column: k * b + pivot,
    }
}

/// Two shapes that must agree do not.
pub(crate) fn mismatch(what: &str, a: [usize; 2], b: [usize; 2]) -> Error {
    Error::DimensionMismatch(format!("{what}: shapes {a:?} and {b:?} do not agree"))
}

/// The tag a tile task's failure carries after its message (a failure crosses processes as
/// text: the tag lets the driver give the caller the typed error back).
const TAG: &str = " [tile failure ";

/// The message a tile task fails with for `e`: its text, then the tag of a pivot failure.
pub(crate) fn task_message(e: &Error) -> String {
    match e {
        Error::NotPositiveDefinite {
            tile,
            pivot,
            column,
        } => format!("{e}{TAG}npd {} {pivot} {column}]", tile[0]),
        Error::Singular {
            tile,
            pivot,
            column,
        } => format!("{e}{TAG}singular {} {pivot} {column}]", tile[0]),
        e => e.to_string(),
    }
}

/// `e` with the typed pivot failure back when its root cause is a tile task's tagged
/// message, the lost worker when a tile lived on one (a chunk that cannot arrive: the
/// algorithm ends in `WorkerLost`, not a stall), else `e` itself.
pub(crate) fn typed(e: Error) -> Error {
    let back = match e.root_cause() {
        lost @ Error::WorkerLost { .. } => Some(lost.clone()),
        Error::User(m) => m.rfind(TAG).and_then(|i| {
            let f: Vec<&str> = m[i + TAG.len()..]
                .trim_end_matches(']')
                .split(' ')
                .collect();
            let n = |k: usize| f.get(k).and_then(|s| s.parse::<usize>().ok());
            let (k, pivot, column) = (n(1)?, n(2)?, n(3)?);
            match f.first() {
                Some(&"npd") => Some(Error::NotPositiveDefinite {
                    tile: [k, k],
                    pivot,
                    column,
                }),
                Some(&"singular") => Some(Error::Singular {
                    tile: [k, k],
                    pivot,
                    column,
                }),
                _ => None,
            }
        }),
        _ => None,
    };
    back.unwrap_or(e)
}

/// A tile kernel's result as its task's outcome: an error fails the task (unwinding with
/// the tagged message, without the panic hook's report), so the tasks that depend on it fail
/// with `DTaskFailed` naming it and never run on a broken tile.
pub(crate) fn fail_task(r: Result<(), Error>) -> Result<(), Error> {
    if let Err(e) = r {
        std::panic::resume_unwind(Box::new(task_message(&e)));
    }
    Ok(())
}
