//! Indexing a blocked array: a request (`X[20:100, [30, 40, 60]]`, `X[:, 5]`, `X[5, 5]`) is
//! planned into pieces, one per block it touches, each naming the local indices to take from
//! that block and where they go in the result; the result is assembled from the pieces.
//! Indices are 0-based; index vectors may be unsorted, repeat or be empty.

use crate::block::{sparse_from_entries, Block};
use crate::grid::BlockGrid;
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, Axis, Dimension, IxDyn};
use std::collections::HashMap;
use std::ops::{Range, RangeFull, RangeInclusive};

/// An index along one dimension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Index {
    /// `:` — the whole dimension.
    All,
    /// A half-open range `a..b`.
    Range(Range<usize>),
    /// A list of indices, in the order wanted.
    List(Vec<usize>),
    /// A single index; the dimension is dropped from the result.
    Scalar(usize),
}

impl From<RangeFull> for Index {
    fn from(_: RangeFull) -> Self {
        Index::All
    }
}
impl From<Range<usize>> for Index {
    fn from(r: Range<usize>) -> Self {
        Index::Range(r)
    }
}
impl From<RangeInclusive<usize>> for Index {
    fn from(r: RangeInclusive<usize>) -> Self {
        Index::Range(*r.start()..r.end().saturating_add(1))
    }
}
impl From<Vec<usize>> for Index {
    fn from(v: Vec<usize>) -> Self {
        Index::List(v)
    }
}
impl From<&[usize]> for Index {
    fn from(v: &[usize]) -> Self {
        Index::List(v.to_vec())
    }
}
impl From<usize> for Index {
    fn from(i: usize) -> Self {
        Index::Scalar(i)
    }
}

/// Along one dimension: a block, the local indices taken from it, their result positions.
type DimGroup = (usize, Vec<usize>, Vec<usize>);

/// The part of an index request served by one block.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Piece {
    /// Linear number of the block.
    pub block: usize,
    /// Per dimension, the local indices to take from the block.
    pub local: Vec<Vec<usize>>,
    /// Per dimension, where each taken index goes in the (undropped) result.
    pub out: Vec<Vec<usize>>,
}

/// `v` as the range `a..a + len` when it is `a, a+1, …` (and not empty).
pub fn run(v: &[usize]) -> Option<Range<usize>> {
    let first = *v.first()?;
    v.windows(2)
        .all(|w| w[1] == w[0] + 1)
        .then_some(first..first + v.len())
}

/// A planned index request.
///
/// ```
/// use dagger_array::index::{Index, IndexPlan};
/// use dagger_array::{BlockGrid, Blocks};
/// let g = BlockGrid::new(&[10, 10], &Blocks::from([3, 3]), 1).unwrap();
/// let p = IndexPlan::new(&g, &[Index::List(vec![9, 0, 1]), Index::Scalar(4)]).unwrap();
/// assert_eq!(p.shape(), &[3]);
/// assert_eq!(p.pieces().len(), 2); // row blocks 3 and 0, column block 1
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexPlan {
    full_shape: Vec<usize>,
    shape: Vec<usize>,
    keep: Vec<bool>,
    pieces: Vec<Piece>,
}

impl IndexPlan {
    /// Plans `index` (one entry per dimension) over `grid`; an index out of bounds is an
    /// [`Error::Argument`] naming it, a wrong number of indices a
    /// [`Error::DimensionMismatch`].
    pub fn new(grid: &BlockGrid, index: &[Index]) -> Result<Self> {
        if index.len() != grid.ndim() {
            return Err(Error::DimensionMismatch(format!(
                "{} indices for a {}-dimensional array",
                index.len(),
                grid.ndim()
            )));
        }
        let mut per_dim: Vec<Vec<DimGroup>> = Vec::with_capacity(index.len());
        let mut full_shape = Vec::new();
        let mut keep = Vec::new();
        for (d, ix) in index.iter().enumerate() {
            let n = grid.shape()[d];
            let wanted: Vec<usize> = match ix {
                Index::All => (0..n).collect(),
                Index::Range(r) => r.clone().collect(),
                Index::List(v) => v.clone(),
                Index::Scalar(i) => vec![*i],
            };
            if let Some(bad) = wanted.iter().find(|&&i| i >= n) {
                return Err(Error::Argument(format!(
                    "BoundsError: index {bad} along dimension {d} of an array of size {:?}",
                    grid.shape()
                )));
            }
            full_shape.push(wanted.len());
            keep.push(!matches!(ix, Index::Scalar(_)));
            // Group by block, keeping first-seen block order.
            let mut groups: Vec<DimGroup> = Vec::new();
            let mut slot: HashMap<usize, usize> = HashMap::new();
            for (pos, &i) in wanted.iter().enumerate() {
                let (b, l) = grid.locate_dim(d, i).ok_or_else(|| {
                    Error::Argument(format!("BoundsError: index {i} along dimension {d}"))
                })?;
                let s = *slot.entry(b).or_insert_with(|| {
                    groups.push((b, Vec::new(), Vec::new()));
                    groups.len() - 1
                });
                groups[s].1.push(l);
                groups[s].2.push(pos);
            }
            per_dim.push(groups);
        }
        // Cartesian product of the per-dimension groups.
        let mut pieces = vec![Piece {
            block: 0,
            local: vec![],
            out: vec![],
        }];
        let mut coords: Vec<Vec<usize>> = vec![vec![]];
        if per_dim.iter().any(Vec::is_empty) {
            pieces.clear();
            coords.clear();
        }
        for groups in &per_dim {
            let mut np = Vec::new();
            let mut nc = Vec::new();
            for (p, c) in pieces.iter().zip(&coords) {
                for (b, l, o) in groups {
                    let mut q = p.clone();
                    q.local.push(l.clone());
                    q.out.push(o.clone());
                    np.push(q);
                    let mut cc = c.clone();
                    cc.push(*b);
                    nc.push(cc);
                }
            }
            pieces = np;
            coords = nc;
        }
        for (p, c) in pieces.iter_mut().zip(&coords) {
            p.block = grid.block_linear(c);
        }
        let shape = full_shape
            .iter()
            .zip(&keep)
            .filter(|&(_, &k)| k)
            .map(|(&n, _)| n)
            .collect();
        Ok(Self {
            full_shape,
            shape,
            keep,
            pieces,
        })
    }

    /// The result's shape (scalar-indexed dimensions dropped).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// This plan with its dimensions permuted: dimension `k` of the result is dimension
    /// `perm[k]` of this one; pieces keep their blocks. A list that is not a permutation, or
    /// a plan with dropped (scalar-indexed) dimensions, is an [`Error::Argument`].
    pub fn permuted(&self, perm: &[usize]) -> Result<Self> {
        let nd = self.full_shape.len();
        let mut seen = vec![false; nd];
        let ok = perm.len() == nd
            && self.keep.iter().all(|&k| k)
            && perm
                .iter()
                .all(|&p| p < nd && !std::mem::replace(&mut seen[p], true));
        if !ok {
            return Err(Error::Argument(format!(
                "{perm:?} does not permute an index plan of shape {:?}",
                self.full_shape
            )));
        }
        let pick = |v: &[Vec<usize>]| perm.iter().map(|&p| v[p].clone()).collect();
        let full_shape: Vec<usize> = perm.iter().map(|&p| self.full_shape[p]).collect();
        Ok(Self {
            shape: full_shape.clone(),
            full_shape,
            keep: vec![true; nd],
            pieces: self
                .pieces
                .iter()
                .map(|q| Piece {
                    block: q.block,
                    local: pick(&q.local),
                    out: pick(&q.out),
                })
                .collect(),
        })
    }

    /// The pieces, one per touched block.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Takes a piece's local indices from its block (the block of `piece.block`).
    pub fn gather<T: Scalar>(piece: &Piece, block: &Block<T>) -> Result<Block<T>> {
        let shape = block.shape();
        if piece.local.len() != shape.len() {
            return Err(Error::DimensionMismatch(format!(
                "a {}-d index piece for a block of shape {shape:?}",
                piece.local.len()
            )));
        }
        for (d, l) in piece.local.iter().enumerate() {
            if l.iter().any(|&i| i >= shape.get(d).copied().unwrap_or(0)) {
                return Err(Error::DimensionMismatch(format!(
                    "index piece does not fit a block of shape {shape:?}"
                )));
            }
        }
        match block {
            Block::Dense(a) => {
                // Runs are sliced (no copy), the other dimensions selected, one copy made.
                let mut v = a.view();
                for (d, l) in piece.local.iter().enumerate() {
                    if let Some(r) = run(l) {
                        v.slice_axis_inplace(Axis(d), ndarray::Slice::from(r));
                    }
                }
                let mut picked: Option<ArrayD<T>> = None;
                for (d, l) in piece.local.iter().enumerate() {
                    if run(l).is_none() {
                        let cur = picked.as_ref().map_or(v.view(), |p| p.view());
                        picked = Some(cur.select(Axis(d), l));
                    }
                }
                Ok(Block::Dense(match picked {
                    Some(p) => p,
                    None => v.as_standard_layout().into_owned(),
                }))
            }
            _ => {
                // Each local index may be wanted at several positions.
                let maps: Vec<HashMap<usize, Vec<usize>>> = piece
                    .local
                    .iter()
                    .map(|l| {
                        let mut m: HashMap<usize, Vec<usize>> = HashMap::new();
                        for (k, &i) in l.iter().enumerate() {
                            m.entry(i).or_default().push(k);
                        }
                        m
                    })
                    .collect();
                let mut entries = Vec::new();
                for (idx, v) in block.triplets() {
                    let mut outs: Vec<Vec<usize>> = vec![vec![]];
                    for (d, &i) in idx.iter().enumerate() {
                        let Some(ks) = maps[d].get(&i) else {
                            outs.clear();
                            break;
                        };
                        outs = outs
                            .into_iter()
                            .flat_map(|o| {
                                ks.iter().map(move |&k| {
                                    let mut o = o.clone();
                                    o.push(k);
                                    o
                                })
                            })
                            .collect();
                    }
                    entries.extend(outs.into_iter().map(|o| (o, v)));
                }
                let pshape: Vec<usize> = piece.local.iter().map(Vec::len).collect();
                sparse_from_entries(&pshape, entries)
            }
        }
    }

    /// Assembles gathered parts (in [`pieces`](Self::pieces) order) into the result: sparse if
    /// every part is sparse and the result is 1-D or 2-D, dense otherwise.
    pub fn assemble<T: Scalar>(&self, parts: &[Block<T>]) -> Result<Block<T>> {
        if parts.len() != self.pieces.len() {
            return Err(Error::DimensionMismatch(format!(
                "{} parts for {} index pieces",
                parts.len(),
                self.pieces.len()
            )));
        }
        // Every part must have its piece's shape and land inside the result (a plan may
        // come from another process).
        let fits = |v: &Vec<usize>, n: usize| v.iter().all(|&o| o < n);
        let kept: Vec<usize> = self
            .full_shape
            .iter()
            .zip(&self.keep)
            .filter(|&(_, &k)| k)
            .map(|(&n, _)| n)
            .collect();
        let ok = self.full_shape.len() == self.keep.len()
            && kept == self.shape
            && self.pieces.iter().zip(parts).all(|(p, part)| {
                let want: Vec<usize> = p.local.iter().map(Vec::len).collect();
                part.shape() == want
                    && p.out.len() == self.full_shape.len()
                    && p.out.iter().zip(&p.local).all(|(o, l)| o.len() == l.len())
                    && p.out.iter().zip(&self.full_shape).all(|(o, &n)| fits(o, n))
            });
        if !ok {
            return Err(Error::DimensionMismatch(
                "index parts do not match their plan".into(),
            ));
        }
        let all_sparse = !parts.is_empty() && parts.iter().all(|b| !matches!(b, Block::Dense(_)));
        if all_sparse && (1..=2).contains(&self.shape.len()) {
            let mut entries = Vec::new();
            for (p, part) in self.pieces.iter().zip(parts) {
                for (idx, v) in part.triplets() {
                    let o: Vec<usize> = idx
                        .iter()
                        .enumerate()
                        .filter(|(d, _)| self.keep[*d])
                        .map(|(d, &k)| p.out[d][k])
                        .collect();
                    entries.push((o, v));
                }
            }
            return sparse_from_entries(&self.shape, entries);
        }
        let mut out = ArrayD::from_elem(IxDyn(&self.full_shape), T::zero());
        for (p, part) in self.pieces.iter().zip(parts) {
            let dense;
            let d = match part {
                Block::Dense(a) => a.view(),
                other => {
                    dense = other.to_dense();
                    dense.view()
                }
            };
            let runs: Option<Vec<Range<usize>>> = p.out.iter().map(|o| run(o)).collect();
            if let Some(runs) = runs {
                // Every dimension a run: one slice assignment.
                let mut dst = out.view_mut();
                for (dd, r) in runs.into_iter().enumerate() {
                    dst.slice_axis_inplace(Axis(dd), ndarray::Slice::from(r));
                }
                dst.assign(&d);
                continue;
            }
            for (idx, &v) in d.indexed_iter() {
                let o: Vec<usize> = idx
                    .slice()
                    .iter()
                    .enumerate()
                    .map(|(dd, &k)| p.out[dd][k])
                    .collect();
                out[IxDyn(&o)] = v;
            }
        }
        let out = out
            .into_shape_with_order(IxDyn(&self.shape))
            .map_err(|e| Error::DimensionMismatch(format!("index result: {e}")))?;
        Ok(Block::Dense(out))
    }

    /// Plans, gathers and assembles in one go over all blocks in memory.
    pub fn apply<T: Scalar>(&self, blocks: &[Block<T>]) -> Result<Block<T>> {
        let parts = self
            .pieces
            .iter()
            .map(|p| {
                let b = blocks
                    .get(p.block)
                    .ok_or_else(|| Error::DimensionMismatch(format!("no block {}", p.block)))?;
                Self::gather(p, b)
            })
            .collect::<Result<Vec<_>>>()?;
        self.assemble(&parts)
    }
}
