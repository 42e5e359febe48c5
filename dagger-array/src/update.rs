//! In-place updates of a [`DArray`] (Dagger.jl's `fill!`, `map!`, `rand!`, `randn!`,
//! `A .+= B`, `A .= f.(B, C)`, `copyto!` and `mul!`).
//!
//! An update rebinds the array to a new version of its blocks: block `i`'s new version is
//! a task that reads what it needs of the old version (and of the other operands) and is
//! ordered after it, so a program of updates gives what running them one after another
//! gives, as a datadeps region does, while readers of an old version (an earlier clone)
//! keep seeing it. Whole-block writes need no more than that: a write after a read cannot
//! clobber what the read sees. The old blocks are freed when nothing reads them any more.
//!
//! On a computed array ([`DArray::compute`]) an overwrite (`fill_assign`, `rand_assign`,
//! `randn_assign`) runs where the block it replaces lives, like a datadeps writer: on a
//! cluster the new block is made on the worker that held the old one, and nothing crosses
//! the network (if that worker is gone, the block's task fails with `WorkerLost`).
//!
//! ```
//! use dagger_array::{ArithOp, Blocks, DArray};
//! use dagger_sched::Context;
//! let ctx = Context::local();
//! let part = Blocks::new([2, 2]).unwrap();
//! let mut a = DArray::<f64>::ones(&part, &[3, 3]).unwrap();
//! let b = DArray::<f64>::fill(2.0, &part, &[3, 3]).unwrap();
//! a.arith_assign(&b, ArithOp::Add).unwrap(); // a .+= b
//! a.map_assign(|x| x * x); // map!(x -> x^2, a, a)
//! let mut c = DArray::<f64>::zeros(&part, &[3, 3]).unwrap();
//! DArray::mul_into(&mut c, &a, &b, 0.5, 0.0).unwrap(); // mul!(c, a, b, 0.5, 0)
//! assert_eq!(c.collect_dense(&ctx).unwrap()[[0, 0]], 0.5 * 3.0 * 9.0 * 2.0);
//! ```

use crate::block::Kind;
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::{kernel_node, Node};
use crate::kernel::named::Kernel;
use crate::linalg::LinalgElement;
use crate::mem::BlockValue;
use crate::ops::{ArithOp, Side};
use dagger_core::{Error, Options, Result, Scope, WorkerId};
use rand::distributions::{Distribution, Standard};
use rand_distr::StandardNormal;

impl<T: Element> DArray<T> {
    /// Where each block of a computed array lives (`None` for a lazy array).
    pub(crate) fn owners(&self) -> Option<Vec<WorkerId>> {
        self.chunks
            .as_ref()
            .map(|cs| cs.iter().map(|c| c.owner()).collect())
    }

    /// Rebinds `self` to `new`, its updated value: on a computed array each fused block
    /// task of `new` (a registered kernel) is scoped to where the block it replaces lives,
    /// so the update runs there, reads the old block in place, fetches only the other
    /// operands' blocks, and leaves the new block on the same worker.
    fn in_place(&mut self, mut new: DArray<T>) {
        if let (Some(owners), Some(ew)) = (self.owners(), new.ew.clone()) {
            for (i, b) in new.blocks.iter_mut().enumerate() {
                let opts = Options::new().scope(Scope::Process(owners[i]));
                *b = Node::switch(ew.block_with(i, opts), b.clone());
            }
        }
        *self = new;
    }

    /// Replaces every block with the kernel `make(shape, i)`, which ignores the old values.
    /// On a computed array the new block is made by the process that holds the old one.
    fn overwrite(&mut self, kind: Kind, make: impl Fn(Vec<usize>, usize) -> Kernel<T>) {
        let grid = self.grid().clone();
        let owners = self.owners();
        let blocks: Vec<Node<BlockValue<T>>> = (0..grid.num_blocks())
            .map(|i| {
                let opts = match &owners {
                    Some(w) => Options::new().scope(Scope::Process(w[i])),
                    None => Options::new(),
                };
                kernel_node(opts, make(grid.block_shape(&grid.block_coords(i)), i), &[])
            })
            .collect();
        *self = DArray::from_blocks(grid, kind, blocks);
    }

    /// `fill!(A, v)`: every element becomes `v` (a sparse array becomes dense).
    pub fn fill_assign(&mut self, value: T) {
        self.overwrite(Kind::Dense, |shape, _| Kernel::Fill { shape, value });
    }

    /// `rand!(A)` from `seed`: uniform values, block `i` drawn from stream `i` (the values
    /// of [`DArray::rand_seeded`] with the same blocking and seed).
    pub fn rand_assign(&mut self, seed: u64)
    where
        Standard: Distribution<T>,
    {
        self.overwrite(Kind::Dense, |shape, block| Kernel::Rand {
            shape,
            seed,
            block,
        });
    }

    /// `randn!(A)` from `seed`: standard normal values (those of [`DArray::randn_seeded`]).
    pub fn randn_assign(&mut self, seed: u64)
    where
        StandardNormal: Distribution<T>,
    {
        self.overwrite(Kind::Dense, |shape, block| Kernel::Randn {
            shape,
            seed,
            block,
        });
    }

    /// `map!(f, A, A)`: every element `x` becomes `f(x)` (joins the element-wise chain, so
    /// a run of updates is fused into one task per block).
    /// A closure runs in the driver process: on a cluster use
    /// [`DArray::map_registered_assign`], which runs where the blocks live.
    pub fn map_assign(&mut self, f: impl Fn(T) -> T + Send + Sync + 'static) {
        *self = self.map(f);
    }

    /// `A .op= B`: `self` becomes `self op other` (blockings may differ). On a computed
    /// array each block is updated where it lives (`other`'s blocks move to it).
    pub fn arith_assign(&mut self, other: &DArray<T>, op: ArithOp) -> Result<()> {
        let new = self.arith(other, op)?;
        self.in_place(new);
        Ok(())
    }

    /// `A .op= s` (on a computed array, where each block lives).
    pub fn arith_scalar_assign(&mut self, s: T, op: ArithOp) {
        let new = self.arith_scalar(s, op, Side::Right);
        self.in_place(new);
    }

    /// `A .= B` (and `copyto!(A, B)`): `self` takes `other`'s values in its own blocking.
    /// With an expression on the right (`A .= f.(B, C)`: `a.assign_from(&b.zip_with(&c,
    /// f)?)`) the expression is computed block by block into `self`'s blocking.
    pub fn assign_from(&mut self, other: &DArray<T>) -> Result<()> {
        *self = self.copy_from(other)?;
        Ok(())
    }

    /// `A .op= v` (see [`DArray::broadcast_col`]).
    pub fn broadcast_col_assign(&mut self, v: &DArray<T>, op: ArithOp) -> Result<()> {
        let new = self.broadcast_col(v, op)?;
        self.in_place(new);
        Ok(())
    }
}

impl<T: LinalgElement> DArray<T> {
    /// `mul!(C, A, B, alpha, beta)`: `C = alpha·A·B + beta·C`, in `C`'s blocking. With
    /// `beta == 0` the old `C` is not read (a NaN in it does not survive, as in BLAS).
    /// The blockings of the three may differ (see [`DArray::dot`]). Shapes that do not fit give [`Error::DimensionMismatch`] naming all three.
    pub fn mul_into(
        c: &mut DArray<T>,
        a: &DArray<T>,
        b: &DArray<T>,
        alpha: T,
        beta: T,
    ) -> Result<()> {
        let (sa, sb, sc) = (a.shape(), b.shape(), c.shape());
        let fits = sa.len() == 2
            && sb.len() == sc.len()
            && sb[0] == sa[1]
            && sc[0] == sa[0]
            && (sb.len() == 1 || (sb.len() == 2 && sc[1] == sb[1]));
        if !fits {
            return Err(Error::DimensionMismatch(format!(
                "mul!: C {sc:?} = A {sa:?} · B {sb:?} does not fit"
            )));
        }
        // On a computed `C` each product block is computed where `C`'s block lives.
        let owners = c.owners();
        let aligned = b.grid().ndim() == 2
            && b.grid().ranges()[0] == a.grid().ranges()[1]
            && a.grid().matmul(b.grid()).ok().as_ref() == Some(c.grid());
        let mut p = match owners {
            Some(w) if aligned => {
                a.matmul_on(b, &|i| Options::new().scope(Scope::Process(w[i])))?
            }
            _ => a.dot(b)?,
        };
        if alpha != T::one() {
            p = p.arith_scalar(alpha, ArithOp::Mul, Side::Right);
        }
        if beta != T::zero() {
            let old = if beta == T::one() {
                c.clone()
            } else {
                c.arith_scalar(beta, ArithOp::Mul, Side::Right)
            };
            p = p.arith(&old, ArithOp::Add)?;
        }
        if p.grid() == c.grid() {
            // The sum is computed where each block of `C` lives, and stays there.
            c.in_place(p);
            Ok(())
        } else {
            c.assign_from(&p)
        }
    }
}
