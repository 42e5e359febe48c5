//! The element-wise operator vocabulary: arithmetic ([`ArithOp`]), bit operations
//! ([`BitOp`]), comparisons ([`CmpOp`]) and which side a scalar stands on ([`Side`]). Plain
//! values that every layer names (kernels, fused programs, task names); what they do to
//! numbers is in [`crate::scalar`], what they do to blocks in [`crate::binary`].

use dagger_core::Error;

/// An element-wise arithmetic operation (`.+ .- .* ./ .% .^ .\`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ArithOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b` (element-wise)
    Mul,
    /// `a / b`
    Div,
    /// `a % b` (remainder with the sign of `a`, as Julia's `%`/`rem`)
    Rem,
    /// `a ^ b`
    Pow,
    /// `a \ b` = `b / a`
    LeftDiv,
}

/// An element-wise bit operation on integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BitOp {
    /// `a & b`
    And,
    /// `a | b`
    Or,
    /// `a ⊻ b` (Julia's old `$`)
    Xor,
    /// `a << b`
    Shl,
    /// `a >> b` (arithmetic for signed types)
    Shr,
}

/// An element-wise comparison (`.== .!= .< .<= .> .>=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CmpOp {
    /// `a == b`
    Eq,
    /// `a != b`
    Ne,
    /// `a < b`
    Lt,
    /// `a <= b`
    Le,
    /// `a > b`
    Gt,
    /// `a >= b`
    Ge,
}

impl CmpOp {
    /// Compares two values.
    pub fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// Which side of the operator a scalar stands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// `block op scalar`
    Right,
    /// `scalar op block`
    Left,
}

/// The error of an integer division by zero in an element-wise `op` (Julia's DivideError).
pub(crate) fn divide_error(op: ArithOp) -> Error {
    Error::Argument(format!(
        "DivideError: integer division error in element-wise {op:?}"
    ))
}
