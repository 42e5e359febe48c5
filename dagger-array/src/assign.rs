//! Block placement ("assignments", the reference's `distribute(A, Blocks(..), assignment)`):
//! which processor each block of a distributed array is created on.
//!
//! The processors of symbolic assignments are the context's thread processors sorted by
//! `(worker, thread)`. With `p` of them and a block grid of `r` block rows and `c` block
//! columns: `BlockRow` gives each processor a contiguous run of block rows (the first
//! `r mod p` processors one more), `BlockCol` the same for columns, `CyclicRow` deals block
//! rows round-robin, `CyclicCol` block columns. An explicit array of processors (or of worker
//! ids, meaning thread 1 of that worker) is repeated cyclically over the grid: block `I` goes
//! to `assignment[I mod size(assignment)]`.

use crate::block::Block;
use crate::darray::DArray;
use crate::element::Element;
use dagger_core::{
    Error, Options, Partitioning, ProcessorId, ProcessorKind, Result, Scope, WorkerId,
};
use dagger_sched::Context;
use ndarray::{ArrayD, IxDyn};
use std::str::FromStr;

/// Where the blocks of a distributed array are created.
#[derive(Clone, Debug, PartialEq)]
pub enum Assignment {
    /// The scheduler decides (the default).
    Arbitrary,
    /// Contiguous runs of block rows per processor.
    BlockRow,
    /// Contiguous runs of block columns per processor.
    BlockCol,
    /// Block rows dealt round-robin.
    CyclicRow,
    /// Block columns dealt round-robin.
    CyclicCol,
    /// Thread 1 of these workers, repeated cyclically over the block grid.
    Workers(ArrayD<u32>),
    /// These processors, repeated cyclically over the block grid.
    Processors(ArrayD<ProcessorId>),
}

impl FromStr for Assignment {
    type Err = Error;

    /// Parses `:blockrow`, `blockcol`, `:cyclicrow`, `cycliccol` or `arbitrary` (leading colon
    /// optional); anything else is an [`Error::Argument`] naming the symbol.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim_start_matches(':') {
            "arbitrary" => Ok(Self::Arbitrary),
            "blockrow" => Ok(Self::BlockRow),
            "blockcol" => Ok(Self::BlockCol),
            "cyclicrow" => Ok(Self::CyclicRow),
            "cycliccol" => Ok(Self::CyclicCol),
            _ => Err(Error::Argument(format!(
                "Unsupported assignment symbol: {s}"
            ))),
        }
    }
}

/// Which of `p` processors gets item `i` of `n` in contiguous, balanced runs.
fn run_owner(i: usize, n: usize, p: usize) -> usize {
    let (q, r) = (n / p, n % p);
    // The first r owners hold q + 1 items.
    if i < r * (q + 1) {
        i / (q + 1)
    } else {
        r + (i - r * (q + 1)) / q.max(1)
    }
}

impl Assignment {
    /// The processor of each block of a grid of `grid_shape` on `ctx` (`None`: any), in
    /// row-major block order. A processor or worker that `ctx` does not have is an
    /// [`Error::Argument`].
    pub fn placement(
        &self,
        ctx: &Context,
        grid_shape: &[usize],
    ) -> Result<Vec<Option<ProcessorId>>> {
        let mut threads: Vec<ProcessorId> = ctx
            .processors()
            .iter()
            .map(|p| p.id)
            .filter(|p| p.kind == ProcessorKind::Thread)
            .collect();
        threads.sort();
        let n: usize = grid_shape.iter().product();
        let coords = |lin: usize| {
            let mut c = vec![0; grid_shape.len()];
            let mut rest = lin;
            for d in (0..grid_shape.len()).rev() {
                c[d] = rest % grid_shape[d];
                rest /= grid_shape[d];
            }
            c
        };
        let dim = |c: &[usize], d: usize| c.get(d).copied().unwrap_or(0);
        let extent = |d: usize| grid_shape.get(d).copied().unwrap_or(1);
        let p = threads.len().max(1);
        let pick = |k: usize| threads.get(k).copied();
        let cyclic = |arr_shape: &[usize], c: &[usize]| -> Result<Vec<usize>> {
            if arr_shape.len() != c.len() {
                return Err(Error::DimensionMismatch(format!(
                    "a {}-d assignment for a {}-d block grid",
                    arr_shape.len(),
                    c.len()
                )));
            }
            Ok(c.iter()
                .zip(arr_shape)
                .map(|(&i, &m)| i % m.max(1))
                .collect())
        };
        (0..n)
            .map(|lin| {
                let c = coords(lin);
                Ok(match self {
                    Self::Arbitrary => None,
                    Self::BlockRow => pick(run_owner(dim(&c, 0), extent(0), p)),
                    Self::BlockCol => pick(run_owner(dim(&c, 1), extent(1), p)),
                    Self::CyclicRow => pick(dim(&c, 0) % p),
                    Self::CyclicCol => pick(dim(&c, 1) % p),
                    Self::Processors(a) => {
                        let at = cyclic(a.shape(), &c)?;
                        let id = a[IxDyn(&at)];
                        if !ctx.processors().iter().any(|q| q.id == id) {
                            return Err(Error::Argument(format!(
                                "assignment names processor {id}, which this context does not have"
                            )));
                        }
                        Some(id)
                    }
                    Self::Workers(a) => {
                        let at = cyclic(a.shape(), &c)?;
                        let id = ProcessorId::thread(WorkerId(a[IxDyn(&at)]), 1);
                        if !ctx.processors().iter().any(|q| q.id == id) {
                            return Err(Error::Argument(format!(
                                "assignment names worker {}, which this context does not have",
                                a[IxDyn(&at)]
                            )));
                        }
                        Some(id)
                    }
                })
            })
            .collect()
    }
}

impl<T: Element> DArray<T> {
    /// [`DArray::distribute`] with each block created on the processor `assignment` gives it
    /// on `ctx`.
    ///
    /// ```
    /// use dagger_array::{assign::Assignment, Block, Blocks, DArray};
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let a = ndarray::ArrayD::<f64>::zeros(vec![4, 4]);
    /// let d = DArray::distribute_on(&ctx, Block::Dense(a), &Blocks::from([2, 2]), &Assignment::CyclicRow)
    ///     .unwrap()
    ///     .compute(&ctx)
    ///     .unwrap();
    /// let threads: Vec<u32> = d.chunks().unwrap().iter().map(|c| c.processor().index).collect();
    /// assert_eq!(threads, vec![1, 1, 2, 2]);
    /// ```
    pub fn distribute_on(
        ctx: &Context,
        whole: Block<T>,
        part: &dyn Partitioning,
        assignment: &Assignment,
    ) -> Result<Self> {
        let grid =
            crate::grid::BlockGrid::new(&whole.shape(), part, crate::darray::default_nprocs())?;
        let places = assignment.placement(ctx, &grid.grid_shape())?;
        Self::distribute_with(whole, part, |i| match places.get(i).copied().flatten() {
            Some(p) => Options::new().scope(Scope::Exact(p)),
            None => Options::new(),
        })
    }
}
