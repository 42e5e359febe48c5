//! Printing an array's values the way ndarray prints them: [`DArray::show`].
//!
//! A `DArray` is lazy, so its `Display` is the summary line (`10×10 f64 in 9 parts of at most
//! 4×4`); its values need a context to compute them. `show` computes and returns a value
//! that prints like `ndarray`'s `Display` (format flags such as `{:.2}` pass through). An
//! array of more than [`SHOW_ALL`] elements is not gathered whole: only its corners (the
//! first and last [`EDGE`] indices along each longer axis) are fetched, and they print
//! under the summary line, as ndarray elides large arrays.

use crate::darray::DArray;
use crate::element::Element;
use crate::index::Index;
use dagger_core::Result;
use dagger_sched::Context;
use ndarray::ArrayD;
use std::fmt;

/// The most elements [`DArray::show`] prints in full (ndarray's own limit before it elides).
pub const SHOW_ALL: usize = 500;

/// How many leading and trailing indices of a long axis a large array shows.
pub const EDGE: usize = 3;

/// Computed values of a [`DArray`], ready to print: see [`DArray::show`].
pub struct Shown<T> {
    /// The summary line, for an array shown by its corners only.
    elided: Option<String>,
    values: ArrayD<T>,
}

impl<T: Element + fmt::Display> fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(summary) = &self.elided {
            writeln!(f, "{summary}, first and last {EDGE} along each axis:")?;
        }
        fmt::Display::fmt(&self.values, f)
    }
}

impl<T: Element + fmt::Debug> fmt::Debug for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.values, f)
    }
}

impl<T: Element> DArray<T> {
    /// Computes the array and returns its values, printing as ndarray prints arrays.
    ///
    /// ```
    /// use dagger_array::{Blocks, DArray};
    /// let ctx = dagger_sched::Context::local();
    /// let a = DArray::from_ndarray(ndarray::array![[1.0, 2.0], [3.0, 4.0]], &Blocks::new([1, 2])?)?;
    /// assert_eq!(a.show(&ctx)?.to_string(), "[[1, 2],\n [3, 4]]");
    /// assert_eq!(format!("{:.1}", a.show(&ctx)?), "[[1.0, 2.0],\n [3.0, 4.0]]");
    /// // A large array shows its corners under its summary line.
    /// let big = DArray::<f64>::ones(&Blocks::new([100, 100])?, &[1000, 1000])?;
    /// let text = big.show(&ctx)?.to_string();
    /// assert!(text.starts_with("1000×1000 f64 in 100 parts of at most 100×100, first and last 3"));
    /// # Ok::<(), dagger_core::Error>(())
    /// ```
    pub fn show(&self, ctx: &Context) -> Result<Shown<T>> {
        if self.len() <= SHOW_ALL {
            return Ok(Shown {
                elided: None,
                values: self.collect_dense(ctx)?,
            });
        }
        let corners: Vec<Index> = self.shape().iter().map(|&n| corner(n)).collect();
        let values = self.index(&corners)?.collect(ctx)?.to_dense();
        Ok(Shown {
            elided: Some(self.to_string()),
            values,
        })
    }
}

/// The indices of an axis of length `n` a large array shows: all of a short axis, else the
/// first and last [`EDGE`].
fn corner(n: usize) -> Index {
    if n <= 2 * EDGE {
        Index::All
    } else {
        Index::List((0..EDGE).chain(n - EDGE..n).collect())
    }
}
