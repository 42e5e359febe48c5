//! The tile kernels of LU on DArray blocks as registered functions (for f32 and f64), so
//! that [`crate::blocks_lu`] factors and solves where the blocks live: the diagonal tile's
//! `getrf` without pivoting, the unit-diagonal `trsm`, and partial pivoting across tiles.
//!
//! A pivoted panel (a block column from the diagonal down) lives on several workers, and a
//! task writes blocks of one worker only. So the panel task *reads* the column and returns
//! it factored ([`Panel`]: its row permutation and the stacked factors); each tile of the
//! column then copies its rows back where it lives (`panel_out`). The panel's row swaps
//! reach the other block columns the same way: each tile sends the rows it is the source
//! of (`rows_out`, a few rows), and each tile takes the rows that land in it (`rows_in`).
//! A zero pivot fails the panel task with `Singular` (see [`crate::tile_tasks`]).

use crate::error::{fail_task, singular, task_message};
use crate::kernels::{getrf, getrf_nopiv};
use crate::scalar::Scalar;
use crate::tile::{Diag, Tile};
use crate::tile_tasks::trsm_diag_block;
use dagger_array::{BlockMut, BlockRef};
use dagger_core::{Error, Result};

pub use crate::scalar::{LuKernels, Panel, PanelTask, Rows, RowsInTask, RowsOutTask, TrsmUnitTask};

/// An element type with LU tile kernels: every [`Scalar`] (f32 and f64; the kernels are
/// [`Scalar::lu_kernels`]). Kept as a name for the bound.
pub trait LuScalar: Scalar {}

impl<T: Scalar> LuScalar for T {}

fn dims(shape: &[usize]) -> Result<(usize, usize)> {
    match *shape {
        [r, c] => Ok((r, c)),
        _ => Err(Error::DimensionMismatch(format!(
            "a tile kernel needs a 2-d block, got shape {shape:?}"
        ))),
    }
}

/// The block as a faer matrix (a copy).
fn to_tile<T: Scalar>(a: &ndarray::ArrayD<T>) -> Result<Tile<T>> {
    let (r, c) = dims(a.shape())?;
    Ok(Tile::from_fn(r, c, |i, j| a[[i, j]]))
}

/// Writes `t` into the block.
fn from_tile<T: Scalar>(t: &Tile<T>, a: &mut ndarray::ArrayD<T>) -> Result<()> {
    let (r, c) = dims(a.shape())?;
    for i in 0..r {
        for j in 0..c {
            a[[i, j]] = t[(i, j)];
        }
    }
    Ok(())
}

/// The body of every `getrf_nopiv_*` entry point.
pub fn getrf_nopiv_block<T: Scalar>(a: BlockMut<T>, k: u64, b: u64) -> Result<()> {
    let mut a = a;
    let mut t = to_tile(&a)?;
    getrf_nopiv(&mut t).map_err(|p| singular(k as usize, b as usize, p))?;
    from_tile(&t, &mut a)
}

/// The body of every `panel_*` entry point: the stacked column factored with partial
/// pivoting (a zero pivot is `Singular` naming diagonal tile `k`).
pub fn panel_block<T: Scalar>(col: Vec<BlockRef<T>>, k: u64, b: u64) -> Result<Panel<T>> {
    let w = match col.first() {
        Some(t) => dims(t.shape())?.1,
        None => 0,
    };
    let h: usize = col.iter().map(|t| t.shape()[0]).sum();
    let mut p = Tile::<T>::zeros(h, w);
    let mut r0 = 0;
    for t in &col {
        let (r, c) = dims(t.shape())?;
        if c != w {
            return Err(Error::DimensionMismatch(format!(
                "a panel's tiles differ in width ({c} and {w})"
            )));
        }
        for i in 0..r {
            for j in 0..c {
                p[(r0 + i, j)] = t[[i, j]];
            }
        }
        r0 += r;
    }
    let perm = getrf(&mut p).map_err(|q| singular(k as usize, b as usize, q))?;
    let data = (0..h)
        .flat_map(|i| (0..w).map(move |j| (i, j)))
        .map(|(i, j)| p[(i, j)])
        .collect();
    Ok((perm.into_iter().map(|v| v as u64).collect(), w as u64, data))
}

/// The body of every `panel_out_*` entry point.
pub fn panel_out_block<T: Scalar>(x: BlockMut<T>, p: Panel<T>, row0: u64) -> Result<()> {
    let mut x = x;
    let (r, c) = dims(x.shape())?;
    let (w, r0) = (p.1 as usize, row0 as usize);
    if w != c || (r0 + r) * w > p.2.len() {
        return Err(Error::DimensionMismatch(format!(
            "tile {r}×{c} at panel row {r0} does not fit a panel of width {w}"
        )));
    }
    for i in 0..r {
        for j in 0..c {
            x[[i, j]] = p.2[(r0 + i) * w + j];
        }
    }
    Ok(())
}

/// The moves of a permutation of the rows from `first`: (destination, source) global rows.
fn moves(perm: &[u64], first: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
    perm.iter()
        .enumerate()
        .filter(|(i, p)| **p != *i as u64)
        .map(move |(i, p)| (first + i as u64, first + p))
}

/// The body of every `rows_out_*` entry point.
pub fn rows_out_block<T: Scalar>(
    x: BlockRef<T>,
    perm: Vec<u64>,
    first: u64,
    row0: u64,
) -> Result<Rows<T>> {
    let (r, c) = dims(x.shape())?;
    let mine = row0..row0 + r as u64;
    Ok(moves(&perm, first)
        .filter(|(_, src)| mine.contains(src))
        .map(|(_, src)| {
            let i = (src - row0) as usize;
            (src, (0..c).map(|j| x[[i, j]]).collect())
        })
        .collect())
}

/// The body of every `rows_in_*` entry point.
pub fn rows_in_block<T: Scalar>(
    x: BlockMut<T>,
    perm: Vec<u64>,
    first: u64,
    row0: u64,
    sent: Vec<Rows<T>>,
) -> Result<()> {
    let mut x = x;
    let (r, c) = dims(x.shape())?;
    let mine = row0..row0 + r as u64;
    let find = |src: u64| sent.iter().flatten().find(|(s, _)| *s == src);
    for (dst, src) in moves(&perm, first).filter(|(d, _)| mine.contains(d)) {
        let row = match find(src) {
            Some((_, v)) if v.len() == c => v,
            _ => {
                return Err(Error::DimensionMismatch(format!(
                    "row {src} for row {dst} was not sent, or has another width than {c}"
                )))
            }
        };
        let i = (dst - row0) as usize;
        for (j, v) in row.iter().enumerate() {
            x[[i, j]] = *v;
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

macro_rules! lu_tasks {
    ($($t:ident),*) => {$(dagger_sched::__private::paste! {
        dagger_sched::register! {
            #[doc = concat!("`getrf` without pivoting on a `", stringify!($t), "` block.")]
            pub fn [<getrf_nopiv_ $t>](a: BlockMut<$t>, k: u64, b: u64) -> Result<()> {
                fail_task(getrf_nopiv_block(a, k, b))
            }
            #[doc = concat!("Unit-diagonal `trsm` on a `", stringify!($t), "` block.")]
            pub fn [<trsm_unit_ $t>](x: BlockMut<$t>, a: BlockRef<$t>, right: bool, lower: bool, trans: bool) -> Result<()> {
                fail_task(trsm_diag_block(x, a, [right, lower, trans], Diag::Unit))
            }
            #[doc = concat!("A pivoted `", stringify!($t), "` panel, factored.")]
            pub fn [<panel_ $t>](col: Vec<BlockRef<$t>>, k: u64, b: u64) -> Panel<$t> {
                value(panel_block(col, k, b))
            }
            #[doc = concat!("The row permutation of a `", stringify!($t), "` panel.")]
            pub fn [<perm_ $t>](p: Panel<$t>) -> Vec<u64> { p.0 }
            #[doc = concat!("A `", stringify!($t), "` tile takes its rows of a factored panel.")]
            pub fn [<panel_out_ $t>](x: BlockMut<$t>, p: Panel<$t>, row0: u64) -> Result<()> {
                fail_task(panel_out_block(x, p, row0))
            }
            #[doc = concat!("The rows a `", stringify!($t), "` tile sends for a row permutation.")]
            pub fn [<rows_out_ $t>](x: BlockRef<$t>, perm: Vec<u64>, first: u64, row0: u64) -> Rows<$t> {
                value(rows_out_block(x, perm, first, row0))
            }
            #[doc = concat!("A `", stringify!($t), "` tile takes the rows a permutation lands in it.")]
            pub fn [<rows_in_ $t>](x: BlockMut<$t>, perm: Vec<u64>, first: u64, row0: u64, sent: Vec<Rows<$t>>) -> Result<()> {
                fail_task(rows_in_block(x, perm, first, row0, sent))
            }
        }

    })*};
}

lu_tasks!(f64, f32);
