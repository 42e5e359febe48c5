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
