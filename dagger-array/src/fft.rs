//! FFTs of a [`DArray`] (Dagger.jl's FFT tests, `dask.array.fft`): 1-D transforms along
//! any dimension and 2-D transforms, complex and real-to-complex, forward and inverse. A
//! complex array holds interleaved pairs: a trailing dimension of length 2 (real,
//! imaginary), kept whole in every block ([`crate::fft_kernel`]).
//!
//! A transform along a dimension re-blocks the array so that the dimension is whole in
//! every block, then runs one registered FFT kernel per block. The 2-D transform is row
//! FFTs, a distributed transpose (a block-wise permute and a re-blocking that moves only
//! the pieces), then row FFTs again: the transpose and the second FFTs are one task per
//! block, which transforms each band of transposed rows while it is in cache.
//! [`DArray::fft2_transposed`] stops there (the spectrum transposed), [`DArray::fft2`]
//! transposes back.
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! let ctx = dagger_sched::Context::local();
//! // 8 complex values 1 + 0i: the spectrum is 8 at frequency 0, else 0.
//! let mut a = ndarray::ArrayD::<f64>::zeros(vec![8, 2]);
//! a.index_axis_mut(ndarray::Axis(1), 0).fill(1.0);
//! let x = DArray::from_array(a, &Blocks::new([3, 2]).unwrap()).unwrap();
//! let f = x.fft(0, false).unwrap().collect_dense(&ctx).unwrap();
//! assert!((f[[0, 0]] - 8.0).abs() < 1e-12 && f[[1, 0]].abs() < 1e-12);
//! let back = x.fft(0, false).unwrap().fft(0, true).unwrap().collect_dense(&ctx).unwrap();
//! assert!((back[[5, 0]] - 1.0).abs() < 1e-12);
//! ```

use crate::darray::DArray;
use crate::element::Element;
use crate::fft_kernel::FftOp;
use crate::grid::BlockGrid;
use crate::kernel::named::Kernel;
use crate::partition::Blocks;
use dagger_core::{Error, Result};

impl<T: Element> DArray<T> {
    /// Checks a complex array (trailing pair dimension) and a transform along `axis`.
    fn complex_axis(&self, axis: usize) -> Result<()> {
        let s = self.shape();
        if s.len() < 2 || s[s.len() - 1] != 2 {
            return Err(Error::Argument(format!(
                "a complex array has a trailing dimension of 2 (real, imaginary), not shape {s:?}"
            )));
        }
        if axis + 1 >= s.len() {
            return Err(Error::Argument(format!(
                "an FFT along dimension {axis} of a complex array of shape {s:?}"
            )));
        }
        Ok(())
    }

    /// This array re-blocked with the blocks `sizes` (0: the whole dimension).
    fn blocked(&self, sizes: &[usize]) -> Result<DArray<T>> {
        let s = self.shape();
        let b: Vec<usize> = sizes
            .iter()
            .zip(s)
            .map(|(&b, &n)| if b == 0 { n.max(1) } else { b })
            .collect();
        self.reblock(&BlockGrid::new(s, &Blocks::new(&b)?, 1)?)
    }

    /// This array with `whole` (and, for complex arrays, the pair dimension) whole in every
    /// block, the other dimensions blocked as the first block is.
    fn whole_along(&self, whole: usize, pairs: bool) -> Result<DArray<T>> {
        let nd = self.grid().ndim();
        let first = self.grid().block_shape(&vec![0; nd]);
        let sizes: Vec<usize> = (0..nd)
            .map(|d| {
                if d == whole || (pairs && d + 1 == nd) {
                    0
                } else {
                    first[d]
                }
            })
            .collect();
        self.blocked(&sizes)
    }

    /// A complex matrix `[n, m, 2]` transposed to `[m, n, 2]` in row blocks of `rows`
    /// (whole rows): one task per result block ([`DArray::permutedims_to`]).
    fn transposed_rows(&self, rows: usize) -> Result<DArray<T>> {
        let s = self.shape();
        let shape = [s[1], s[0], s[2]];
        let b = [rows.max(1), s[0].max(1), s[2].max(1)];
        let grid = BlockGrid::new(&shape, &Blocks::new(b)?, 1)?;
        self.permutedims_to(&[1, 0, 2], &grid)
    }

    /// The array of the kernel `op` on every block, of `shape` with `axis` whole.
    fn fft_blocks(&self, op: FftOp, axis: usize, len: usize) -> Result<DArray<T>> {
        let mut shape = self.shape().to_vec();
        shape[axis] = len;
        let mut ranges = self.grid().ranges().to_vec();
        ranges[axis] = vec![0..len];
        let grid = BlockGrid::from_ranges(&shape, ranges)?;
        let d = self.derive_k(self.meta.kind, Kernel::Fft(op));
        Ok(DArray::from_blocks(
            grid,
            crate::block::Kind::Dense,
            d.blocks,
        ))
    }

    /// The complex FFT along `axis` of a complex array (pairs), forward or inverse (the
    /// inverse divided by the length). A length of 0, a dimension out of range or an array
    /// without the pair dimension is an [`Error::Argument`].
    pub fn fft(&self, axis: usize, inverse: bool) -> Result<DArray<T>> {
        self.complex_axis(axis)?;
        let n = self.shape()[axis];
        if n == 0 {
            return Err(Error::Argument("an FFT of length 0".into()));
        }
        let x = self.whole_along(axis, true)?;
        x.fft_blocks(FftOp::Complex { axis, inverse }, axis, n)
    }

    /// The FFT along `axis` of a real array: `n / 2 + 1` complex values (pairs, a new
    /// trailing dimension) along it.
    pub fn rfft(&self, axis: usize) -> Result<DArray<T>> {
        let s = self.shape().to_vec();
        if axis >= s.len() || s[axis] == 0 {
            return Err(Error::Argument(format!(
                "a real FFT along dimension {axis} of shape {s:?} (lengths of 0 have none)"
            )));
        }
        let x = self.whole_along(axis, false)?;
        let mut shape = s.clone();
        shape[axis] = s[axis] / 2 + 1;
        shape.push(2);
        let mut ranges = x.grid().ranges().to_vec();
        ranges[axis] = vec![0..shape[axis]];
        ranges.push(vec![0..2]);
        let grid = BlockGrid::from_ranges(&shape, ranges)?;
        let d = x.derive_k(x.meta.kind, Kernel::Fft(FftOp::Real { axis }));
        Ok(DArray::from_blocks(
            grid,
            crate::block::Kind::Dense,
            d.blocks,
        ))
    }

    /// The inverse of [`DArray::rfft`]: a complex array with `n / 2 + 1` values along
    /// `axis` back to `n` reals.
    pub fn irfft(&self, axis: usize, n: usize) -> Result<DArray<T>> {
        self.complex_axis(axis)?;
        if n == 0 || self.shape()[axis] != n / 2 + 1 {
            return Err(Error::Argument(format!(
                "an inverse real FFT of length {n} from {} values",
                self.shape()[axis]
            )));
        }
        let x = self.whole_along(axis, true)?;
        let mut shape = self.shape().to_vec();
        shape[axis] = n;
        shape.pop();
        let mut ranges = x.grid().ranges().to_vec();
        ranges[axis] = vec![0..n];
        ranges.pop();
        let grid = BlockGrid::from_ranges(&shape, ranges)?;
        let d = x.derive_k(x.meta.kind, Kernel::Fft(FftOp::RealInverse { axis, n }));
        Ok(DArray::from_blocks(
            grid,
            crate::block::Kind::Dense,
            d.blocks,
        ))
    }

    /// The 2-D FFT of an `n × m` complex array (pairs: shape `[n, m, 2]`), transposed: row
    /// FFTs, a distributed transpose, row FFTs; the result is `[m, n, 2]`, row blocks as
    /// tall as this array's first blocks.
    pub fn fft2_transposed(&self, inverse: bool) -> Result<DArray<T>> {
        if self.grid().ndim() != 3 {
            return Err(Error::Argument(format!(
                "a 2-D FFT of a complex matrix ([n, m, 2]), not shape {:?}",
                self.shape()
            )));
        }
        self.complex_axis(1)?;
        let rows = self.grid().block_shape(&[0, 0, 0])[0];
        if self.shape()[0] == 0 {
            return Err(Error::Argument("an FFT of length 0".into()));
        }
        let a = self.fft(1, inverse)?;
        // The transpose and the second row FFTs in one pass: each band of transposed rows
        // is transformed while in cache, before it is written.
        let s = a.shape();
        let shape = [s[1], s[0], s[2]];
        let b = [rows.max(1), s[0].max(1), s[2].max(1)];
        let grid = BlockGrid::new(&shape, &Blocks::new(b)?, 1)?;
        a.permuted_then(&[1, 0, 2], &grid, Some(FftOp::Complex { axis: 1, inverse }))
    }

    /// The 2-D FFT of a complex matrix (pairs: `[n, m, 2]`): [`DArray::fft2_transposed`]
    /// transposed back.
    pub fn fft2(&self, inverse: bool) -> Result<DArray<T>> {
        let rows = self.grid().block_shape(&vec![0; self.grid().ndim()])[0];
        self.fft2_transposed(inverse)?.transposed_rows(rows)
    }

    /// The 2-D FFT of a real `n × m` matrix: `[n, m / 2 + 1, 2]` (real FFTs of the rows,
    /// then complex FFTs of the columns).
    pub fn rfft2(&self) -> Result<DArray<T>> {
        if self.grid().ndim() != 2 {
            return Err(Error::Argument(format!(
                "a real 2-D FFT of a matrix, not shape {:?}",
                self.shape()
            )));
        }
        self.rfft(1)?.fft(0, false)
    }
}
