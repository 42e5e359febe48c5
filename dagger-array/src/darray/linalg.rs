//! Linear algebra on a [`DArray`]: the lazy transpose (which joins a fused chain as a
//! transposed view) and the blocked matrix product, which for `A·Aᵀ` computes only the
//! lower block triangle (the upper blocks are transposes of it, and each diagonal block's
//! kernel computes one triangle of its symmetric partial products).

use super::DArray;
use crate::block::Kind;
use crate::element::Element;
use crate::fuse::Ew;
use crate::graph::{kernel_node, Node};
use crate::kernel::named::Kernel;
use crate::kernel::program::Op;
use crate::linalg::LinalgElement;
use crate::mem::BlockValue;
use dagger_core::{Error, Options, Result};

impl<T: Element> DArray<T> {
    /// The transpose of a matrix (`x'`): block `(i, j)` is the transpose of block `(j, i)`.
    /// A dense transpose joins the element-wise chain: a fused consumer reads the source
    /// blocks through a transposed view.
    pub fn transpose(&self) -> Result<DArray<T>> {
        if self.grid().ndim() != 2 {
            return Err(Error::Argument(format!(
                "transpose of a {}-d array",
                self.grid().ndim()
            )));
        }
        let g = self.grid();
        let tg = g.transposed();
        let perm: Vec<usize> = tg
            .iter_coords()
            .map(|c| g.block_linear(&[c[1], c[0]]))
            .collect();
        let blocks = perm
            .iter()
            .map(|&j| {
                kernel_node(
                    Options::new(),
                    Kernel::Transpose,
                    std::slice::from_ref(&self.blocks[j]),
                )
            })
            .collect();
        let out = DArray::from_blocks(tg, self.meta.kind, blocks);
        let ew = self.chain().map(|c| c.transposed(&perm));
        Ok(out.with_chain(ew))
    }
}

/// A chain that only reads its one leaf (no element-wise stage).
fn plain<T: Element>(e: &Ew<T>) -> bool {
    e.leaves.len() == 1
        && e.prog
            .as_ref()
            .is_some_and(|p| matches!(p.ops.as_slice(), [Op::Leaf(0)]))
}

impl<T: Element> DArray<T> {
    /// Whether `self` is, lazily, `a.transpose()` (what [`DArray::transpose`] makes of `a`):
    /// its chain reads `a`'s chain's leaves through the transposed block order and flags.
    pub(crate) fn is_transpose_of(&self, a: &DArray<T>) -> bool {
        let (Some(t), Some(s)) = (self.ew.as_deref(), a.chain()) else {
            return false;
        };
        let (g, tg) = (a.grid(), self.grid());
        if g.ndim() != 2
            || tg.grid_shape() != g.transposed().grid_shape()
            || self.shape() != [a.shape()[1], a.shape()[0]]
        {
            return false;
        }
        let same_stages = std::sync::Arc::ptr_eq(&t.kernel, &s.kernel) || (plain(t) && plain(&s));
        let perm: Vec<usize> = tg
            .iter_coords()
            .map(|c| g.block_linear(&[c[1], c[0]]))
            .collect();
        same_stages
            && t.leaves.len() == s.leaves.len()
            && t.leaves.iter().zip(&s.leaves).all(|(tl, sl)| {
                tl.transposed != sl.transposed
                    && tl.slices.is_none()
                    && sl.slices.is_none()
                    && tl.blocks.len() == perm.len()
                    && sl.blocks.len() == perm.len()
                    && tl
                        .blocks
                        .iter()
                        .zip(&perm)
                        .all(|(x, &j)| x.id() == sl.blocks[j].id())
            })
    }
}

impl<T: LinalgElement> DArray<T> {
    /// The matrix product `self · other` (matrix × matrix or matrix × vector): block `(i, j)`
    /// accumulates `A[i, k] · B[k, j]` over `k`, one task per partial product. The inner block
    /// splits must agree.
    ///
    /// `A.matmul(&A.transpose())` is symmetric: its blocks above the diagonal are the
    /// transposes of those below (one copy task each instead of a row of products), each
    /// block below is one task reading two block rows of `A` (`Aᵀ`'s blocks are never made),
    /// and the diagonal blocks compute one triangle (as BLAS `syrk`): about half the work.
    ///
    /// ```
    /// use dagger_array::{Blocks, DArray};
    /// let ctx = dagger_sched::Context::builder().threads(2).build();
    /// let a = DArray::<f64>::rand_seeded(&Blocks::from([2, 3]), &[5, 4], 7).unwrap();
    /// let g = a.matmul(&a.transpose().unwrap()).unwrap().collect_dense(&ctx).unwrap();
    /// let d = a.collect_dense(&ctx).unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
    /// let want = d.dot(&d.t());
    /// assert!(g.iter().zip(want.iter()).all(|(x, y)| (x - y).abs() < 1e-12));
    /// ```
    pub fn matmul(&self, other: &DArray<T>) -> Result<DArray<T>> {
        self.matmul_on(other, &|_| Options::new())
    }

    /// [`DArray::matmul`] with the options of the tasks computing each output block (by
    /// its row-major index): `mul!` scopes them to where the block of `C` they update lives.
    pub(crate) fn matmul_on(
        &self,
        other: &DArray<T>,
        place: &dyn Fn(usize) -> Options,
    ) -> Result<DArray<T>> {
        let (ag, bg) = (self.grid(), other.grid());
        let cg = ag.matmul(bg)?;
        let kn = ag.grid_shape()[1];
        let kind = if self.meta.kind == Kind::Sparse && other.meta.kind == Kind::Sparse {
            Kind::Sparse
        } else {
            Kind::Dense
        };
        let symmetric = kind == Kind::Dense && other.is_transpose_of(self);
        let row = |i: usize| (0..kn).map(move |k| self.blocks[ag.block_linear(&[i, k])].clone());
        let product = |c: &[usize]| {
            let opts = place(cg.block_linear(c));
            if symmetric && kn > 0 {
                // A block of A·Aᵀ from A's block rows i and j in one task: no Aᵀ blocks, no
                // chain of per-k partial products, and a diagonal block is one triangle.
                let diagonal = c[0] == c[1];
                let ins: Vec<_> = if diagonal {
                    row(c[0]).collect()
                } else {
                    row(c[0]).chain(row(c[1])).collect()
                };
                return kernel_node(opts, Kernel::MatmulNt { kn, diagonal }, &ins);
            }
            let mut acc: Option<Node<BlockValue<T>>> = None;
            for k in 0..kn {
                let a = &self.blocks[ag.block_linear(&[c[0], k])];
                let bc = if bg.ndim() == 2 {
                    vec![k, c[1]]
                } else {
                    vec![k]
                };
                let b = &other.blocks[bg.block_linear(&bc)];
                acc = Some(match acc {
                    None => kernel_node(opts.clone(), Kernel::Matmul, &[a.clone(), b.clone()]),
                    // c += a·b in place when dense: no temporary partial product.
                    Some(prev) => kernel_node(
                        opts.clone(),
                        Kernel::MatmulAcc,
                        &[prev, a.clone(), b.clone()],
                    ),
                });
            }
            let shape = cg.block_shape(c);
            acc.unwrap_or_else(|| {
                kernel_node(
                    opts.clone(),
                    Kernel::Fill {
                        shape,
                        value: T::zero(),
                    },
                    &[],
                )
            })
        };
        let upper = |c: &[usize]| symmetric && c[1] > c[0];
        let mut out: Vec<Option<Node<BlockValue<T>>>> = vec![None; cg.num_blocks()];
        for c in cg.iter_coords().filter(|c| !upper(c)) {
            out[cg.block_linear(&c)] = Some(product(&c));
        }
        for c in cg.iter_coords().filter(|c| upper(c)) {
            let lower = out[cg.block_linear(&[c[1], c[0]])].clone();
            let opts = place(cg.block_linear(&c));
            let t = lower.map(|l| kernel_node(opts, Kernel::Transpose, &[l]));
            out[cg.block_linear(&c)] = t;
        }
        let blocks = out
            .into_iter()
            .map(|b| b.ok_or_else(|| Error::Argument("matmul: a block of A·Aᵀ is missing".into())))
            .collect::<Result<Vec<_>>>()?;
        Ok(DArray::from_blocks(cg, kind, blocks))
    }
}
