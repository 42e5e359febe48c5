//! Reductions of a [`DArray`]: whole-array (`sum`, `prod`, `minimum`, `maximum`, `extrema`,
//! `mean`, `var`, `std`, `reduce`, `mapreduce`) as one partial per block plus a pairwise tree,
//! and along a dimension (`reduce_dim`) as distributed arrays. A reduction over an
//! element-wise chain is fused: each block's partial is folded straight from the chain's
//! leaves (see [`crate::fuse`]).

use crate::block::{Block, Kind};
use crate::darray::lazy::{gather, tree};
use crate::darray::{DArray, Lazy};
use crate::element::Element;
use crate::graph::{kernel_node, moments_node, partial_node, Node};
use crate::kernel::named::Kernel;
use crate::mem::BlockValue;
use crate::names::named;
use crate::reduce::{self, ReduceOp};
use dagger_core::{Error, Options, Result};
use ndarray::ArrayD;
use std::sync::Arc;

fn empty() -> Error {
    Error::Argument("reducing over an empty collection is not allowed".into())
}

impl<T: Element> DArray<T> {
    fn partials(&self, op: ReduceOp) -> Vec<Node<Result<Option<T>>>> {
        self.blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let unfused = partial_node(Kernel::Reduce(op), std::slice::from_ref(b));
                match &self.ew {
                    Some(ew) => Node::switch(ew.reduce_block(i, op), unfused),
                    None => unfused,
                }
            })
            .collect()
    }

    fn reduce_op(&self, op: ReduceOp) -> Lazy<T> {
        let root = tree(self.partials(op), move |a: Option<T>, b: Option<T>| {
            Ok(reduce::combine(&[a, b], &|x, y| op.apply(x, y)))
        });
        let node = match root {
            Some(r) => Node::task1("finish", &r, move |v: Result<Option<T>>| {
                reduce::finish(&[v?], op)
            }),
            None => Node::task0(named("finish"), move || reduce::finish(&[], op)),
        };
        Lazy { node }
    }

    /// The sum of all elements.
    pub fn sum(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Sum)
    }

    /// The product of all elements.
    pub fn prod(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Prod)
    }

    /// The smallest element (an error for an empty array; NaN propagates).
    pub fn minimum(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Min)
    }

    /// The largest element.
    pub fn maximum(&self) -> Lazy<T> {
        self.reduce_op(ReduceOp::Max)
    }

    /// `(minimum, maximum)` in one pass over the blocks.
    pub fn extrema(&self) -> Lazy<(T, T)> {
        // The partials are registered kernels (they run where the blocks are); only the
        // numbers meet in the driver.
        let parts: Vec<_> = self
            .blocks
            .iter()
            .map(|b| {
                let b = std::slice::from_ref(b);
                let lo = partial_node(Kernel::Reduce(ReduceOp::Min), b);
                let hi = partial_node(Kernel::Reduce(ReduceOp::Max), b);
                Node::task2(
                    "extrema partial",
                    &lo,
                    &hi,
                    |lo: Result<Option<T>>, hi: Result<Option<T>>| Ok(lo?.zip(hi?)),
                )
            })
            .collect();
        let root = tree(parts, |a: Option<(T, T)>, b: Option<(T, T)>| {
            Ok(match (a, b) {
                (Some(a), Some(b)) => {
                    Some((ReduceOp::Min.apply(a.0, b.0), ReduceOp::Max.apply(a.1, b.1)))
                }
                (a, b) => a.or(b),
            })
        });
        let node = match root {
            Some(r) => Node::task1("finish", &r, |v: Result<Option<(T, T)>>| {
                v?.ok_or_else(empty)
            }),
            None => Node::task0(named("finish"), || Err(empty())),
        };
        Lazy { node }
    }

    /// The mean of all elements, as `f64`.
    pub fn mean(&self) -> Lazy<f64> {
        let n = self.len();
        self.sum()
            .then(move |s| reduce::mean_from_sums(&[Some(s)], n))
    }

    /// The variance of all elements as `f64` (`corrected`: divide by `n - 1`, Julia's
    /// default; else by `n`). Each block's count, mean and squared deviations about its own
    /// mean come from a registered kernel (where the block lives); the driver combines them
    /// pairwise (Chan et al.), which is as stable as two passes over the whole array.
    pub fn var(&self, corrected: bool) -> Lazy<f64> {
        let n = self.len();
        let parts: Vec<_> = self.blocks.iter().map(moments_node).collect();
        let all = gather(&parts);
        let node = Node::task1(
            "var",
            &all,
            move |v: Result<Vec<crate::kernel::named::Moments>>| {
                let ss = v?
                    .into_iter()
                    .fold((0, 0.0, 0.0), crate::kernel::interpret::combine_moments)
                    .2;
                let d = if corrected { n.saturating_sub(1) } else { n };
                if n == 0 {
                    return Err(empty());
                }
                Ok(if d == 0 { f64::NAN } else { ss / d as f64 })
            },
        );
        Lazy { node }
    }

    /// The standard deviation (`sqrt(var)`).
    pub fn std(&self, corrected: bool) -> Lazy<f64> {
        self.var(corrected).then(|v| Ok(v.sqrt()))
    }

    /// Reduces all elements with an associative `f` (`reduce(f, c)`); an error if empty.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> Lazy<T> {
        let f = Arc::new(f);
        let parts = self
            .blocks
            .iter()
            .map(|b| {
                let f = f.clone();
                Node::task1("reduce partial", b, move |v: BlockValue<T>| {
                    Ok(reduce::reduce_block(&**v?, |x, y| f(x, y)))
                })
            })
            .collect();
        let g = f.clone();
        let root = tree(parts, move |a: Option<T>, b: Option<T>| {
            Ok(reduce::combine(&[a, b], &|x, y| g(x, y)))
        });
        let node = match root {
            Some(r) => Node::task1("finish", &r, |v: Result<Option<T>>| v?.ok_or_else(empty)),
            None => Node::task0(named("finish"), || Err(empty())),
        };
        Lazy { node }
    }

    /// `reduce(op, map(f, c))` with an optional initial value (`mapreduce(f, op, c; init)`).
    pub fn mapreduce(
        &self,
        f: impl Fn(T) -> T + Send + Sync + 'static,
        op: impl Fn(T, T) -> T + Send + Sync + 'static,
        init: Option<T>,
    ) -> Lazy<T> {
        let op = Arc::new(op);
        let g = op.clone();
        let r = self.map(f).reduce(move |a, b| g(a, b));
        match init {
            None => r,
            Some(i) => r.then(move |v| Ok(op(i, v))),
        }
    }

    /// A built-in reduction along dimension `dim` (kept with length 1): a distributed array.
    pub fn reduce_dim(&self, op: ReduceOp, dim: usize) -> Result<DArray<T>> {
        if dim >= self.grid().ndim() {
            return Err(Error::Argument(format!(
                "dimension {dim} out of range for a {}-d array",
                self.grid().ndim()
            )));
        }
        let g = self.grid().clone();
        let og = g.reduced(dim);
        let mut lines: Vec<Vec<Node<BlockValue<T>>>> = vec![Vec::new(); og.num_blocks()];
        for (c, b) in g.iter_coords().zip(&self.blocks) {
            let part = kernel_node(
                Options::new(),
                Kernel::ReduceAxis { dim, op },
                std::slice::from_ref(b),
            );
            let mut oc = c.clone();
            oc[dim] = 0;
            lines[og.block_linear(&oc)].push(part);
        }
        // Each line's partials merge pairwise (a balanced tree of registered kernels).
        let blocks = lines
            .into_iter()
            .map(|mut level| {
                while level.len() > 1 {
                    level = level
                        .chunks(2)
                        .map(|pair| match pair {
                            [a, b] => kernel_node(
                                Options::new(),
                                Kernel::CombineAxis(op),
                                &[a.clone(), b.clone()],
                            ),
                            _ => pair[0].clone(),
                        })
                        .collect();
                }
                level.pop().unwrap_or_else(|| {
                    Node::task0(named("finish"), || {
                        Err(Error::Argument("empty reduction".into()))
                    })
                })
            })
            .collect();
        Ok(DArray::from_blocks(og, Kind::Dense, blocks))
    }

    /// The sum along `dim`.
    pub fn sum_dim(&self, dim: usize) -> Result<DArray<T>> {
        self.reduce_dim(ReduceOp::Sum, dim)
    }

    /// `f` applied to each whole block (`reduceblock(f, c)`): the results in the grid's shape.
    pub fn reduceblock<R: Clone + Send + Sync + 'static>(
        &self,
        f: impl Fn(&Block<T>) -> R + Send + Sync + 'static,
    ) -> Lazy<ArrayD<R>> {
        let f = Arc::new(f);
        let parts: Vec<_> = self
            .blocks
            .iter()
            .map(|b| {
                let f = f.clone();
                Node::task1("reduceblock", b, move |v: BlockValue<T>| Ok(f(&**v?)))
            })
            .collect();
        let all = gather(&parts);
        let shape = self.grid().grid_shape();
        let node = Node::task1("reduceblock assemble", &all, move |v: Result<Vec<R>>| {
            ArrayD::from_shape_vec(shape.clone(), v?)
                .map_err(|e| Error::DimensionMismatch(format!("reduceblock: {e}")))
        });
        Lazy { node }
    }
}
