//! Stencils on a [`DArray`] (Dagger.jl's `@stencil` and `@neighbors`): every element of
//! the result is a function of the source's neighbourhood of a given radius, read past the
//! array's edges by a [`Boundary`].
//!
//! Each output block is one task. It reads its own source block whole and, from each
//! neighbouring block its halo touches, only the strip it needs: on a cluster that strip is
//! cut by a registered task where its block lives (so only strips cross the network), and
//! on a computed array the stencil task runs where its own block lives, so iterating a
//! stencil keeps every block on its worker. A radius wider than a block reads strips of
//! several neighbours. The weighted form ([`Taps`]) is a registered kernel and runs on any
//! process; the closure form ([`DArray::stencil_map`]) runs in the driver.
//!
//! Several statements run in order with [`run_statements`]: each reads the arrays as they
//! were when it started (so reading the array it writes sees a snapshot) and completes
//! over all blocks before the next one's reads.
//!
//! ```
//! use dagger_array::halo::{Boundary, Taps};
//! use dagger_array::{Blocks, DArray};
//! let ctx = dagger_sched::Context::local();
//! let a = DArray::<f64>::ones(&Blocks::new([2, 2]).unwrap(), &[4, 4]).unwrap();
//! let b = a.stencil(&Taps::box_sum(2, 1), &Boundary::Constant(0.0)).unwrap();
//! let got = b.collect_dense(&ctx).unwrap();
//! assert_eq!(got[[0, 0]], 4.0);
//! assert_eq!(got[[0, 1]], 6.0);
//! assert_eq!(got[[1, 1]], 9.0);
//! ```

use crate::block::{Block, Kind};
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::{kernel_node, Node};
use crate::halo::{apply_fn, build_halo, Boundary, HaloPlan, StencilKernel, Taps};
use crate::kernel::named::Kernel;
use crate::mem::{held, BlockValue};
use crate::names::named;
use dagger_core::{Error, Options, Result, Scope, WorkerId};
use dagger_sched::Context;
use ndarray::ArrayViewD;
use std::sync::Arc;

/// One statement of a stencil program: `arrays[target] = taps(arrays[source])`.
#[derive(Clone, Debug)]
pub struct Statement<T> {
    /// The array written.
    pub target: usize,
    /// The array read.
    pub source: usize,
    /// The stencil.
    pub taps: Taps<T>,
    /// What is read outside the array.
    pub boundary: Boundary<T>,
}

impl<T: Element> DArray<T> {
    /// Options placing block `i`'s task where block `i` lives (computed arrays only).
    fn owner_opts(&self, owners: &Option<Vec<WorkerId>>, i: usize) -> Options {
        match owners {
            Some(w) => Options::new().scope(Scope::Process(w[i])),
            None => Options::new(),
        }
    }

    /// The halo plans of every block, checking the radius (one per dimension, or one for
    /// all): a radius that is not smaller than the array along a dimension with a `Wrap`,
    /// `Reflect` or `Mirror` boundary is allowed (indices wrap or reflect again).
    fn halo_plans(&self, radius: &[usize], boundary: &Boundary<T>) -> Result<Vec<HaloPlan>> {
        let g = self.grid();
        if g.ndim() == 0 {
            return Err(Error::Argument(
                "a stencil needs an array of at least one dimension".into(),
            ));
        }
        g.iter_coords()
            .map(|c| HaloPlan::new(g, &c, radius, boundary))
            .collect()
    }

    /// `B[i] = Σ w · A[i + offset]` over the taps, reading past the edges by `boundary`:
    /// one registered block task per block (see the module docs for what moves). An
    /// offset of the wrong length is an [`Error::DimensionMismatch`].
    pub fn stencil(&self, taps: &Taps<T>, boundary: &Boundary<T>) -> Result<DArray<T>> {
        let radius = taps.radius(self.grid().ndim())?;
        if self.is_empty() {
            return Ok(self.clone());
        }
        let plans = self.halo_plans(&radius, boundary)?;
        let owners = self.owners();
        let pad = match boundary {
            Boundary::Constant(v) => Some(*v),
            _ => None,
        };
        let blocks = plans
            .into_iter()
            .enumerate()
            .map(|(i, halo)| {
                let opts = self.owner_opts(&owners, i);
                let pieces = halo.plan.pieces().to_vec();
                let srcs: Vec<_> = pieces
                    .iter()
                    .map(|p| self.blocks[p.block].clone())
                    .collect();
                let kernel = |gathered: Vec<bool>| {
                    Kernel::Stencil(Box::new(StencilKernel {
                        halo: halo.clone(),
                        gathered,
                        pad,
                        taps: taps.clone(),
                    }))
                };
                // In one process: the whole source blocks, cut in the stencil task.
                let local = kernel_node(Options::new(), kernel(vec![false; pieces.len()]), &srcs);
                // On a cluster: every strip of another block cut where that block lives.
                let ins: Vec<_> = pieces
                    .iter()
                    .zip(&srcs)
                    .map(|(p, s)| {
                        if p.block == i {
                            s.clone()
                        } else {
                            kernel_node(
                                self.owner_opts(&owners, p.block),
                                Kernel::Gather(p.clone()),
                                std::slice::from_ref(s),
                            )
                        }
                    })
                    .collect();
                let gathered = pieces.iter().map(|p| p.block != i).collect();
                let cluster = kernel_node(opts, kernel(gathered), &ins);
                Node::placed(cluster, local)
            })
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
    }

    /// `B[i] = f(neighbourhood of A[i])`: `f` sees the `2r+1`-wide view around each
    /// element (the element itself at `[r, …]`), read past the edges by `boundary`;
    /// `radius` gives one radius per dimension. One closure task per block in this
    /// process, on the whole source blocks its halo touches.
    pub fn stencil_map(
        &self,
        radius: &[usize],
        boundary: &Boundary<T>,
        f: impl Fn(ArrayViewD<'_, T>) -> T + Send + Sync + 'static,
    ) -> Result<DArray<T>> {
        if radius.len() != self.grid().ndim() {
            return Err(Error::DimensionMismatch(format!(
                "a radius for {} dimensions on a {}-dimensional array",
                radius.len(),
                self.grid().ndim()
            )));
        }
        if self.is_empty() {
            return Ok(self.clone());
        }
        let plans = self.halo_plans(radius, boundary)?;
        let pad = match boundary {
            Boundary::Constant(v) => Some(*v),
            _ => None,
        };
        let f = Arc::new(f);
        let blocks = plans
            .into_iter()
            .map(|halo| {
                let srcs: Vec<_> = halo
                    .plan
                    .pieces()
                    .iter()
                    .map(|p| self.blocks[p.block].clone())
                    .collect();
                let f = f.clone();
                Node::task_all(named("stencil"), &srcs, move |vs: Vec<BlockValue<T>>| {
                    let vs = vs.into_iter().collect::<Result<Vec<_>>>()?;
                    let bs: Vec<&Block<T>> = vs.iter().map(|h| &***h).collect();
                    let cut = vec![false; bs.len()];
                    let a = build_halo(&halo, &bs, &cut, pad)?;
                    Ok(held(Block::Dense(apply_fn(&a, &halo.radius, &*f)?)))
                })
            })
            .collect();
        Ok(DArray::from_blocks(
            self.grid().clone(),
            Kind::Dense,
            blocks,
        ))
    }

    /// `k` steps of `A = taps(A)`, each step computed over all blocks before the next
    /// begins; a step's tasks run where the previous step's blocks live.
    pub fn stencil_steps(
        &self,
        ctx: &Context,
        k: usize,
        taps: &Taps<T>,
        boundary: &Boundary<T>,
    ) -> Result<DArray<T>> {
        let mut a = self.compute(ctx)?;
        for _ in 0..k {
            a = a.stencil(taps, boundary)?.compute(ctx)?;
        }
        Ok(a)
    }
}

/// Runs the statements in order: statement `k` reads `arrays[source]` as it was after
/// statement `k - 1` (a snapshot, also when it writes the same array) and rebinds
/// `arrays[target]` to the result, computed over all blocks before statement `k + 1`. An
/// array number out of range is an [`Error::Argument`], arrays of different shapes an
/// [`Error::DimensionMismatch`].
///
/// ```
/// use dagger_array::halo::{Boundary, Taps};
/// use dagger_array::stencil::{run_statements, Statement};
/// use dagger_array::{Blocks, DArray};
/// let ctx = dagger_sched::Context::local();
/// let mut arrays = vec![DArray::<f64>::ones(&Blocks::new([1, 1]).unwrap(), &[2, 2]).unwrap()];
/// let sum = Statement { target: 0, source: 0, taps: Taps::box_sum(2, 1), boundary: Boundary::Wrap };
/// run_statements(&ctx, &mut arrays, &[sum]).unwrap();
/// assert!(arrays[0].collect_dense(&ctx).unwrap().iter().all(|&v| v == 9.0));
/// ```
pub fn run_statements<T: Element>(
    ctx: &Context,
    arrays: &mut [DArray<T>],
    stmts: &[Statement<T>],
) -> Result<()> {
    for s in stmts {
        let n = arrays.len();
        if s.target >= n || s.source >= n {
            return Err(Error::Argument(format!(
                "a stencil statement on arrays {} and {} of {n}",
                s.target, s.source
            )));
        }
        if arrays[s.target].shape() != arrays[s.source].shape() {
            return Err(Error::DimensionMismatch(format!(
                "a stencil statement writing a {:?} array from a {:?} one",
                arrays[s.target].shape(),
                arrays[s.source].shape()
            )));
        }
        let next = arrays[s.source]
            .stencil(&s.taps, &s.boundary)?
            .reblock(arrays[s.target].grid())?
            .compute(ctx)?;
        arrays[s.target] = next;
    }
    Ok(())
}
