//! [`Scalar`]: the element types of the linear algebra (f32 and f64), the small trait over
//! faer's real fields that the kernels and algorithms are generic over.

use dagger_array::extend::LinalgElement;
use dagger_array::{BlockMut, BlockRef};
use dagger_core::Result;
use dagger_sched::Registered;
use faer::traits::RealField;
use std::fmt::Debug;

/// A real floating-point element: what faer computes with and what a `DArray` holds.
pub trait Scalar: RealField + LinalgElement + Copy + Debug + Send + Sync + 'static {
    /// The value of an `f64` in this type (rounded).
    fn of(x: f64) -> Self;
    /// This value as an `f64`.
    fn as_f64(self) -> f64;
    /// The machine epsilon, as an `f64`.
    const EPSILON: f64;
    /// The tile kernels of this type as registered functions on DArray blocks (they run
    /// on the worker holding the block they write).
    fn tile_kernels() -> TileKernels<Self>;
    /// The LU tile kernels (pivoting across tiles) as registered functions.
    fn lu_kernels() -> LuKernels<Self>;
    /// The QR tile kernels (Householder panels and their application) as registered
    /// functions.
    fn qr_kernels() -> QrKernels<Self>;
}

/// `trsm(x, a, right, lower, transposed)` as a registered function.
pub type TrsmTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, bool, bool), Result<()>>;
/// `syrk(c, a, transposed, lower)` as a registered function.
pub type SyrkTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, bool), Result<()>>;
/// `gemm(c, a, ta, b, tb)` as a registered function.
pub type GemmTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, BlockRef<T>, bool), Result<()>>;

/// The tile kernels of one element type as registered functions on DArray blocks (see
/// [`crate::tile_tasks`]); flags are plain `bool`s (`lower`, transposed, right side).
#[derive(Debug)]
pub struct TileKernels<T: Scalar> {
    /// `potrf(a, lower, k, b)`: the Cholesky factor of diagonal tile `k` (tiles of edge
    /// `b`) in place, the other strict triangle zeroed.
    pub potrf: Registered<(BlockMut<T>, bool, u64, u64), Result<()>>,
    /// `trsm(x, a, right, lower, transposed)`: `x ← op(a)⁻¹·x` or `x·op(a)⁻¹`.
    pub trsm: TrsmTask<T>,
    /// `syrk(c, a, transposed, lower)`: `c ← c − op(a)·op(a)ᵀ` on one triangle.
    pub syrk: SyrkTask<T>,
    /// `gemm(c, a, ta, b, tb)`: `c ← c − op(a)·op(b)`.
    pub gemm: GemmTask<T>,
    /// `zero(c)`: every element 0.
    pub zero: Registered<(BlockMut<T>,), Result<()>>,
}

impl<T: Scalar> Clone for TileKernels<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Scalar> Copy for TileKernels<T> {}

/// A factored panel: the permutation of its rows (row `i` of `P·panel` is row `perm[i]`),
/// its width, and the stacked `L` and `U` factors of `P·panel`, row-major.
pub type Panel<T> = (Vec<u64>, u64, Vec<T>);

/// The rows a tile sends for a row permutation: (global row, its values).
pub type Rows<T> = Vec<(u64, Vec<T>)>;

/// `trsm_unit(x, a, right, lower, transposed)` as a registered function.
pub type TrsmUnitTask<T> = Registered<(BlockMut<T>, BlockRef<T>, bool, bool, bool), Result<()>>;
/// `panel(column, k, b)` as a registered function.
pub type PanelTask<T> = Registered<(Vec<BlockRef<T>>, u64, u64), Panel<T>>;
/// `rows_out(x, perm, first, row0)` as a registered function.
pub type RowsOutTask<T> = Registered<(BlockRef<T>, Vec<u64>, u64, u64), Rows<T>>;
/// `rows_in(x, perm, first, row0, sent)` as a registered function.
pub type RowsInTask<T> = Registered<(BlockMut<T>, Vec<u64>, u64, u64, Vec<Rows<T>>), Result<()>>;

/// The LU tile kernels of one element type as registered functions.
#[derive(Debug)]
pub struct LuKernels<T: Scalar> {
    /// `getrf_nopiv(a, k, b)`: `a = L·U` in place (diagonal tile `k`, tiles of edge `b`).
    pub getrf_nopiv: Registered<(BlockMut<T>, u64, u64), Result<()>>,
    /// `trsm_unit(x, a, right, lower, transposed)`: as `trsm`, with a unit diagonal.
    pub trsm_unit: TrsmUnitTask<T>,
    /// `panel(column, k, b)`: the block column from diagonal tile `k` down, factored.
    pub panel: PanelTask<T>,
    /// `perm(panel)`: the panel's row permutation.
    pub perm: Registered<(Panel<T>,), Vec<u64>>,
    /// `panel_out(x, panel, row0)`: the tile takes the panel's rows `row0..`.
    pub panel_out: Registered<(BlockMut<T>, Panel<T>, u64), Result<()>>,
    /// `rows_out(x, perm, first, row0)`: the rows of the tile (first row `row0`) that the
    /// permutation of rows `first..` moves elsewhere.
    pub rows_out: RowsOutTask<T>,
    /// `rows_in(x, perm, first, row0, sent)`: the tile takes the rows that land in it.
    pub rows_in: RowsInTask<T>,
}

impl<T: Scalar> Clone for LuKernels<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Scalar> Copy for LuKernels<T> {}

/// A factored Householder panel, or a block column a panel's `Q` was applied to: its width,
/// its rows stacked (row-major), and the panel's block factor (`bs × min(h, w)`, row-major;
/// empty for an applied column).
pub type QrPanel<T> = (u64, Vec<T>, Vec<T>);

/// `panel(column, rows, upper)` as a registered function.
pub type QrPanelTask<T> = Registered<(Vec<BlockRef<T>>, Vec<u64>, bool), QrPanel<T>>;
/// `rows(x, p, row0, count)` as a registered function.
pub type QrRowsTask<T> = Registered<(BlockMut<T>, QrPanel<T>, u64, u64), Result<()>>;
/// `apply(v, t, t_row0, c, c_rows, transposed)` as a registered function.
pub type QrApplyTask<T> = Registered<
    (
        Vec<BlockRef<T>>,
        Vec<BlockRef<T>>,
        u64,
        Vec<BlockRef<T>>,
        Vec<u64>,
        bool,
    ),
    QrPanel<T>,
>;

/// The QR tile kernels of one element type as registered functions (see
/// [`crate::tile_tasks_qr`]).
#[derive(Debug)]
pub struct QrKernels<T: Scalar> {
    /// `panel(column, rows, upper)`: the first `rows[i]` rows of each tile (all where
    /// `rows` is shorter; with `upper`, only their upper triangle) stacked and factored (`R`
    /// and the reflectors below it).
    pub panel: QrPanelTask<T>,
    /// `rows(x, p, row0, count)`: the tile's first `count` rows take `p`'s rows `row0..`.
    pub rows: QrRowsTask<T>,
    /// `store(x, p, with_v)`: the tile becomes `p`'s block factor (below `p`'s rows when
    /// `with_v`), zero elsewhere.
    pub store: Registered<(BlockMut<T>, QrPanel<T>, bool), Result<()>>,
    /// `apply(v, t, t_row0, c, c_rows, transposed)`: the first `c_rows[i]` rows of each
    /// `c[i]` stacked, times `Q` (or `Qᵀ`) of the reflectors stacked in `v` with the block
    /// factor at row `t_row0` of `t`'s one tile (of `v`'s last tile when `t` is empty).
    pub apply: QrApplyTask<T>,
    /// `copy_upper(y, x, from)`: `y[r, c] = x[r, c]` where `c − r ≥ from`, else 0.
    pub copy_upper: Registered<(BlockMut<T>, BlockRef<T>, i64), Result<()>>,
    /// `eye(y, shift, rows)`: `y[r, c] = 1` where `c − r = shift` and `r < rows`, else 0.
    pub eye: Registered<(BlockMut<T>, i64, u64), Result<()>>,
}

impl<T: Scalar> Clone for QrKernels<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Scalar> Copy for QrKernels<T> {}
