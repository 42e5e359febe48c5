//! What a datadeps task declares about the memory it touches: an [`Access`] is an object
//! ([`ObjectId`]), an [`Extent`] of it and a [`Mode`].
//!
//! Two accesses conflict when they name the same object, their extents share an element
//! ([`Extent::overlaps`]) and at least one of them writes. The planner of a datadeps region
//! orders conflicting accesses in program order and leaves the others free to run in
//! parallel; it needs nothing but this module.
//!
//! Extents are sets of `(row, column)` elements of a two-dimensional block (a vector is a
//! block with one column). Every extent is kept in one normal form, a [`Span`]: a row range,
//! a column range and a band `lo ≤ column − row ≤ hi`. Rectangles, triangles (with or
//! without the diagonal), the diagonal and the whole block are all spans, and the
//! intersection of two spans is again a span, so overlap is exact and costs a few
//! comparisons.
//!
//! ```
//! use dagger_core::{Extent, Mode};
//! let shape = Some([4, 4]);
//! // Rows 0..2 and rows 2..4 of a 4×4 block share no element.
//! assert!(!Extent::rows(0..2).overlaps(&Extent::rows(2..4), shape));
//! // The upper triangle and the diagonal share the diagonal...
//! assert!(Extent::upper(true).overlaps(&Extent::Diagonal, shape));
//! // ...which the strict ("unit") triangles leave out.
//! assert!(!Extent::upper(false).overlaps(&Extent::lower(false), shape));
//! assert!(Mode::InOut.reads() && Mode::InOut.writes() && !Mode::In.writes());
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// The identity of a mutable object a datadeps task can name (a `Data` value, a `mutable`, a
/// DArray block). Unique within a process.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct ObjectId(pub u64);

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "o{}", self.0)
    }
}

/// How a task uses what it names (Dagger.jl's `In`, `Out` and `InOut`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Mode {
    /// Reads only.
    In,
    /// Writes every element it names, reading none of them first.
    Out,
    /// Reads, then writes.
    InOut,
}

impl Mode {
    /// Whether the task reads the memory it names.
    pub fn reads(self) -> bool {
        matches!(self, Mode::In | Mode::InOut)
    }

    /// Whether the task writes the memory it names.
    pub fn writes(self) -> bool {
        matches!(self, Mode::Out | Mode::InOut)
    }
}

/// Which part of an object an access names.
///
/// Rows and columns are 0-based, ranges end-exclusive. Views other than [`Extent::Whole`]
/// need an object with a known shape (`[rows, columns]`); [`Extent::check`] rejects a view
/// that leaves the shape.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Extent {
    /// All of the object (also what an object of unknown shape always is).
    Whole,
    /// The elements in these rows and columns.
    Rect {
        /// Row range.
        rows: Range<usize>,
        /// Column range.
        cols: Range<usize>,
    },
    /// The upper triangle (`column ≥ row`), with or without the diagonal.
    Upper {
        /// Whether the diagonal belongs to it (`false`: Julia's `UnitUpperTriangular`).
        diagonal: bool,
    },
    /// The lower triangle (`row ≥ column`), with or without the diagonal.
    Lower {
        /// Whether the diagonal belongs to it (`false`: Julia's `UnitLowerTriangular`).
        diagonal: bool,
    },
    /// The diagonal (`row = column`).
    Diagonal,
}

/// An unbounded end of a band.
const INF: i64 = i64::MAX / 4;

/// The normal form of an extent within a shape: rows × columns, cut to the band
/// `lo ≤ column − row ≤ hi`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Span {
    rows: Range<usize>,
    cols: Range<usize>,
    lo: i64,
    hi: i64,
}

impl Span {
    /// Whether it has no element.
    pub fn is_empty(&self) -> bool {
        if self.rows.is_empty() || self.cols.is_empty() || self.lo > self.hi {
            return true;
        }
        // The differences column − row that the rectangle reaches.
        let (dmin, dmax) = self.reach();
        dmin.max(self.lo) > dmax.min(self.hi)
    }

    fn reach(&self) -> (i64, i64) {
        (
            self.cols.start as i64 - (self.rows.end as i64 - 1),
            (self.cols.end as i64 - 1) - self.rows.start as i64,
        )
    }

    /// The elements in both.
    pub fn intersect(&self, o: &Span) -> Span {
        Span {
            rows: self.rows.start.max(o.rows.start)..self.rows.end.min(o.rows.end),
            cols: self.cols.start.max(o.cols.start)..self.cols.end.min(o.cols.end),
            lo: self.lo.max(o.lo),
            hi: self.hi.min(o.hi),
        }
    }

    /// Whether element `(r, c)` belongs to it.
    pub fn contains(&self, r: usize, c: usize) -> bool {
        let d = c as i64 - r as i64;
        self.rows.contains(&r) && self.cols.contains(&c) && self.lo <= d && d <= self.hi
    }

    /// Whether every element of `o` belongs to `self` (exact when `o` is empty; otherwise
    /// sufficient, not necessary: `false` never makes a plan wrong, only less pruned).
    pub fn covers(&self, o: &Span) -> bool {
        if o.is_empty() {
            return true;
        }
        // Tighten o's band to what its rectangle reaches before comparing.
        let (dmin, dmax) = o.reach();
        let (olo, ohi) = (o.lo.max(dmin), o.hi.min(dmax));
        self.rows.start <= o.rows.start
            && o.rows.end <= self.rows.end
            && self.cols.start <= o.cols.start
            && o.cols.end <= self.cols.end
            && self.lo <= olo
            && ohi <= self.hi
    }
}

impl Extent {
    /// Rows `r` across every column.
    pub fn rows(r: Range<usize>) -> Extent {
        Extent::Rect {
            rows: r,
            cols: 0..usize::MAX,
        }
    }

    /// Columns `c` across every row.
    pub fn cols(c: Range<usize>) -> Extent {
        Extent::Rect {
            rows: 0..usize::MAX,
            cols: c,
        }
    }

    /// Rows `r` by columns `c`.
    pub fn rect(r: Range<usize>, c: Range<usize>) -> Extent {
        Extent::Rect { rows: r, cols: c }
    }

    /// The upper triangle, with the diagonal if `diagonal`.
    pub fn upper(diagonal: bool) -> Extent {
        Extent::Upper { diagonal }
    }

    /// The lower triangle, with the diagonal if `diagonal`.
    pub fn lower(diagonal: bool) -> Extent {
        Extent::Lower { diagonal }
    }

    /// Whether this names all of an object.
    pub fn is_whole(&self) -> bool {
        matches!(self, Extent::Whole)
    }

    /// Checks the extent against the shape of the object it names: a view needs a shape,
    /// and a range must lie inside it ([`Extent::rows`] and [`Extent::cols`] mean "every
    /// column" and "every row" with an open end).
    ///
    /// ```
    /// use dagger_core::Extent;
    /// assert!(Extent::rows(1..3).check(Some([4, 4])).is_ok());
    /// let e = Extent::rect(0..2, 3..6).check(Some([4, 4])).unwrap_err();
    /// assert!(e.to_string().contains("columns 3..6") && e.to_string().contains("4×4"));
    /// assert!(Extent::Diagonal.check(None).is_err());
    /// ```
    pub fn check(&self, shape: Option<[usize; 2]>) -> Result<()> {
        let Some([nr, nc]) = shape else {
            return if self.is_whole() {
                Ok(())
            } else {
                Err(Error::Argument(format!(
                    "view {self} of an object with no shape: only the whole object can be named"
                )))
            };
        };
        if let Extent::Rect { rows, cols } = self {
            let bad = |what: &str, r: &Range<usize>, n: usize| {
                let open = r.end == usize::MAX;
                if r.start > r.end || (!open && r.end > n) || (open && r.start > n) {
                    Err(Error::Argument(format!(
                        "view {self} is out of bounds: {what} {} of a {nr}×{nc} block",
                        fmt_range(r)
                    )))
                } else {
                    Ok(())
                }
            };
            bad("rows", rows, nr)?;
            bad("columns", cols, nc)?;
        }
        Ok(())
    }

    /// The extent's elements within `shape` (an object of unknown shape is one element, so
    /// every two accesses to it overlap).
    pub fn span(&self, shape: Option<[usize; 2]>) -> Span {
        let Some([nr, nc]) = shape else {
            return Span {
                rows: 0..1,
                cols: 0..1,
                lo: -INF,
                hi: INF,
            };
        };
        let full = |lo, hi| Span {
            rows: 0..nr,
            cols: 0..nc,
            lo,
            hi,
        };
        match self {
            Extent::Whole => full(-INF, INF),
            Extent::Rect { rows, cols } => Span {
                rows: rows.start.min(nr)..rows.end.min(nr),
                cols: cols.start.min(nc)..cols.end.min(nc),
                lo: -INF,
                hi: INF,
            },
            Extent::Upper { diagonal } => full(if *diagonal { 0 } else { 1 }, INF),
            Extent::Lower { diagonal } => full(-INF, if *diagonal { 0 } else { -1 }),
            Extent::Diagonal => full(0, 0),
        }
    }

    /// Whether the two extents of one object share an element.
    pub fn overlaps(&self, other: &Extent, shape: Option<[usize; 2]>) -> bool {
        !self.span(shape).intersect(&other.span(shape)).is_empty()
    }

    /// Whether every element of `other` is one of `self`'s (sufficient test: see
    /// [`Span::covers`]).
    pub fn covers(&self, other: &Extent, shape: Option<[usize; 2]>) -> bool {
        self.span(shape).covers(&other.span(shape))
    }
}

fn fmt_range(r: &Range<usize>) -> String {
    if r.end == usize::MAX {
        format!("{}..", r.start)
    } else {
        format!("{}..{}", r.start, r.end)
    }
}

impl fmt::Display for Extent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Extent::Whole => write!(f, "whole"),
            Extent::Rect { rows, cols } => {
                write!(f, "[{}, {}]", fmt_range(rows), fmt_range(cols))
            }
            Extent::Upper { diagonal: true } => write!(f, "upper"),
            Extent::Upper { diagonal: false } => write!(f, "strict upper"),
            Extent::Lower { diagonal: true } => write!(f, "lower"),
            Extent::Lower { diagonal: false } => write!(f, "strict lower"),
            Extent::Diagonal => write!(f, "diagonal"),
        }
    }
}

/// One declared access: which object, which part, read or write.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Access {
    /// The object.
    pub object: ObjectId,
    /// The part of it.
    pub extent: Extent,
    /// Read, write, or both.
    pub mode: Mode,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn extent(nr: usize, nc: usize) -> impl Strategy<Value = Extent> {
        let r = (0..=nr, 0..=nr).prop_map(|(a, b)| a.min(b)..a.max(b));
        let c = (0..=nc, 0..=nc).prop_map(|(a, b)| a.min(b)..a.max(b));
        prop_oneof![
            Just(Extent::Whole),
            (r.clone(), c).prop_map(|(r, c)| Extent::rect(r, c)),
            r.prop_map(Extent::rows),
            any::<bool>().prop_map(Extent::upper),
            any::<bool>().prop_map(Extent::lower),
            Just(Extent::Diagonal),
        ]
    }

    fn elements(e: &Extent, nr: usize, nc: usize) -> Vec<(usize, usize)> {
        let s = e.span(Some([nr, nc]));
        (0..nr)
            .flat_map(|r| (0..nc).map(move |c| (r, c)))
            .filter(|&(r, c)| s.contains(r, c))
            .collect()
    }

    /// The element sets by definition, not through the span.
    fn member(e: &Extent, r: usize, c: usize) -> bool {
        match e {
            Extent::Whole => true,
            Extent::Rect { rows, cols } => rows.contains(&r) && cols.contains(&c),
            Extent::Upper { diagonal } => c > r || (*diagonal && c == r),
            Extent::Lower { diagonal } => r > c || (*diagonal && c == r),
            Extent::Diagonal => r == c,
        }
    }

    proptest! {
        #[test]
        fn overlap_and_cover_agree_with_element_sets(
            (nr, nc, a, b) in (0usize..7, 0usize..7)
                .prop_flat_map(|(nr, nc)| (Just(nr), Just(nc), extent(nr, nc), extent(nr, nc)))
        ) {
            let shape = Some([nr, nc]);
            let sa: Vec<_> = elements(&a, nr, nc);
            let sb: Vec<_> = elements(&b, nr, nc);
            for r in 0..nr {
                for c in 0..nc {
                    prop_assert_eq!(sa.contains(&(r, c)), member(&a, r, c));
                }
            }
            let shared = sa.iter().any(|x| sb.contains(x));
            prop_assert_eq!(a.overlaps(&b, shape), shared, "{} vs {} in {}x{}", a, b, nr, nc);
            prop_assert_eq!(a.overlaps(&b, shape), b.overlaps(&a, shape));
            if a.covers(&b, shape) {
                prop_assert!(sb.iter().all(|x| sa.contains(x)), "{} does not cover {}", a, b);
            }
            prop_assert!(a.covers(&a, shape));
        }
    }

    #[test]
    fn the_reference_truth_table_for_a_4x4_block() {
        let s = Some([4, 4]);
        let q = [
            Extent::rect(0..2, 0..2),
            Extent::rect(0..2, 2..4),
            Extent::rect(2..4, 0..2),
            Extent::rect(2..4, 2..4),
        ];
        let centre = Extent::rect(1..3, 1..3);
        for v in &q {
            assert!(v.overlaps(&Extent::Whole, s) && v.overlaps(&centre, s));
        }
        assert!(!Extent::rows(0..1).overlaps(&Extent::rows(1..2), s));
        assert!(Extent::rows(0..1).overlaps(&Extent::cols(0..1), s));
        assert!(!Extent::rows(0..1).overlaps(&centre, s));
        assert!(Extent::rows(1..2).overlaps(&centre, s));
        assert!(Extent::upper(true).overlaps(&Extent::lower(true), s));
        assert!(!Extent::upper(false).overlaps(&Extent::lower(false), s));
        assert!(Extent::upper(true).overlaps(&Extent::Diagonal, s));
        assert!(!Extent::upper(false).overlaps(&Extent::Diagonal, s));
    }

    #[test]
    fn an_unknown_shape_is_one_whole_object() {
        assert!(Extent::Whole.overlaps(&Extent::Whole, None));
        assert!(Extent::rows(0..1).check(None).is_err());
        assert!(Extent::Whole.check(None).is_ok());
    }

    #[test]
    fn out_of_bounds_views_name_the_view_and_the_extent() {
        let e = Extent::rows(3..9).check(Some([4, 2])).unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, Error::Argument(_)));
        assert!(m.contains("rows 3..9") && m.contains("4×2"), "{m}");
        assert!(Extent::rows(5..usize::MAX).check(Some([4, 2])).is_err());
    }
}
