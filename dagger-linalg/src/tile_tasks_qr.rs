//! The tile kernels of Householder QR on DArray blocks as registered functions (for f32
//! and f64), so that [`crate::blocks_qr`] factors, applies `Q` and solves least squares
//! where the blocks live; and the [`Scalar`] impls of f32 and f64, which hand out every
//! kernel set (this is the top of the kernel stack).
//!
//! As a pivoted LU panel ([`crate::tile_tasks_lu`]), a QR panel (a block column from the
//! diagonal down) lives on several workers while a task writes blocks of one worker only:
//! the panel task *reads* the column and returns it factored with its block factor
//! ([`QrPanel`]); each tile takes its rows back (`rows`) and the block factor is stored in
//! a tile of its own (`store`). Applying a panel's `Q` to another block column is the same
//! read-then-take-back pair (`apply`, then `rows`).
//!
//! ```
//! use dagger_array::{BlockList, Blocks, DArray};
//! use dagger_linalg::Scalar;
//! use dagger_sched::{Context, In};
//! let ctx = Context::builder().threads(1).build();
//! let a = ndarray::Array2::from_shape_fn((3, 2), |(i, j)| (1 + 2 * i + j) as f64);
//! let mut d = DArray::from_array(a.into_dyn(), &Blocks::from([3, 2])).unwrap();
//! let q = f64::qr_kernels();
//! let p = d.update_blocks(&ctx, |b| {
//!     ctx.spawn_registered(q.panel, (In(&BlockList(vec![&b[[0, 0]]])), Vec::<u64>::new(), false))
//! }).unwrap();
//! let (w, rows, t) = p.fetch().unwrap();
//! assert_eq!((w, rows.len(), t.is_empty()), (2, 6, false));
//! // |R[0, 0]| is the norm of the first column: √(1 + 9 + 25).
//! assert!((rows[0].abs() - 35f64.sqrt()).abs() < 1e-12);
//! ```

use crate::error::{fail_task, task_message};
use crate::kernels::{apply_q, geqrf, geqrf_block_size};
use crate::scalar::{LuKernels, QrKernels, QrPanel, Scalar, TileKernels};
use crate::tile::Tile;
use dagger_array::{BlockMut, BlockRef};
use dagger_core::{Error, Result};
use ndarray::ArrayD;

fn dims(shape: &[usize]) -> Result<(usize, usize)> {
    match *shape {
        [r, c] => Ok((r, c)),
        _ => Err(Error::DimensionMismatch(format!(
            "a tile kernel needs a 2-d block, got shape {shape:?}"
        ))),
    }
}

/// The first `rows[i]` rows of each block (all of them where `rows` is shorter), stacked,
/// cut after `limit` rows.
fn stack<T: Scalar>(blocks: &[&ArrayD<T>], rows: &[u64], limit: usize) -> Result<Tile<T>> {
    let mut w = None;
    let mut take = Vec::with_capacity(blocks.len());
    let mut h = 0;
    for (i, b) in blocks.iter().enumerate() {
        let (r, c) = dims(b.shape())?;
        if *w.get_or_insert(c) != c {
            return Err(Error::DimensionMismatch(format!(
                "stacked tiles differ in width ({c} and {w:?})"
            )));
        }
        let r = rows
            .get(i)
            .map_or(r, |&n| (n as usize).min(r))
            .min(limit - h);
        take.push(r);
        h += r;
    }
    let mut t = Tile::zeros(h, w.unwrap_or(0));
    let mut r0 = 0;
    for (b, &r) in blocks.iter().zip(&take) {
        for i in 0..r {
            for j in 0..t.ncols() {
                t[(r0 + i, j)] = b[[i, j]];
            }
        }
        r0 += r;
    }
    Ok(t)
}

/// A tile's elements, row-major.
fn row_major<T: Scalar>(t: &Tile<T>) -> Vec<T> {
    (0..t.nrows())
        .flat_map(|i| (0..t.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| t[(i, j)])
        .collect()
}

/// The body of every `qr_panel_*` entry point.
pub fn panel_block<T: Scalar>(
    col: Vec<BlockRef<T>>,
    rows: Vec<u64>,
    upper: bool,
) -> Result<QrPanel<T>> {
    let refs: Vec<&ArrayD<T>> = col.iter().map(|b| &**b).collect();
    let mut p = stack(&refs, &rows, usize::MAX)?;
    if upper {
        // Each tile's part keeps its upper triangle (an `R` over the reflectors below it).
        let mut r0 = 0;
        for (i, b) in refs.iter().enumerate() {
            let r = rows
                .get(i)
                .map_or(b.shape()[0], |&n| (n as usize).min(b.shape()[0]));
            for k in 0..r {
                for j in 0..k.min(p.ncols()) {
                    p[(r0 + k, j)] = T::of(0.0);
                }
            }
            r0 += r;
        }
    }
    let h = geqrf(&mut p);
    Ok((p.ncols() as u64, row_major(&p), row_major(&h)))
}

/// The body of every `qr_rows_*` entry point.
pub fn rows_block<T: Scalar>(x: BlockMut<T>, p: QrPanel<T>, row0: u64, count: u64) -> Result<()> {
    let mut x = x;
    let (r, c) = dims(x.shape())?;
    let (w, r0, n) = (p.0 as usize, row0 as usize, (count as usize).min(r));
    if w != c || (r0 + n) * w > p.1.len() {
        return Err(Error::DimensionMismatch(format!(
            "{n} rows of a {r}×{c} tile from row {r0} do not fit a panel of width {w}"
        )));
    }
    for i in 0..n {
        for j in 0..c {
            x[[i, j]] = p.1[(r0 + i) * w + j];
        }
    }
    Ok(())
}

/// The body of every `qr_store_*` entry point.
pub fn store_block<T: Scalar>(x: BlockMut<T>, p: QrPanel<T>, with_v: bool) -> Result<()> {
    let mut x = x;
    let (r, c) = dims(x.shape())?;
    let w = p.0 as usize;
    let vh = if with_v { p.1.len() / w.max(1) } else { 0 };
    let tk = geqrf_cols(&p);
    let bs = p.2.len().checked_div(tk).unwrap_or(0);
    if w > c || tk > c || vh + bs > r {
        return Err(Error::DimensionMismatch(format!(
            "a {r}×{c} tile cannot hold a panel of width {w} ({vh} rows) and its {bs}×{tk} factor"
        )));
    }
    x.fill(T::of(0.0));
    for i in 0..vh {
        for j in 0..w {
            x[[i, j]] = p.1[i * w + j];
        }
    }
    for i in 0..bs {
        for j in 0..tk {
            x[[vh + i, j]] = p.2[i * tk + j];
        }
    }
    Ok(())
}

/// The columns of a panel's block factor: `min(h, w)` for its `h × w` rows.
fn geqrf_cols<T>(p: &QrPanel<T>) -> usize {
    let w = p.0 as usize;
    let h = p.1.len().checked_div(w).unwrap_or(0);
    h.min(w)
}

/// The body of every `qr_apply_*` entry point.
pub fn apply_block<T: Scalar>(
    v: Vec<BlockRef<T>>,
    t: Vec<BlockRef<T>>,
    t_row0: u64,
    c: Vec<BlockRef<T>>,
    c_rows: Vec<u64>,
    transpose: bool,
) -> Result<QrPanel<T>> {
    let crefs: Vec<&ArrayD<T>> = c.iter().map(|b| &**b).collect();
    let mut x = stack(&crefs, &c_rows, usize::MAX)?;
    let h = x.nrows();
    let vrefs: Vec<&ArrayD<T>> = v.iter().map(|b| &**b).collect();
    let vs = stack(&vrefs, &[], h)?;
    let (w, k) = (vs.ncols(), h.min(vs.ncols()));
    let bs = geqrf_block_size::<T>(h, w);
    let t = match t.first().or(v.last()) {
        Some(t) => t,
        None => return Err(Error::Argument("no block factor to apply".into())),
    };
    let (tr, tc) = dims(t.shape())?;
    let r0 = t_row0 as usize;
    if vs.nrows() != h || r0 + bs > tr || k > tc {
        return Err(Error::DimensionMismatch(format!(
            "reflectors {}×{w} for {h} rows, or their {bs}×{k} factor at row {r0} of a {tr}×{tc} tile",
            vs.nrows()
        )));
    }
    if k > 0 {
        let f = Tile::from_fn(bs, k, |i, j| t[[r0 + i, j]]);
        apply_q(&mut x, &vs, &f, transpose);
    }
    Ok((x.ncols() as u64, row_major(&x), Vec::new()))
}

/// The body of every `qr_copy_upper_*` entry point.
pub fn copy_upper_block<T: Scalar>(y: BlockMut<T>, x: BlockRef<T>, from: i64) -> Result<()> {
    let mut y = y;
    let ((r, c), (xr, xc)) = (dims(y.shape())?, dims(x.shape())?);
    if r > xr || c > xc {
        return Err(Error::DimensionMismatch(format!(
            "a {r}×{c} tile copied from a {xr}×{xc} one"
        )));
    }
    for i in 0..r {
        for j in 0..c {
            let keep = j as i64 - i as i64 >= from;
            y[[i, j]] = if keep { x[[i, j]] } else { T::of(0.0) };
        }
    }
    Ok(())
}

/// The body of every `qr_eye_*` entry point.
pub fn eye_block<T: Scalar>(y: BlockMut<T>, shift: i64, rows: u64) -> Result<()> {
    let mut y = y;
    let (r, c) = dims(y.shape())?;
    y.fill(T::of(0.0));
    for i in 0..r.min(rows as usize) {
        let j = i as i64 + shift;
        if (0..c as i64).contains(&j) {
            y[[i, j as usize]] = T::of(1.0);
        }
    }
    Ok(())
}

/// A task's result that is a value: an error fails the task (as [`fail_task`]).
fn value<V>(r: Result<V>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(Box::new(task_message(&e))),
    }
}

macro_rules! qr_tasks {
    ($($t:ident => $eps:expr, $of:expr, $as:expr),*) => {$(dagger_sched::__private::paste! {
        dagger_sched::register! {
            #[doc = concat!("A `", stringify!($t), "` QR panel, factored.")]
            pub fn [<qr_panel_ $t>](col: Vec<BlockRef<$t>>, rows: Vec<u64>, upper: bool) -> QrPanel<$t> {
                value(panel_block(col, rows, upper))
            }
            #[doc = concat!("A `", stringify!($t), "` tile takes rows of a panel.")]
            pub fn [<qr_rows_ $t>](x: BlockMut<$t>, p: QrPanel<$t>, row0: u64, count: u64) -> Result<()> {
                fail_task(rows_block(x, p, row0, count))
            }
            #[doc = concat!("A `", stringify!($t), "` tile stores a panel's block factor.")]
            pub fn [<qr_store_ $t>](x: BlockMut<$t>, p: QrPanel<$t>, with_v: bool) -> Result<()> {
                fail_task(store_block(x, p, with_v))
            }
            #[doc = concat!("A `", stringify!($t), "` panel's `Q` applied to a block column.")]
            pub fn [<qr_apply_ $t>](v: Vec<BlockRef<$t>>, t: Vec<BlockRef<$t>>, t_row0: u64, c: Vec<BlockRef<$t>>, c_rows: Vec<u64>, transpose: bool) -> QrPanel<$t> {
                value(apply_block(v, t, t_row0, c, c_rows, transpose))
            }
            #[doc = concat!("A `", stringify!($t), "` tile's upper part copied.")]
            pub fn [<qr_copy_upper_ $t>](y: BlockMut<$t>, x: BlockRef<$t>, from: i64) -> Result<()> {
                fail_task(copy_upper_block(y, x, from))
            }
            #[doc = concat!("A `", stringify!($t), "` tile of an identity.")]
            pub fn [<qr_eye_ $t>](y: BlockMut<$t>, shift: i64, rows: u64) -> Result<()> {
                fail_task(eye_block(y, shift, rows))
            }
        }

        impl Scalar for $t {
            fn of(x: f64) -> Self {
                $of(x)
            }
            fn as_f64(self) -> f64 {
                $as(self)
            }
            const EPSILON: f64 = $eps;
            fn tile_kernels() -> TileKernels<Self> {
                use crate::tile_tasks as k;
                TileKernels {
                    potrf: k::[<POTRF_ $t:upper>],
                    trsm: k::[<TRSM_ $t:upper>],
                    syrk: k::[<SYRK_ $t:upper>],
                    gemm: k::[<GEMM_ $t:upper>],
                    zero: k::[<ZERO_ $t:upper>],
                }
            }
            fn lu_kernels() -> LuKernels<Self> {
                use crate::tile_tasks_lu as l;
                LuKernels {
                    getrf_nopiv: l::[<GETRF_NOPIV_ $t:upper>],
                    trsm_unit: l::[<TRSM_UNIT_ $t:upper>],
                    panel: l::[<PANEL_ $t:upper>],
                    perm: l::[<PERM_ $t:upper>],
                    panel_out: l::[<PANEL_OUT_ $t:upper>],
                    rows_out: l::[<ROWS_OUT_ $t:upper>],
                    rows_in: l::[<ROWS_IN_ $t:upper>],
                }
            }
            fn qr_kernels() -> QrKernels<Self> {
                QrKernels {
                    panel: [<QR_PANEL_ $t:upper>],
                    rows: [<QR_ROWS_ $t:upper>],
                    store: [<QR_STORE_ $t:upper>],
                    apply: [<QR_APPLY_ $t:upper>],
                    copy_upper: [<QR_COPY_UPPER_ $t:upper>],
                    eye: [<QR_EYE_ $t:upper>],
                }
            }
        }
    })*};
}

qr_tasks!(
    f64 => f64::EPSILON, |x: f64| x, |x: f64| x,
    f32 => f32::EPSILON as f64, |x: f64| x as f32, f64::from
);
