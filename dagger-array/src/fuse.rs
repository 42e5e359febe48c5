//! Fusion of element-wise chains (issue 11's optimization pass).
//!
//! Every element-wise operation on a dense array records, beside its ordinary one-task-per-
//! block form, an `Ew`: the *leaf* arrays it reads (plain block graphs, possibly through a
//! transposed view) and a tile kernel that computes the result from the leaves. When a
//! computation is lowered with fusion on, each block of such an array becomes one task that
//! runs the whole chain tile by tile (1024 elements at a time, so intermediates stay in cache
//! and are never materialized), and a reduction over the chain folds the tiles directly: one
//! task per block plus the reduction tree. With fusion off, every operation is its own task
//! per block, as written.
//!
//! Fusion applies to element-wise chains of one element type whose leaves are dense; a
//! sparse leaf, a type-changing `map`, or a chain that would read more than [`MAX_LEAVES`]
//! leaves starts a new chain instead (still correct, just not fused across that point).

use crate::element::Element;
use crate::graph::{kernel_node, partial_node, Node};
use crate::kernel::named::Kernel as NamedKernel;
use crate::kernel::program::{fused_block, fused_reduce, Fused, Op, Program};
use crate::mem::{BlockValue, Held};
use crate::names::named;
use crate::ops::{divide_error, ArithOp};
use crate::reduce::ReduceOp;
use dagger_core::{Options, Result};
use std::ops::Range;
use std::sync::Arc;

pub use crate::kernel::program::{Read, TILE};

/// The most leaf arrays one fused chain reads.
pub const MAX_LEAVES: usize = 8;

/// Computes one output tile from the leaves' tiles (all of the same length).
pub(crate) type Kernel<T> = Arc<dyn Fn(&[&[T]], &mut [T]) -> Result<()> + Send + Sync>;

/// One input array of a chain: its block graph in the chain's block order.
#[derive(Clone)]
pub(crate) struct Leaf<T: Element> {
    /// Block `i` of the chain reads `blocks[i]`.
    pub blocks: Vec<Node<BlockValue<T>>>,
    /// Whether the block is read transposed (a lazy `x'`).
    pub transposed: bool,
    /// Per block, the part of the (transposed) block that is read (a lazy `view`); `None`:
    /// all of it.
    pub slices: Option<Vec<Vec<Range<usize>>>>,
}

/// An element-wise chain over leaf arrays.
#[derive(Clone)]
pub(crate) struct Ew<T: Element> {
    pub leaves: Vec<Leaf<T>>,
    pub kernel: Kernel<T>,
    /// The same chain as a serializable program, when every stage is a named operation
    /// (then the fused task is a registered kernel that can run on any process); `None`
    /// once a user closure joined the chain.
    pub prog: Option<Program<T>>,
}

impl<T: Element> Ew<T> {
    /// The identity chain over one array.
    pub(crate) fn leaf(blocks: Vec<Node<BlockValue<T>>>, transposed: bool) -> Self {
        Ew {
            leaves: vec![Leaf {
                blocks,
                transposed,
                slices: None,
            }],
            kernel: Arc::new(|ins: &[&[T]], out: &mut [T]| {
                out.copy_from_slice(ins[0]);
                Ok(())
            }),
            prog: Some(Program::leaf()),
        }
    }

    /// The chain followed by a named stage: `op` is the stage as a program step, `stage`
    /// the same stage as an in-place tile function.
    pub(crate) fn then_named(
        &self,
        op: Op<T>,
        stage: impl Fn(&mut [T]) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        let mut out = self.then(stage);
        out.prog = self.prog.as_ref().map(|p| p.then(op));
        out
    }

    /// The chain followed by an in-place stage on each output tile.
    pub(crate) fn then(
        &self,
        stage: impl Fn(&mut [T]) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        let k = self.kernel.clone();
        Ew {
            leaves: self.leaves.clone(),
            kernel: Arc::new(move |ins, out| {
                k(ins, out)?;
                stage(out)
            }),
            prog: None,
        }
    }

    /// `self op other` element-wise, or `None` when the result would read too many leaves.
    pub(crate) fn zip(&self, other: &Ew<T>, op: ArithOp) -> Option<Self> {
        let n = self.leaves.len();
        if n + other.leaves.len() > MAX_LEAVES {
            return None;
        }
        let (ka, kb) = (self.kernel.clone(), other.kernel.clone());
        let mut leaves = self.leaves.clone();
        leaves.extend(other.leaves.iter().cloned());
        Some(Ew {
            leaves,
            kernel: Arc::new(move |ins, out| {
                ka(&ins[..n], out)?;
                let mut tmp = [T::zero(); TILE];
                let tmp = &mut tmp[..out.len()];
                kb(&ins[n..], tmp)?;
                for (o, &b) in out.iter_mut().zip(tmp.iter()) {
                    *o = T::arith(op, *o, b).ok_or_else(|| divide_error(op))?;
                }
                Ok(())
            }),
            prog: match (&self.prog, &other.prog) {
                (Some(a), Some(b)) => Some(a.zip(b, op, n)),
                _ => None,
            },
        })
    }

    /// The chain read transposed: output block `i` is the chain's block `perm[i]`, every leaf
    /// read through a transposed view (element-wise operations commute with transposition).
    pub(crate) fn transposed(&self, perm: &[usize]) -> Self {
        Ew {
            leaves: self
                .leaves
                .iter()
                .map(|l| Leaf {
                    blocks: perm.iter().map(|&j| l.blocks[j].clone()).collect(),
                    transposed: !l.transposed,
                    slices: l.slices.as_ref().map(|s| {
                        perm.iter()
                            .map(|&j| s[j].iter().rev().cloned().collect())
                            .collect()
                    }),
                })
                .collect(),
            kernel: self.kernel.clone(),
            prog: self.prog.clone(),
        }
    }

    /// The chain read through a view: output block `i` is the part `local[i]` (ranges in
    /// the chain's block coordinates) of the chain's block `src[i]`.
    pub(crate) fn sliced(&self, src: &[usize], local: &[Vec<Range<usize>>]) -> Self {
        Ew {
            leaves: self
                .leaves
                .iter()
                .map(|l| Leaf {
                    blocks: src.iter().map(|&j| l.blocks[j].clone()).collect(),
                    transposed: l.transposed,
                    slices: Some(
                        src.iter()
                            .zip(local)
                            .map(|(&j, r)| match &l.slices {
                                None => r.clone(),
                                Some(s) => s[j]
                                    .iter()
                                    .zip(r)
                                    .map(|(o, r)| o.start + r.start..o.start + r.end)
                                    .collect(),
                            })
                            .collect(),
                    ),
                })
                .collect(),
            kernel: self.kernel.clone(),
            prog: self.prog.clone(),
        }
    }

    fn inputs(&self, i: usize) -> (Vec<Node<BlockValue<T>>>, Vec<Read>) {
        self.leaves
            .iter()
            .map(|l| {
                let slice = l.slices.as_ref().map(|s| s[i].clone());
                (l.blocks[i].clone(), (l.transposed, slice))
            })
            .unzip()
    }

    /// Block `i` of the chain as one task: a registered kernel when the chain is a program
    /// of named operations, else a closure (run in the driver process).
    pub(crate) fn block(&self, i: usize) -> Node<BlockValue<T>> {
        self.block_with(i, Options::new())
    }

    /// [`Ew::block`] with the options of its task when it is a registered kernel (an
    /// in-place update scopes it to where the block it replaces lives); a closure chain
    /// ignores them (it runs in the driver).
    pub(crate) fn block_with(&self, i: usize, opts: Options) -> Node<BlockValue<T>> {
        let (ins, flags) = self.inputs(i);
        if let Some(prog) = &self.prog {
            let f = Fused {
                prog: prog.clone(),
                reads: flags,
            };
            return kernel_node(opts, NamedKernel::Fused(f), &ins);
        }
        let k = self.kernel.clone();
        Node::task_all(named("fused(map)"), &ins, move |vs| {
            let vs = vs.into_iter().collect::<Result<Vec<_>>>()?;
            Ok(Arc::new(Held::new(fused_block(&vs, &flags, |i, o| {
                k(i, o)
            })?)))
        })
    }

    /// The reduction `op` of block `i` of the chain, folded tile by tile.
    pub(crate) fn reduce_block(&self, i: usize, op: ReduceOp) -> Node<Result<Option<T>>> {
        let (ins, flags) = self.inputs(i);
        if let Some(prog) = &self.prog {
            let f = Fused {
                prog: prog.clone(),
                reads: flags,
            };
            return partial_node(NamedKernel::FusedReduce(f, op), &ins);
        }
        let k = self.kernel.clone();
        let name = match op {
            ReduceOp::Sum => "fused(map sum)",
            ReduceOp::Prod => "fused(map prod)",
            ReduceOp::Min => "fused(map minimum)",
            ReduceOp::Max => "fused(map maximum)",
        };
        Node::task_all(named(name), &ins, move |vs| {
            let vs = vs.into_iter().collect::<Result<Vec<_>>>()?;
            fused_reduce(&vs, &flags, op, |i, o| k(i, o))
        })
    }
}
