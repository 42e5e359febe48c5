//! Element-wise operations of a [`DArray`]: `map`, named unary functions and arithmetic
//! with another array or a scalar. Each records its element-wise chain beside its
//! one-task-per-block form, so that lowering can fuse it (see [`crate::fuse`]).

use super::DArray;
use crate::block::{Block, Kind};
use crate::element::Element;
use crate::fuse::Ew;
use crate::graph::{kernel_node, Node};
use crate::kernel::named::Kernel;
use crate::kernel::program::{scalar_tile, Op};
use crate::mem::{held, BlockValue};
use crate::ops::{ArithOp, Side};
use crate::unary::{map_block, UnaryOp};
use dagger_core::{Error, Options, Result};
use num_traits::Float;
use std::any::{Any, TypeId};
use std::sync::Arc;

/// Moves a value between two types that are known (by `TypeId`) to be the same.
fn same_type<A: 'static, B: 'static>(a: A) -> Option<B> {
    let b: Box<dyn Any> = Box::new(a);
    b.downcast::<B>().ok().map(|b| *b)
}

impl<T: Element> DArray<T> {
    /// `f` applied to every element (`map(f, c)`); sparse stays sparse when `f(0) == 0`.
    /// A map from `T` to `T` on a dense array joins the element-wise chain (fusion).
    ///
    /// `f` is a closure, which cannot leave this process: on a cluster its block tasks run
    /// in the driver and the blocks travel there and back. The named operations (operators,
    /// [`DArray::unary`], …) run where the blocks live, and so does a function of your own
    /// registered with [`element_fn!`](macro@crate::element_fn) and applied with
    /// [`DArray::map_registered`].
    pub fn map<U: Element>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DArray<U> {
        let kind = if f(T::zero()) == U::zero() {
            self.meta.kind
        } else {
            Kind::Dense
        };
        let f = Arc::new(f);
        let g = f.clone();
        let out = self.derive(kind, move |b| Ok(map_block(b, &*g)));
        if TypeId::of::<U>() != TypeId::of::<T>() {
            return out;
        }
        let ew = self.chain().map(|c| {
            c.then(move |out: &mut [T]| {
                for v in out.iter_mut() {
                    // U is T here (checked above), so the cast is the identity; it keeps
                    // the user's closure statically known, so the loop inlines it.
                    *v = T::from(f(*v)).unwrap_or(*v);
                }
                Ok(())
            })
        });
        match same_type::<Option<Ew<T>>, Option<Ew<U>>>(ew) {
            Some(ew) => out.with_chain(ew),
            None => out,
        }
    }

    /// A named element-wise function (`exp.(X)`, `sinc.(X)`, …).
    pub fn unary(&self, op: UnaryOp) -> DArray<T>
    where
        T: Float,
    {
        let kind = if op.apply(T::zero()) == T::zero() {
            self.meta.kind
        } else {
            Kind::Dense
        };
        let out = self.derive_k(kind, Kernel::Unary(op));
        let ew = self.chain().map(|c| {
            c.then_named(Op::Unary(op), move |out: &mut [T]| {
                for v in out.iter_mut() {
                    *v = op.apply(*v);
                }
                Ok(())
            })
        });
        out.with_chain(ew)
    }

    fn check_same_shape(&self, other: &DArray<T>) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(Error::DimensionMismatch(format!(
                "Sizes of A {:?} and B {:?} must match",
                self.shape(),
                other.shape()
            )));
        }
        Ok(())
    }

    /// `self op other` element-wise; the shapes must agree. When the blockings differ,
    /// `other` is re-blocked to `self`'s blocking first.
    pub fn arith(&self, other: &DArray<T>, op: ArithOp) -> Result<DArray<T>> {
        self.check_same_shape(other)?;
        let other = other.reblock(self.grid())?;
        let sparse = self.meta.kind == Kind::Sparse && other.meta.kind == Kind::Sparse;
        let zero = T::arith(op, T::zero(), T::zero());
        let kind = if sparse && zero == Some(T::zero()) {
            Kind::Sparse
        } else {
            Kind::Dense
        };
        let blocks = self
            .blocks
            .iter()
            .zip(&other.blocks)
            .map(|(a, b)| kernel_node(Options::new(), Kernel::Arith(op), &[a.clone(), b.clone()]))
            .collect();
        let out = DArray::from_blocks(self.meta.grid.clone(), kind, blocks);
        let ew = match (self.chain(), other.chain()) {
            (Some(a), Some(b)) => a.zip(&b, op),
            _ => None,
        };
        Ok(out.with_chain(ew))
    }

    /// `f.(self, other)`: `f` applied to each pair of elements, dense; the shapes must
    /// agree, and `other` is re-blocked to `self`'s blocking when they differ. One task per
    /// block in this process (a closure cannot travel to a worker).
    ///
    /// ```
    /// use dagger_array::{Blocks, DArray};
    /// let ctx = dagger_sched::Context::local();
    /// let x = DArray::<f64>::fill(3.0, &Blocks::new([2]).unwrap(), &[5]).unwrap();
    /// let y = DArray::<f64>::fill(4.0, &Blocks::new([3]).unwrap(), &[5]).unwrap();
    /// let h = x.zip_with(&y, |a, b| (a * a + b * b).sqrt()).unwrap();
    /// assert!(h.collect_dense(&ctx).unwrap().iter().all(|&v| v == 5.0));
    /// ```
    pub fn zip_with<U: Element>(
        &self,
        other: &DArray<T>,
        f: impl Fn(T, T) -> U + Send + Sync + 'static,
    ) -> Result<DArray<U>> {
        self.check_same_shape(other)?;
        let other = other.reblock(self.grid())?;
        let f = Arc::new(f);
        let blocks = self
            .blocks
            .iter()
            .zip(&other.blocks)
            .map(|(a, b)| {
                let f = f.clone();
                Node::task2(
                    "zip_with",
                    a,
                    b,
                    move |a: BlockValue<T>, b: BlockValue<T>| {
                        let (a, b) = (a?.to_dense(), b?.to_dense());
                        let out = ndarray::Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y));
                        Ok(held(Block::Dense(out)))
                    },
                )
            })
            .collect();
        Ok(DArray::from_blocks(
            self.meta.grid.clone(),
            Kind::Dense,
            blocks,
        ))
    }

    /// `self op s` (or `s op self`) element-wise (`X .* 3.4`).
    pub fn arith_scalar(&self, s: T, op: ArithOp, side: Side) -> DArray<T> {
        let keeps = match side {
            Side::Right => T::arith(op, T::zero(), s),
            Side::Left => T::arith(op, s, T::zero()),
        } == Some(T::zero());
        let kind = if keeps { self.meta.kind } else { Kind::Dense };
        let out = self.derive_k(kind, Kernel::ArithScalar { op, s, side });
        let ew = self.chain().map(|c| {
            c.then_named(Op::Scalar(op, s, side), move |out: &mut [T]| {
                scalar_tile(out, op, s, side)
            })
        });
        out.with_chain(ew)
    }
}
