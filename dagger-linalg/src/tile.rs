//! The vocabulary of the kernels: a [`Tile`] (a column-major faer matrix) and the flags of
//! BLAS/LAPACK calls ([`Uplo`], [`Trans`], [`Side`], [`Diag`]).

/// One tile of a tiled matrix: a column-major, owned faer matrix.
pub type Tile<T> = faer::Mat<T>;

/// Which triangle of a matrix is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Uplo {
    /// The lower triangle (with the diagonal).
    Lower,
    /// The upper triangle (with the diagonal).
    Upper,
}

impl Uplo {
    /// The other triangle.
    pub fn flip(self) -> Uplo {
        match self {
            Uplo::Lower => Uplo::Upper,
            Uplo::Upper => Uplo::Lower,
        }
    }
}

/// Whether an operand is used as it is or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trans {
    /// `A`.
    No,
    /// `Aᵀ`.
    Yes,
}

impl Trans {
    /// `Yes` when `t` is true.
    pub fn from_bool(t: bool) -> Trans {
        if t {
            Trans::Yes
        } else {
            Trans::No
        }
    }

    /// Whether this is `Yes`.
    pub fn is_yes(self) -> bool {
        self == Trans::Yes
    }
}

/// The side a triangular matrix multiplies from in a solve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// `op(A) · X = B`.
    Left,
    /// `X · op(A) = B`.
    Right,
}

/// Whether a triangular matrix has an implicit unit diagonal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Diag {
    /// The stored diagonal is used.
    NonUnit,
    /// The diagonal is taken as ones (the stored one is not read), as for LU's `L`.
    Unit,
}

/// The triangle that `op(A)` occupies when `A` occupies `uplo`.
pub(crate) fn effective(uplo: Uplo, trans: Trans) -> Uplo {
    if trans.is_yes() {
        uplo.flip()
    } else {
        uplo
    }
}

/// A triangular operand as a solve names it: which triangle is stored, whether it is used
/// transposed, and whether its diagonal is taken as ones.
pub(crate) type Triangle = (Uplo, Trans, Diag);

/// The order in which a tiled triangular solve with `nt` diagonal tiles takes its steps:
/// forward substitution when `op(A)` is lower, backward when it is upper. The tiled solves
/// of both places (tiles here, DArray blocks on the workers) walk it the same way: at each
/// step a `trsm` on the step's block row, then a `gemm` on every block row after it in
/// this order.
pub(crate) fn solve_steps((uplo, trans, _): Triangle, nt: usize) -> Vec<usize> {
    match effective(uplo, trans) {
        Uplo::Lower => (0..nt).collect(),
        Uplo::Upper => (0..nt).rev().collect(),
    }
}
