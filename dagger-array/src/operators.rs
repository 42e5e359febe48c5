//! `std::ops` for [`DArray`], spelled as in ndarray: `&a + &b`, `a * 2.0`, `2.0 - &a`, `-&a`,
//! `a += &b`, `a *= 2.0`, and `a.powi(2)`, `a.powf(0.5)`, `a.t()`, `a.dot(&b)`.
//!
//! An operator builds the same lazy, fusable graph as the explicit call it stands for
//! ([`DArray::arith`], [`DArray::arith_scalar`]), with no extra task. Operands may be owned or
//! borrowed, and their blockings may differ. Operators cannot return a `Result`: when the
//! shapes do not agree, the operator gives an array whose computation fails with
//! [`Error::DimensionMismatch`] (it never panics); the explicit calls report it at once.
//! The compound assignments (`+=`, …) are the in-place updates of [`crate::update`].
//!
//! ```
//! use dagger_array::{Blocks, DArray};
//! let ctx = dagger_sched::Context::local();
//! let x = DArray::<f64>::fill(3.0, &Blocks::new([2, 2]).unwrap(), &[3, 3]).unwrap();
//! let y = DArray::<f64>::ones(&Blocks::new([3, 1]).unwrap(), &[3, 3]).unwrap();
//! let mut z = &x * &x + 1.0 - &y; // 3·3 + 1 − 1
//! z *= 2.0;
//! z += &(-&y);
//! assert!(z.collect_dense(&ctx).unwrap().iter().all(|&v| v == 17.0));
//! assert_eq!((2.0 - &x).powi(2).sum().collect(&ctx).unwrap(), 9.0);
//! let bad = &x + &DArray::<f64>::ones(&Blocks::new([2]).unwrap(), &[4]).unwrap();
//! assert!(matches!(bad.collect(&ctx), Err(dagger_core::Error::DimensionMismatch(_))));
//! ```

use crate::block::Kind;
use crate::darray::DArray;
use crate::element::Element;
use crate::graph::Node;
use crate::linalg::LinalgElement;
use crate::mem::BlockValue;
use crate::ops::{ArithOp, Side};
use dagger_core::{Error, Result};
use num_traits::Float;
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

impl<T: Element> DArray<T> {
    /// An array of `self`'s shape and blocking whose every block fails with `e`: what an
    /// operator gives for operands that do not fit.
    pub(crate) fn failing(&self, e: Error) -> DArray<T> {
        let blocks = self
            .blocks
            .iter()
            .map(|_| {
                let e = e.clone();
                Node::task0(crate::names::named("failed"), move || -> BlockValue<T> {
                    Err(e.clone())
                })
            })
            .collect();
        DArray::from_blocks(self.grid().clone(), Kind::Dense, blocks)
    }

    /// `self op other`, or an array that fails with the shape error (see the module docs).
    fn arith_or_failing(&self, other: &DArray<T>, op: ArithOp) -> DArray<T> {
        self.arith(other, op).unwrap_or_else(|e| self.failing(e))
    }

    /// `x .^ n` (`a.powi(2)`, as ndarray spells it).
    pub fn powi(&self, n: i32) -> DArray<T> {
        match T::from(n) {
            Some(p) => self.arith_scalar(p, ArithOp::Pow, Side::Right),
            None => self.failing(Error::Argument(format!("powi: {n} is not a {}", T::NAME))),
        }
    }

    /// The transpose, axes reversed as in ndarray (`a.t()`): a matrix's transpose, a vector
    /// itself, an N-d array's axes in reverse order.
    pub fn t(&self) -> DArray<T> {
        let nd = self.grid().ndim();
        let out = match nd {
            0 | 1 => Ok(self.clone()),
            2 => self.transpose(),
            _ => self.permutedims(&(0..nd).rev().collect::<Vec<_>>()),
        };
        out.unwrap_or_else(|e| self.failing(e))
    }
}

impl<T: Element + Float> DArray<T> {
    /// `x .^ p` for a float power.
    pub fn powf(&self, p: T) -> DArray<T> {
        self.arith_scalar(p, ArithOp::Pow, Side::Right)
    }
}

impl<T: LinalgElement> DArray<T> {
    /// The matrix product `self · other` (matrix × matrix or matrix × vector), as ndarray's
    /// `dot`. Unlike [`DArray::matmul`], `other` is re-blocked when its row split differs
    /// from `self`'s column split.
    ///
    /// ```
    /// use dagger_array::{Blocks, DArray};
    /// let ctx = dagger_sched::Context::local();
    /// let a = DArray::<f64>::ones(&Blocks::new([2, 3]).unwrap(), &[4, 6]).unwrap();
    /// let b = DArray::<f64>::fill(2.0, &Blocks::new([4, 1]).unwrap(), &[6, 2]).unwrap();
    /// let c = a.dot(&b).unwrap().collect_dense(&ctx).unwrap();
    /// assert!(c.iter().all(|&v| v == 12.0) && c.shape() == [4, 2]);
    /// ```
    pub fn dot(&self, other: &DArray<T>) -> Result<DArray<T>> {
        let (ag, bg) = (self.grid(), other.grid());
        if ag.ndim() != 2 || bg.ndim() == 0 || bg.ndim() > 2 || ag.shape()[1] != bg.shape()[0] {
            return Err(Error::DimensionMismatch(format!(
                "dot: A {:?} · B {:?}: A's columns must match B's rows",
                ag.shape(),
                bg.shape()
            )));
        }
        if bg.ranges()[0] == ag.ranges()[1] {
            return self.matmul(other);
        }
        let mut ranges = bg.ranges().to_vec();
        ranges[0] = ag.ranges()[1].clone();
        let b = other.reblock(&crate::grid::BlockGrid::from_ranges(bg.shape(), ranges)?)?;
        self.matmul(&b)
    }
}

macro_rules! array_ops {
    ($($tr:ident $method:ident $atr:ident $amethod:ident $op:ident),*) => {$(
        impl<T: Element> $tr<&DArray<T>> for &DArray<T> {
            type Output = DArray<T>;
            fn $method(self, rhs: &DArray<T>) -> DArray<T> {
                self.arith_or_failing(rhs, ArithOp::$op)
            }
        }
        impl<T: Element> $tr<DArray<T>> for &DArray<T> {
            type Output = DArray<T>;
            fn $method(self, rhs: DArray<T>) -> DArray<T> {
                self.arith_or_failing(&rhs, ArithOp::$op)
            }
        }
        impl<T: Element> $tr<&DArray<T>> for DArray<T> {
            type Output = DArray<T>;
            fn $method(self, rhs: &DArray<T>) -> DArray<T> {
                self.arith_or_failing(rhs, ArithOp::$op)
            }
        }
        impl<T: Element> $tr<DArray<T>> for DArray<T> {
            type Output = DArray<T>;
            fn $method(self, rhs: DArray<T>) -> DArray<T> {
                self.arith_or_failing(&rhs, ArithOp::$op)
            }
        }
        impl<T: Element> $tr<T> for &DArray<T> {
            type Output = DArray<T>;
            fn $method(self, rhs: T) -> DArray<T> {
                self.arith_scalar(rhs, ArithOp::$op, Side::Right)
            }
        }
        impl<T: Element> $tr<T> for DArray<T> {
            type Output = DArray<T>;
            fn $method(self, rhs: T) -> DArray<T> {
                self.arith_scalar(rhs, ArithOp::$op, Side::Right)
            }
        }
        impl<T: Element> $atr<&DArray<T>> for DArray<T> {
            fn $amethod(&mut self, rhs: &DArray<T>) {
                *self = self.arith_or_failing(rhs, ArithOp::$op);
            }
        }
        impl<T: Element> $atr<DArray<T>> for DArray<T> {
            fn $amethod(&mut self, rhs: DArray<T>) {
                *self = self.arith_or_failing(&rhs, ArithOp::$op);
            }
        }
        impl<T: Element> $atr<T> for DArray<T> {
            fn $amethod(&mut self, rhs: T) {
                self.arith_scalar_assign(rhs, ArithOp::$op);
            }
        }
    )*};
}
array_ops!(
    Add add AddAssign add_assign Add,
    Sub sub SubAssign sub_assign Sub,
    Mul mul MulAssign mul_assign Mul,
    Div div DivAssign div_assign Div,
    Rem rem RemAssign rem_assign Rem
);

/// A scalar on the left (`2.0 - &a`), for each element type (a generic `T` cannot be the
/// receiver of a foreign trait).
macro_rules! scalar_left_ops {
    ($($t:ty),*) => {$(
        scalar_left_ops!(@one $t, Add add Add, Sub sub Sub, Mul mul Mul, Div div Div, Rem rem Rem);
    )*};
    (@one $t:ty, $($tr:ident $method:ident $op:ident),*) => {$(
        impl $tr<&DArray<$t>> for $t {
            type Output = DArray<$t>;
            fn $method(self, rhs: &DArray<$t>) -> DArray<$t> {
                rhs.arith_scalar(self, ArithOp::$op, Side::Left)
            }
        }
        impl $tr<DArray<$t>> for $t {
            type Output = DArray<$t>;
            fn $method(self, rhs: DArray<$t>) -> DArray<$t> {
                rhs.arith_scalar(self, ArithOp::$op, Side::Left)
            }
        }
    )*};
}
scalar_left_ops!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);

/// `-a` is `0 - a`.
impl<T: Element> Neg for &DArray<T> {
    type Output = DArray<T>;
    fn neg(self) -> DArray<T> {
        self.arith_scalar(T::zero(), ArithOp::Sub, Side::Left)
    }
}

/// `-a` is `0 - a`.
impl<T: Element> Neg for DArray<T> {
    type Output = DArray<T>;
    fn neg(self) -> DArray<T> {
        -&self
    }
}
