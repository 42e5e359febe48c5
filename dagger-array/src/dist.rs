//! `distribute` (cut a whole array into the blocks of a grid) and `assemble` (the reverse).
//! Blocks are always listed in the grid's row-major block order.

use crate::block::{sparse_from_entries, Block};
use crate::grid::BlockGrid;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, IxDyn, Slice};
use sprs::CsMat;

fn check_shape(what: &str, got: &[usize], want: &[usize]) -> Result<()> {
    if got != want {
        return Err(Error::DimensionMismatch(format!(
            "{what}: shape {got:?} where {want:?} was expected"
        )));
    }
    Ok(())
}

/// Cuts a dense array into the blocks of `grid`.
///
/// ```
/// use dagger_array::{dist, BlockGrid, Blocks};
/// use ndarray::{ArrayD, IxDyn};
/// let a = ArrayD::from_shape_fn(IxDyn(&[5, 4]), |i| (i[0] * 4 + i[1]) as i64);
/// let g = BlockGrid::new(&[5, 4], &Blocks::from([2, 3]), 1).unwrap();
/// let blocks = dist::distribute_dense(&a, &g).unwrap();
/// assert_eq!(blocks.len(), 6);
/// assert_eq!(blocks[5].shape(), &[1, 1]);
/// assert_eq!(dist::assemble_dense(&g, &blocks).unwrap(), a);
/// ```
pub fn distribute_dense<T: Scalar>(a: &ArrayD<T>, grid: &BlockGrid) -> Result<Vec<ArrayD<T>>> {
    check_shape("distribute", a.shape(), grid.shape())?;
    Ok(grid
        .iter_coords()
        .map(|c| {
            let r = grid.block_ranges(&c);
            a.slice_each_axis(|ax| Slice::from(r[ax.axis.index()].clone()))
                .to_owned()
        })
        .collect())
}

/// Glues the blocks of `grid` back into one dense array.
pub fn assemble_dense<T: Scalar>(grid: &BlockGrid, blocks: &[ArrayD<T>]) -> Result<ArrayD<T>> {
    if blocks.len() != grid.num_blocks() {
        return Err(Error::DimensionMismatch(format!(
            "assemble: {} blocks for a grid of {}",
            blocks.len(),
            grid.num_blocks()
        )));
    }
    let mut out = ArrayD::from_elem(IxDyn(grid.shape()), T::zero());
    for (c, b) in grid.iter_coords().zip(blocks) {
        check_shape("assemble: block", b.shape(), &grid.block_shape(&c))?;
        let r = grid.block_ranges(&c);
        out.slice_each_axis_mut(|ax| Slice::from(r[ax.axis.index()].clone()))
            .assign(b);
    }
    Ok(out)
}

/// Cuts a sparse matrix into CSC blocks of `grid`, in time linear in its non-zeros.
pub fn distribute_sparse_mat<T: Scalar>(m: &CsMat<T>, grid: &BlockGrid) -> Result<Vec<CsMat<T>>> {
    check_shape("distribute", &[m.rows(), m.cols()], grid.shape())?;
    let csc;
    let m = if m.is_csc() {
        m
    } else {
        csc = m.to_csc();
        &csc
    };
    let rranges = &grid.ranges()[0];
    let cranges = &grid.ranges()[1];
    let mut out: Vec<Option<CsMat<T>>> = vec![None; grid.num_blocks()];
    for (cb, cr) in cranges.iter().enumerate() {
        // One (indptr, indices, data) builder per row block of this block column.
        let mut parts: Vec<(Vec<usize>, Vec<usize>, Vec<T>)> =
            rranges.iter().map(|_| (vec![0], vec![], vec![])).collect();
        for c in cr.clone() {
            if let Some(col) = m.outer_view(c) {
                for (r, &v) in col.iter() {
                    if let Some((rb, lr)) = grid.locate_dim(0, r) {
                        parts[rb].1.push(lr);
                        parts[rb].2.push(v);
                    }
                }
            }
            for p in &mut parts {
                let n = p.1.len();
                p.0.push(n);
            }
        }
        for (rb, (indptr, indices, data)) in parts.into_iter().enumerate() {
            let shape = (rranges[rb].len(), cr.len());
            let blk = CsMat::try_new_csc(shape, indptr, indices, data)
                .map_err(|e| Error::Argument(format!("distribute: bad sparse block: {}", e.3)))?;
            out[grid.block_linear(&[rb, cb])] = Some(blk);
        }
    }
    out.into_iter()
        .map(|b| b.ok_or_else(|| Error::Argument("distribute: missing block".into())))
        .collect()
}

/// Cuts any [`Block`] holding a whole array into the blocks of `grid` (sparse stays sparse).
pub fn distribute<T: Scalar>(whole: &Block<T>, grid: &BlockGrid) -> Result<Vec<Block<T>>> {
    match whole {
        Block::Dense(a) => Ok(distribute_dense(a, grid)?
            .into_iter()
            .map(Block::Dense)
            .collect()),
        Block::SparseMat(m) => Ok(distribute_sparse_mat(m, grid)?
            .into_iter()
            .map(Block::SparseMat)
            .collect()),
        Block::SparseVec(v) => {
            check_shape("distribute", &[v.dim()], grid.shape())?;
            let mut parts: Vec<Vec<(Vec<usize>, T)>> = vec![Vec::new(); grid.num_blocks()];
            for (i, &x) in v.iter() {
                if let Some((b, l)) = grid.locate_dim(0, i) {
                    parts[b].push((vec![l], x));
                }
            }
            parts
                .into_iter()
                .enumerate()
                .map(|(b, e)| sparse_from_entries(&grid.block_shape(&[b]), e))
                .collect()
        }
    }
}

/// Glues blocks into one [`Block`]: sparse if every block is sparse, dense otherwise.
pub fn assemble<T: Scalar>(grid: &BlockGrid, blocks: &[Block<T>]) -> Result<Block<T>> {
    if blocks.len() != grid.num_blocks() {
        return Err(Error::DimensionMismatch(format!(
            "assemble: {} blocks for a grid of {}",
            blocks.len(),
            grid.num_blocks()
        )));
    }
    let all_sparse = !blocks.is_empty() && blocks.iter().all(|b| !matches!(b, Block::Dense(_)));
    if !all_sparse || !(1..=2).contains(&grid.ndim()) {
        let dense: Vec<ArrayD<T>> = blocks.iter().map(Block::to_dense).collect();
        return Ok(Block::Dense(assemble_dense(grid, &dense)?));
    }
    let mut entries = Vec::new();
    for (c, b) in grid.iter_coords().zip(blocks) {
        check_shape("assemble: block", &b.shape(), &grid.block_shape(&c))?;
        let r = grid.block_ranges(&c);
        for (mut i, v) in b.triplets() {
            for (d, x) in i.iter_mut().enumerate() {
                *x += r[d].start;
            }
            entries.push((i, v));
        }
    }
    sparse_from_entries(grid.shape(), entries)
}
