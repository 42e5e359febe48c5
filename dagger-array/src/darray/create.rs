//! Creating a [`DArray`]: constant and random arrays (one creation kernel per block, so
//! the blocks are made where their tasks run) and distributing a whole array.

use super::{default_nprocs, DArray};
use crate::block::{Block, Kind};
use crate::element::Element;
use crate::graph::{kernel_node, Node};
use crate::grid::BlockGrid;
use crate::kernel::named::Kernel;
use crate::mem::held;
use crate::names::{intern, or_named};
use dagger_core::{Error, Options, Partitioning, Result};
use ndarray::ArrayD;
use rand::distributions::{Distribution, Standard};
use rand_distr::StandardNormal;

impl<T: Element> DArray<T> {
    /// An array whose block `i` of shape `s` is made by the kernel `make(s, i)`.
    fn alloc(
        part: &dyn Partitioning,
        shape: &[usize],
        kind: Kind,
        make: impl Fn(Vec<usize>, usize) -> Kernel<T>,
    ) -> Result<Self> {
        let grid = BlockGrid::new(shape, part, default_nprocs())?;
        Ok(Self::from_fn(grid, kind, |i, s| {
            kernel_node(Options::new(), make(s, i), &[])
        }))
    }

    /// An array of ones (the reference's `ones(Blocks(..), dims...)`).
    pub fn ones(part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::fill(T::one(), part, shape)
    }

    /// An array of zeros.
    pub fn zeros(part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::fill(T::zero(), part, shape)
    }

    /// An array filled with `v`.
    pub fn fill(v: T, part: &dyn Partitioning, shape: &[usize]) -> Result<Self> {
        Self::alloc(part, shape, Kind::Dense, move |shape, _| Kernel::Fill {
            shape,
            value: v,
        })
    }

    /// Uniform random values (`[0, 1)` for floats); every call draws a new seed.
    pub fn rand(part: &dyn Partitioning, shape: &[usize]) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::rand_seeded(part, shape, rand::random::<u64>())
    }

    /// Uniform random values from `seed` (block `i` uses stream `i`: reproducible anywhere).
    pub fn rand_seeded(part: &dyn Partitioning, shape: &[usize], seed: u64) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::alloc(part, shape, Kind::Dense, move |shape, block| Kernel::Rand {
            shape,
            seed,
            block,
        })
    }

    /// Standard normal values; every call draws a new seed.
    pub fn randn(part: &dyn Partitioning, shape: &[usize]) -> Result<Self>
    where
        StandardNormal: Distribution<T>,
    {
        Self::randn_seeded(part, shape, rand::random::<u64>())
    }

    /// Standard normal values from `seed`.
    pub fn randn_seeded(part: &dyn Partitioning, shape: &[usize], seed: u64) -> Result<Self>
    where
        StandardNormal: Distribution<T>,
    {
        Self::alloc(part, shape, Kind::Dense, move |shape, block| {
            Kernel::Randn { shape, seed, block }
        })
    }

    /// A sparse random matrix (2-D shape) or vector (1-D) with the given density.
    pub fn sprand(part: &dyn Partitioning, shape: &[usize], density: f64) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        Self::sprand_seeded(part, shape, density, rand::random::<u64>())
    }

    /// [`DArray::sprand`] from `seed`.
    pub fn sprand_seeded(
        part: &dyn Partitioning,
        shape: &[usize],
        density: f64,
        seed: u64,
    ) -> Result<Self>
    where
        Standard: Distribution<T>,
    {
        if !(0.0..=1.0).contains(&density) || !(1..=2).contains(&shape.len()) {
            return Err(Error::Argument(format!(
                "sprand: needs a 1-D or 2-D shape and a density in [0, 1], got {shape:?} and {density}"
            )));
        }
        Self::alloc(part, shape, Kind::Sparse, move |shape, block| {
            Kernel::Sprand {
                shape,
                density,
                seed,
                block,
            }
        })
    }

    /// Cuts a whole array (dense or sparse) into blocks (the reference's
    /// `Distribute(Blocks(..), a)`).
    pub fn distribute(whole: Block<T>, part: &dyn Partitioning) -> Result<Self> {
        Self::distribute_with(whole, part, |_| Options::new())
    }

    /// [`DArray::distribute`] with the options of block `i`'s task (its scope: see
    /// the crate's `assign` module).
    pub(crate) fn distribute_with(
        whole: Block<T>,
        part: &dyn Partitioning,
        opts: impl Fn(usize) -> Options,
    ) -> Result<Self> {
        let grid = BlockGrid::new(&whole.shape(), part, default_nprocs())?;
        let kind = whole.kind();
        let blocks = crate::dist::distribute(&whole, &grid)?;
        let mut it = blocks.into_iter().map(held);
        Ok(Self::from_fn(grid, kind, |i, _| {
            let b = it.next();
            Node::task0(or_named(opts(i), || intern("distribute")), move || {
                b.clone()
                    .ok_or_else(|| Error::Argument("distribute: missing block".into()))
            })
        }))
    }

    /// [`DArray::distribute`] of a dense ndarray.
    pub fn from_array(a: ArrayD<T>, part: &dyn Partitioning) -> Result<Self> {
        Self::distribute(Block::Dense(a), part)
    }
}
