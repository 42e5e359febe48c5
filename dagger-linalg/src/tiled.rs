//! [`TiledMatrix`]: a local matrix cut into tiles, each a [`Data`] that datadeps tasks read
//! and write in place, with conversions from and to dense matrices and `DArray`s.
//!
//! Every tile is `tile[0] × tile[1]` except the ragged ones in the last block row and
//! column. Tiles live in this process (on workers later, when datadeps reaches them).

use crate::scalar::Scalar;
use crate::tile::Tile;
use dagger_array::{Blocks, DArray};
use dagger_core::{Error, Result};
use dagger_sched::{Context, Data};
use faer::MatRef;
use ndarray::{Array2, ArrayView2, Ix2};
use std::ops::Range;

/// A matrix of `Data` tiles (row-major grid of column-major faer tiles).
///
/// ```
/// use dagger_linalg::TiledMatrix;
/// let a = TiledMatrix::<f64>::from_fn(5, 3, [2, 2], |i, j| (i * 3 + j) as f64).unwrap();
/// assert_eq!(a.grid(), [3, 2]);
/// assert_eq!(a.tile(2, 1).shape(), Some([1, 1])); // the ragged corner
/// assert_eq!(a.to_ndarray()[[4, 2]], 14.0);
/// ```
#[derive(Clone, Debug)]
pub struct TiledMatrix<T> {
    nrows: usize,
    ncols: usize,
    tile: [usize; 2],
    tiles: Vec<Data<Tile<T>>>,
}

/// The tiles (one `len`-long span of `size` each, the last ragged) of `len`.
fn spans(len: usize, size: usize) -> usize {
    len.div_ceil(size)
}

impl<T: Scalar> TiledMatrix<T> {
    /// An `nrows × ncols` matrix of `tile`-shaped tiles with entries `f(i, j)`.
    /// An [`Error::Argument`] for a zero tile edge.
    pub fn from_fn(
        nrows: usize,
        ncols: usize,
        tile: [usize; 2],
        f: impl Fn(usize, usize) -> T,
    ) -> Result<Self> {
        if tile[0] == 0 || tile[1] == 0 {
            return Err(Error::Argument(format!(
                "tile shape {tile:?} has a zero edge"
            )));
        }
        let (gr, gc) = (spans(nrows, tile[0]), spans(ncols, tile[1]));
        let mut tiles = Vec::with_capacity(gr * gc);
        for bi in 0..gr {
            for bj in 0..gc {
                let (r0, c0) = (bi * tile[0], bj * tile[1]);
                let (h, w) = (tile[0].min(nrows - r0), tile[1].min(ncols - c0));
                let t = Tile::from_fn(h, w, |i, j| f(r0 + i, c0 + j));
                tiles.push(Data::with_shape(t, [h, w]));
            }
        }
        Ok(TiledMatrix {
            nrows,
            ncols,
            tile,
            tiles,
        })
    }

    /// Zeros.
    pub fn zeros(nrows: usize, ncols: usize, tile: [usize; 2]) -> Result<Self> {
        Self::from_fn(nrows, ncols, tile, |_, _| T::of(0.0))
    }

    /// The `n × n` identity.
    pub fn identity(n: usize, tile: [usize; 2]) -> Result<Self> {
        Self::from_fn(n, n, tile, |i, j| T::of(if i == j { 1.0 } else { 0.0 }))
    }

    /// A copy of a faer matrix.
    pub fn from_mat(m: MatRef<'_, T>, tile: [usize; 2]) -> Result<Self> {
        Self::from_fn(m.nrows(), m.ncols(), tile, |i, j| m[(i, j)])
    }

    /// A copy of an ndarray matrix.
    pub fn from_ndarray(a: ArrayView2<'_, T>, tile: [usize; 2]) -> Result<Self> {
        Self::from_fn(a.nrows(), a.ncols(), tile, |i, j| a[[i, j]])
    }

    /// The matrix of a 2-d `DArray` (computed on `ctx`), with tiles the shape of its first
    /// block (any partitioning works: the tiles are cut again from the whole).
    ///
    /// ```
    /// use dagger_array::{Blocks, DArray};
    /// use dagger_linalg::TiledMatrix;
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let a = DArray::<f64>::rand_seeded(&Blocks::from([3, 2]), &[5, 4], 1).unwrap();
    /// let t = TiledMatrix::from_darray(&a, &ctx).unwrap();
    /// assert_eq!((t.tile_shape(), t.grid()), ([3, 2], [2, 2]));
    /// assert_eq!(t.to_darray().unwrap().collect_dense(&ctx).unwrap(), a.collect_dense(&ctx).unwrap());
    /// ```
    pub fn from_darray(a: &DArray<T>, ctx: &Context) -> Result<Self> {
        if a.shape().len() != 2 {
            return Err(Error::DimensionMismatch(format!(
                "a tiled matrix needs a 2-d array, got shape {:?}",
                a.shape()
            )));
        }
        let b = a.grid().block_shape(&[0, 0]);
        let tile = [b[0].max(1), b[1].max(1)];
        Self::from_darray_tiled(a, ctx, tile)
    }

    /// Like [`TiledMatrix::from_darray`] with tiles of the given shape.
    pub fn from_darray_tiled(a: &DArray<T>, ctx: &Context, tile: [usize; 2]) -> Result<Self> {
        let whole = a.collect_dense(ctx)?;
        let m = whole.into_dimensionality::<Ix2>().map_err(|_| {
            Error::DimensionMismatch(format!(
                "a tiled matrix needs a 2-d array, got shape {:?}",
                a.shape()
            ))
        })?;
        Self::from_ndarray(m.view(), tile)
    }

    /// A `DArray` of the same matrix, blocked like the tiles.
    pub fn to_darray(&self) -> Result<DArray<T>> {
        DArray::from_array(self.to_ndarray().into_dyn(), &Blocks::from(self.tile))
    }

    /// [`TiledMatrix::to_darray`], consuming the tiles.
    pub fn into_darray(self) -> Result<DArray<T>> {
        self.to_darray()
    }

    /// A column vector (`len × 1`) in tiles of `tile` rows.
    pub fn from_vec(v: &[T], tile: usize) -> Result<Self> {
        Self::from_fn(v.len(), 1, [tile, 1], |i, _| v[i])
    }

    /// Column `j` as a vector.
    pub fn column_vec(&self, j: usize) -> Vec<T> {
        let m = self.to_mat();
        (0..self.nrows).map(|i| m[(i, j)]).collect()
    }

    /// The whole matrix as one faer matrix (waits for tasks writing tiles).
    pub fn to_mat(&self) -> Tile<T> {
        let mut out = Tile::zeros(self.nrows, self.ncols);
        self.each_tile(|bi, bj, t| {
            let (r0, c0) = (bi * self.tile[0], bj * self.tile[1]);
            for j in 0..t.ncols() {
                for i in 0..t.nrows() {
                    out[(r0 + i, c0 + j)] = t[(i, j)];
                }
            }
        });
        out
    }

    /// The whole matrix as an ndarray.
    pub fn to_ndarray(&self) -> Array2<T> {
        let m = self.to_mat();
        Array2::from_shape_fn((self.nrows, self.ncols), |(i, j)| m[(i, j)])
    }

    fn each_tile(&self, mut f: impl FnMut(usize, usize, &Tile<T>)) {
        let gc = self.grid()[1];
        for (k, d) in self.tiles.iter().enumerate() {
            d.read(|t| f(k / gc, k % gc, t));
        }
    }

    /// `[rows, columns]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.nrows, self.ncols]
    }

    /// Rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Columns.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// The shape of a full (not ragged) tile.
    pub fn tile_shape(&self) -> [usize; 2] {
        self.tile
    }

    /// Tiles per column and per row: `[block rows, block columns]`.
    pub fn grid(&self) -> [usize; 2] {
        [
            spans(self.nrows, self.tile[0]),
            spans(self.ncols, self.tile[1]),
        ]
    }

    /// Tile `(i, j)` (block row, block column). Panics when out of the grid.
    pub fn tile(&self, i: usize, j: usize) -> &Data<Tile<T>> {
        &self.tiles[i * self.grid()[1] + j]
    }

    /// The tiles of block column `j` from block row `from` down.
    pub(crate) fn column(&self, j: usize, from: usize) -> Vec<&Data<Tile<T>>> {
        (from..self.grid()[0]).map(|i| self.tile(i, j)).collect()
    }

    /// The rows of block row `i`.
    pub fn tile_rows(&self, i: usize) -> Range<usize> {
        i * self.tile[0]..((i + 1) * self.tile[0]).min(self.nrows)
    }

    /// A copy with fresh tiles of shape `tile` (the algorithms that need square tiles make
    /// theirs this way).
    pub fn retiled(&self, tile: [usize; 2]) -> Result<Self> {
        let m = self.to_mat();
        Self::from_mat(m.as_ref(), tile)
    }

    /// A copy with fresh tiles of the same shape.
    pub fn deep_clone(&self) -> Self {
        TiledMatrix {
            tiles: self
                .tiles
                .iter()
                .map(|d| Data::with_shape(d.get(), d.shape().unwrap_or([0, 0])))
                .collect(),
            ..self.clone()
        }
    }

    /// A copy with square tiles: the same tiles copied if they are square already, else
    /// tiles of the larger edge.
    pub(crate) fn square_copy(&self) -> Result<Self> {
        if self.tile[0] == self.tile[1] {
            Ok(self.deep_clone())
        } else {
            let b = self.tile[0].max(self.tile[1]);
            self.retiled([b, b])
        }
    }

    /// The transpose (a copy, tiles transposed).
    pub fn transpose(&self) -> Self {
        let m = self.to_mat();
        let t = [self.tile[1], self.tile[0]];
        Self::from_fn(self.ncols, self.nrows, t, |i, j| m[(j, i)]).unwrap_or_else(|_| self.clone())
        // ok: the tile edges are non-zero already
    }

    /// The Frobenius norm.
    pub fn norm_fro(&self) -> T {
        let mut s = 0.0f64;
        self.each_tile(|_, _, t| s += crate::kernels::norm_fro(t).as_f64().powi(2));
        T::of(s.sqrt())
    }
}
