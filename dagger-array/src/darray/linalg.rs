//! Linear algebra on a [`DArray`]: the lazy transpose (which joins a fused chain as a
//! transposed view) and the blocked matrix product.

use super::DArray;
use crate::block::Kind;
use crate::element::Element;
use crate::graph::{kernel_node, Node};
use crate::kernel::named::Kernel;
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

impl<T: LinalgElement> DArray<T> {
    /// The matrix product `self · other` (matrix × matrix or matrix × vector): block `(i, j)`
    /// accumulates `A[i, k] · B[k, j]` over `k`, one task per partial product. The inner block
    /// splits must agree.
    pub fn matmul(&self, other: &DArray<T>) -> Result<DArray<T>> {
        let (ag, bg) = (self.grid(), other.grid());
        let cg = ag.matmul(bg)?;
        let kn = ag.grid_shape()[1];
        let kind = if self.meta.kind == Kind::Sparse && other.meta.kind == Kind::Sparse {
            Kind::Sparse
        } else {
            Kind::Dense
        };
        let blocks = cg
            .iter_coords()
            .map(|c| {
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
                        None => {
                            kernel_node(Options::new(), Kernel::Matmul, &[a.clone(), b.clone()])
                        }
                        // c += a·b in place when dense: no temporary partial product.
                        Some(prev) => kernel_node(
                            Options::new(),
                            Kernel::MatmulAcc,
                            &[prev, a.clone(), b.clone()],
                        ),
                    });
                }
                let shape = cg.block_shape(&c);
                acc.unwrap_or_else(|| {
                    kernel_node(
                        Options::new(),
                        Kernel::Fill {
                            shape,
                            value: T::zero(),
                        },
                        &[],
                    )
                })
            })
            .collect();
        Ok(DArray::from_blocks(cg, kind, blocks))
    }
}
