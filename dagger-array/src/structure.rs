//! Structure and update operations of a [`DArray`]: lazy views (`view`), concatenation
//! (`hcat`, `vcat`, `cat`),
//! `permutedims`, non-mutating `setindex`, region assignment (`A[idx] = b`), `copyto`,
//! scalar access, the broadcast of a column vector, and comparison and bit operations. The
//! in-place updates built on them are in [`crate::update`].
//!
//! Concatenation re-uses the input blocks as they are (no task), so the blockings of the
//! other dimensions must agree exactly: otherwise [`Error::DimensionMismatch`], as in the
//! reference.

use crate::binary::{CmpOp, Side};
use crate::block::{in_kind, Block, Kind};
use crate::darray::{DArray, Lazy};
use crate::element::{ArithOp, BitOp, Element, IntElement};
use crate::graph::{compare_node, kernel_node, Node};
use crate::grid::BlockGrid;
use crate::index::{Index, IndexPlan, Piece};
use crate::kernel::named::Kernel;
use crate::mem::{held, BlockValue};
use crate::names::named;
use dagger_core::{Error, Options, Result};
use ndarray::{ArrayD, IxDyn};
use std::ops::Range;
use std::sync::Arc;

fn index_len(ix: &Index, n: usize) -> usize {
    match ix {
        Index::All => n,
        Index::Range(r) => r.len(),
        Index::List(v) => v.len(),
        Index::Scalar(_) => 1,
    }
}

impl<T: Element> DArray<T> {
    /// Concatenation along dimension `dim` (`cat(arrays...; dims=dim)`): every other
    /// dimension must have the same size *and blocking*.
    pub fn cat(arrays: &[&DArray<T>], dim: usize) -> Result<DArray<T>> {
        let Some(first) = arrays.first() else {
            return Err(Error::Argument("cat of no arrays".into()));
        };
        let nd = first.grid().ndim();
        if dim >= nd {
            return Err(Error::Argument(format!(
                "cannot concatenate {nd}-d arrays along dimension {dim}"
            )));
        }
        let mut ranges = first.grid().ranges().to_vec();
        let mut shape = first.shape().to_vec();
        ranges[dim].clear();
        shape[dim] = 0;
        for a in arrays {
            let g = a.grid();
            if g.ndim() != nd {
                return Err(Error::DimensionMismatch(format!(
                    "cannot concatenate a {}-d array with a {nd}-d array",
                    g.ndim()
                )));
            }
            for d in (0..nd).filter(|&d| d != dim) {
                if g.ranges()[d] != first.grid().ranges()[d] {
                    return Err(Error::DimensionMismatch(format!(
                        "concatenating along dimension {dim}: dimension {d} is blocked as {:?} in one array and {:?} in another",
                        first.grid().ranges()[d],
                        g.ranges()[d]
                    )));
                }
            }
            let off = shape[dim];
            ranges[dim].extend(g.ranges()[dim].iter().map(|r| r.start + off..r.end + off));
            shape[dim] += g.shape()[dim];
        }
        let grid = BlockGrid::from_ranges(&shape, ranges)?;
        let all_sparse = arrays.iter().all(|a| a.meta.kind == Kind::Sparse);
        let kind = if all_sparse {
            Kind::Sparse
        } else {
            Kind::Dense
        };
        // Which input and which of its block columns each output block column along `dim` is.
        let mut owner = Vec::new();
        for (k, a) in arrays.iter().enumerate() {
            owner.extend((0..a.grid().grid_shape()[dim]).map(|j| (k, j)));
        }
        let blocks = grid
            .iter_coords()
            .map(|mut c| {
                let (k, j) = owner[c[dim]];
                c[dim] = j;
                let a = arrays[k];
                let b = a.blocks[a.grid().block_linear(&c)].clone();
                if kind == Kind::Dense && a.meta.kind == Kind::Sparse {
                    kernel_node(Options::new(), Kernel::ToDense, &[b])
                } else {
                    b
                }
            })
            .collect();
        Ok(DArray::from_blocks(grid, kind, blocks))
    }

    /// `hcat(a, b, …)`: concatenation along the second dimension.
    pub fn hcat(arrays: &[&DArray<T>]) -> Result<DArray<T>> {
        Self::cat(arrays, 1)
    }

    /// `vcat(a, b, …)`: concatenation along the first dimension.
    pub fn vcat(arrays: &[&DArray<T>]) -> Result<DArray<T>> {
        Self::cat(arrays, 0)
    }

    /// `permutedims(A, perm)`: dimension `k` of the result is dimension `perm[k]` of `self`;
    /// block by block.
    pub fn permutedims(&self, perm: &[usize]) -> Result<DArray<T>> {
        let nd = self.grid().ndim();
        let mut seen = vec![false; nd];
        if perm.len() != nd
            || perm
                .iter()
                .any(|&p| p >= nd || std::mem::replace(&mut seen[p], true))
        {
            return Err(Error::Argument(format!(
                "{perm:?} is not a permutation of the {nd} dimensions"
            )));
        }
        let g = self.grid();
        let shape: Vec<usize> = perm.iter().map(|&p| g.shape()[p]).collect();
        let ranges = perm.iter().map(|&p| g.ranges()[p].clone()).collect();
        let grid = BlockGrid::from_ranges(&shape, ranges)?;
        let kind = self.meta.kind;
        let perm = Arc::new(perm.to_vec());
        let blocks = grid
            .iter_coords()
            .map(|c| {
                let mut src = vec![0; nd];
                for (k, &p) in perm.iter().enumerate() {
                    src[p] = c[k];
                }
                kernel_node(
                    Options::new(),
                    Kernel::Permute {
                        perm: perm.to_vec(),
                        kind,
                    },
                    std::slice::from_ref(&self.blocks[g.block_linear(&src)]),
                )
            })
            .collect();
        Ok(DArray::from_blocks(grid, kind, blocks))
    }

    /// A lazy view `X[r₀, r₁, …]` (one range per dimension) as a distributed array whose
    /// blocks are the parts of `self`'s blocks inside the ranges. Unfused, each block is cut
    /// out by its own task; in a fused element-wise chain the kernel reads the source block
    /// through the view instead.
    pub fn view(&self, ranges: &[Range<usize>]) -> Result<DArray<T>> {
        let g = self.grid();
        if ranges.len() != g.ndim() {
            return Err(Error::DimensionMismatch(format!(
                "{} ranges for a {}-dimensional array",
                ranges.len(),
                g.ndim()
            )));
        }
        if let Some((d, r)) = ranges
            .iter()
            .enumerate()
            .find(|(d, r)| r.start > r.end || r.end > g.shape()[*d])
        {
            return Err(Error::Argument(format!(
                "BoundsError: range {r:?} along dimension {d} of an array of size {:?}",
                g.shape()
            )));
        }
        let shape: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
        if shape.contains(&0) {
            return DArray::zeros(
                &crate::partition::Blocks::new(vec![1; shape.len()])?,
                &shape,
            );
        }
        // Per dimension: (source block, range inside it, range in the view) of each view block.
        type Cut = (usize, Range<usize>, Range<usize>);
        let per_dim: Vec<Vec<Cut>> = ranges
            .iter()
            .zip(g.ranges())
            .map(|(r, brs)| {
                brs.iter()
                    .enumerate()
                    .filter_map(|(k, b)| {
                        let (lo, hi) = (b.start.max(r.start), b.end.min(r.end));
                        (lo < hi)
                            .then(|| (k, lo - b.start..hi - b.start, lo - r.start..hi - r.start))
                    })
                    .collect()
            })
            .collect();
        let grid = BlockGrid::from_ranges(
            &shape,
            per_dim
                .iter()
                .map(|cs| cs.iter().map(|c| c.2.clone()).collect())
                .collect(),
        )?;
        let mut srcs = Vec::with_capacity(grid.num_blocks());
        let mut locals = Vec::with_capacity(grid.num_blocks());
        let blocks = grid
            .iter_coords()
            .map(|c| {
                let sc: Vec<usize> = c
                    .iter()
                    .enumerate()
                    .map(|(d, &i)| per_dim[d][i].0)
                    .collect();
                let local: Vec<Range<usize>> = c
                    .iter()
                    .enumerate()
                    .map(|(d, &i)| per_dim[d][i].1.clone())
                    .collect();
                let src = g.block_linear(&sc);
                srcs.push(src);
                locals.push(local.clone());
                let piece = Piece {
                    block: src,
                    local: local.iter().map(|r| r.clone().collect()).collect(),
                    out: local.iter().map(|r| (0..r.len()).collect()).collect(),
                };
                kernel_node(
                    Options::new(),
                    Kernel::Gather(piece),
                    std::slice::from_ref(&self.blocks[src]),
                )
            })
            .collect();
        let out = DArray::from_blocks(grid, self.meta.kind, blocks);
        let ew = self.chain().map(|e| e.sliced(&srcs, &locals));
        Ok(out.with_chain(ew))
    }

    /// A copy of `self` with the region `idx` overwritten from `src` (`src` has the shape of
    /// `X[idx]`); only the blocks the region touches get a new task.
    pub fn assign_lazy(&self, idx: &[Index], src: &Lazy<Block<T>>) -> Result<DArray<T>> {
        let plan = Arc::new(IndexPlan::new(self.grid(), idx)?);
        let full: Vec<usize> = idx
            .iter()
            .zip(self.shape())
            .map(|(ix, &n)| index_len(ix, n))
            .collect();
        let want: usize = full.iter().product();
        let full = Arc::new(full);
        let mut blocks = self.blocks.clone();
        let kind = self.meta.kind;
        for (k, p) in plan.pieces().iter().enumerate() {
            let (plan, full) = (plan.clone(), full.clone());
            blocks[p.block] = Node::task2(
                "setindex",
                &blocks[p.block],
                &src.node,
                move |v: BlockValue<T>, s: Result<Block<T>>| {
                    let (v, s) = (v?, s?);
                    let s = s.to_dense();
                    if s.len() != want {
                        return Err(Error::DimensionMismatch(format!(
                            "tried to assign {:?} elements to {:?} destinations",
                            s.shape(),
                            full
                        )));
                    }
                    let s = s
                        .into_shape_with_order(IxDyn(&full))
                        .map_err(|e| Error::DimensionMismatch(format!("assignment: {e}")))?;
                    let piece = &plan.pieces()[k];
                    let mut d = v.to_dense();
                    let mut at = vec![0; piece.local.len()];
                    let mut from = vec![0; piece.local.len()];
                    let counts: Vec<usize> = piece.local.iter().map(Vec::len).collect();
                    let total: usize = counts.iter().product();
                    for mut lin in 0..total {
                        for dd in (0..counts.len()).rev() {
                            let q = lin % counts[dd];
                            lin /= counts[dd];
                            at[dd] = piece.local[dd][q];
                            from[dd] = piece.out[dd][q];
                        }
                        d[IxDyn(&at)] = s[IxDyn(&from)];
                    }
                    in_kind(d, kind).map(held)
                },
            );
        }
        let mut out = DArray::from_blocks(self.grid().clone(), kind, blocks);
        out.meta = self.meta.clone();
        Ok(out)
    }

    /// A copy of `self` with the region `idx` overwritten from a whole array (`A[:, idx] = b`).
    pub fn assign(&self, idx: &[Index], src: ArrayD<T>) -> Result<DArray<T>> {
        let src = Arc::new(Block::Dense(src));
        self.assign_lazy(
            idx,
            &Lazy {
                node: Node::task0(named("fill"), move || Ok((*src).clone())),
            },
        )
    }

    /// `setindex(X, v, idx...)`: a modified copy with every element of the region set to
    /// `v`; `self` is unchanged.
    pub fn setindex(&self, v: T, idx: &[Index]) -> Result<DArray<T>> {
        let n: usize = idx
            .iter()
            .zip(self.shape())
            .map(|(ix, &n)| index_len(ix, n))
            .product();
        self.assign(idx, ArrayD::from_elem(IxDyn(&[n]), v))
    }

    /// `X[i, j, …]` for one element (0-based).
    pub fn get(&self, at: &[usize]) -> Result<Lazy<T>> {
        let idx: Vec<Index> = at.iter().map(|&i| Index::Scalar(i)).collect();
        Ok(self.index(&idx)?.then(|b| {
            b.to_dense()
                .iter()
                .next()
                .copied()
                .ok_or_else(|| Error::Argument("scalar index selected nothing".into()))
        }))
    }

    /// `copyto!(dst[dst_idx], src[src_idx])` as a new array: the regions must be contiguous
    /// (ranges or `:`; an index list is a strided view: [`Error::Argument`]) and of equal
    /// shape ([`Error::DimensionMismatch`]).
    pub fn copyto(
        &self,
        dst_idx: &[Index],
        src: &DArray<T>,
        src_idx: &[Index],
    ) -> Result<DArray<T>> {
        let contiguous = |ix: &[Index]| {
            ix.iter().all(|i| match i {
                Index::List(v) => v.windows(2).all(|w| w[1] == w[0] + 1),
                _ => true,
            })
        };
        if !contiguous(dst_idx) || !contiguous(src_idx) {
            return Err(Error::Argument(
                "copyto: strided views are not supported; use contiguous ranges".into(),
            ));
        }
        let dn: Vec<usize> = dst_idx
            .iter()
            .zip(self.shape())
            .map(|(ix, &n)| index_len(ix, n))
            .filter(|&n| n != 1)
            .collect();
        let sn: Vec<usize> = src_idx
            .iter()
            .zip(src.shape())
            .map(|(ix, &n)| index_len(ix, n))
            .filter(|&n| n != 1)
            .collect();
        if dn != sn || dst_idx.len() != self.grid().ndim() || src_idx.len() != src.grid().ndim() {
            return Err(Error::DimensionMismatch(format!(
                "copyto: destination region {dn:?} and source region {sn:?} differ"
            )));
        }
        self.assign_lazy(dst_idx, &src.index(src_idx)?)
    }

    /// `copyto!(dst, src)` of whole arrays as a new array with `self`'s blocking.
    pub fn copy_from(&self, src: &DArray<T>) -> Result<DArray<T>> {
        if src.shape() != self.shape() {
            return Err(Error::DimensionMismatch(format!(
                "copyto: destination {:?} and source {:?} differ",
                self.shape(),
                src.shape()
            )));
        }
        src.reblock(self.grid())
    }

    /// `A .op v` for a matrix `A` and a vector `v` of its row count (`v` broadcast along the
    /// columns, as Julia does: `A[i, j] op v[i]`).
    pub fn broadcast_col(&self, v: &DArray<T>, op: ArithOp) -> Result<DArray<T>> {
        let g = self.grid();
        if g.ndim() != 2 || v.grid().ndim() != 1 || v.shape()[0] != g.shape()[0] {
            return Err(Error::DimensionMismatch(format!(
                "cannot broadcast a {:?} vector against a {:?} matrix",
                v.shape(),
                g.shape()
            )));
        }
        let vg = BlockGrid::from_ranges(&[g.shape()[0]], vec![g.ranges()[0].clone()])?;
        let v = v.reblock(&vg)?;
        let blocks = g
            .iter_coords()
            .zip(&self.blocks)
            .map(|(c, b)| {
                kernel_node(
                    Options::new(),
                    Kernel::BroadcastCol(op),
                    &[b.clone(), v.blocks[c[0]].clone()],
                )
            })
            .collect();
        Ok(DArray::from_blocks(g.clone(), Kind::Dense, blocks))
    }

    /// `self cmp other` element-wise as 0/1 bytes (Julia's `BitArray`); blockings may differ.
    pub fn compare(&self, other: &DArray<T>, op: CmpOp) -> Result<DArray<u8>> {
        if self.shape() != other.shape() {
            return Err(Error::DimensionMismatch(format!(
                "Sizes of A {:?} and B {:?} must match",
                self.shape(),
                other.shape()
            )));
        }
        let other = other.reblock(self.grid())?;
        let blocks = self
            .blocks
            .iter()
            .zip(&other.blocks)
            .map(|(a, b)| compare_node(Kernel::Compare(op), &[a.clone(), b.clone()]))
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
    }

    /// `self cmp s` (or `s cmp self`) element-wise as 0/1 bytes.
    pub fn compare_scalar(&self, s: T, op: CmpOp, side: Side) -> DArray<u8> {
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                compare_node(
                    Kernel::CompareScalar { op, s, side },
                    std::slice::from_ref(b),
                )
            })
            .collect();
        DArray::from_blocks(self.grid().clone(), Kind::Dense, blocks)
    }
}

impl<T: IntElement> DArray<T> {
    /// `self bitop other` element-wise (`.& .| .⊻ .<< .>>`); blockings may differ.
    pub fn bit(&self, other: &DArray<T>, op: BitOp) -> Result<DArray<T>> {
        if self.shape() != other.shape() {
            return Err(Error::DimensionMismatch(format!(
                "Sizes of A {:?} and B {:?} must match",
                self.shape(),
                other.shape()
            )));
        }
        let other = other.reblock(self.grid())?;
        let blocks = self
            .blocks
            .iter()
            .zip(&other.blocks)
            .map(|(a, b)| kernel_node(Options::new(), Kernel::Bit(op), &[a.clone(), b.clone()]))
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
    }

    /// `self bitop s` (or `s bitop self`) element-wise.
    pub fn bit_scalar(&self, s: T, op: BitOp, side: Side) -> DArray<T> {
        self.derive_k(Kind::Dense, Kernel::BitScalar { op, s, side })
    }
}
