//! Transposes and block products. Dense products of f32 and f64 blocks go through faer's
//! SIMD GEMM on one thread (the scheduler runs blocks in parallel); a product `a·aᵀ` (a
//! diagonal block of `A·Aᵀ`) computes one triangle and mirrors it. Other element types (and
//! every type with `--features blas`) use ndarray's `dot` / `general_mat_mul`; sparse
//! products go through sprs.
//! A product of blocked arrays sums, for each output block `(i, j)`, the partial products
//! `A[i, k] · B[k, j]` over `k` ([`matmul_blocks`]).

use crate::binary::arith_block;
use crate::block::Block;
use crate::element::{ArithOp, Element};
use crate::grid::BlockGrid;
use dagger_core::{Error, Result};
use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{ArrayD, Ix1, Ix2};
use sprs::{CsMat, CsVec};
use std::any::Any;
use std::ops::AddAssign;

/// An element type with dense (BLAS-class) and sparse products.
pub trait LinalgElement: Element + ndarray::LinalgScalar + sprs::MulAcc + AddAssign {}
impl<T: Element + ndarray::LinalgScalar + sprs::MulAcc + AddAssign> LinalgElement for T {}

fn dim_err(what: &str, a: &[usize], b: &[usize]) -> Error {
    Error::DimensionMismatch(format!(
        "{what}: A has dimensions {a:?}, B has dimensions {b:?}"
    ))
}

/// The transpose of a dense block (all axes reversed), in standard layout. A row-major
/// matrix is copied in 32×32 tiles (the upper blocks of `A·Aᵀ` are such copies of the lower
/// ones); other layouts and dimensions through ndarray.
pub fn transpose_dense<T: Element>(a: &ArrayD<T>) -> ArrayD<T> {
    if let (2, Some(src)) = (a.ndim(), a.as_slice()) {
        let (m, n) = (a.shape()[0], a.shape()[1]);
        let mut out = vec![T::zero(); m * n];
        for i0 in (0..m).step_by(TILE) {
            for j0 in (0..n).step_by(TILE) {
                for i in i0..(i0 + TILE).min(m) {
                    for j in j0..(j0 + TILE).min(n) {
                        out[j * m + i] = src[i * n + j];
                    }
                }
            }
        }
        if let Ok(t) = ArrayD::from_shape_vec(vec![n, m], out) {
            return t;
        }
    }
    a.view().reversed_axes().as_standard_layout().into_owned()
}

/// The transpose of a block. A vector (dense or sparse) becomes a `1×n` matrix, as Julia's
/// `x'`; a sparse matrix stays compressed sparse column.
pub fn transpose_block<T: Element>(b: &Block<T>) -> Block<T> {
    match b {
        Block::Dense(a) if a.ndim() == 1 => {
            Block::Dense(
                a.clone()
                    .into_shape_with_order(vec![1, a.len()])
                    .unwrap_or_else(|_| transpose_dense(a)),
            ) // ok: 1×n has the same element count
        }
        Block::Dense(a) => Block::Dense(transpose_dense(a)),
        Block::SparseMat(m) => Block::SparseMat(m.transpose_view().to_csc()),
        Block::SparseVec(v) => {
            let n = v.dim();
            // A 1×n CSC matrix: column c holds the entry at c, if any.
            let mut ptr = Vec::with_capacity(n + 1);
            ptr.push(0);
            let mut k = 0;
            for c in 0..n {
                if v.indices().get(k) == Some(&c) {
                    k += 1;
                }
                ptr.push(k);
            }
            Block::SparseMat(CsMat::new_csc(
                (1, n),
                ptr,
                vec![0; v.nnz()],
                v.data().to_vec(),
            ))
        }
    }
}

/// The blocks of `Aᵀ` from the blocks of a blocked matrix `A`: block `(i, j)` of the result is
/// the transpose of block `(j, i)`.
///
/// ```
/// use dagger_array::{dist, linalg, BlockGrid, Blocks, Block};
/// use ndarray::{Array2, ArrayD};
/// let a = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64).into_dyn();
/// let g = BlockGrid::new(&[5, 3], &Blocks::from([2, 2]), 1).unwrap();
/// let blocks = dist::distribute(&Block::Dense(a.clone()), &g).unwrap();
/// let (tg, tb) = linalg::transpose_blocks(&g, &blocks).unwrap();
/// assert_eq!(tg.grid_shape(), vec![2, 3]);
/// assert_eq!(dist::assemble(&tg, &tb).unwrap().to_dense(), a.t().to_owned());
/// ```
pub fn transpose_blocks<T: Element>(
    grid: &BlockGrid,
    blocks: &[Block<T>],
) -> Result<(BlockGrid, Vec<Block<T>>)> {
    if grid.ndim() != 2 || blocks.len() != grid.num_blocks() {
        return Err(Error::Argument(format!(
            "transpose needs a blocked matrix, got {} blocks of a {}-d grid",
            blocks.len(),
            grid.ndim()
        )));
    }
    let tg = grid.transposed();
    let out = tg
        .iter_coords()
        .map(|c| transpose_block(&blocks[grid.block_linear(&[c[1], c[0]])]))
        .collect();
    Ok((tg, out))
}

/// `c ← a·b` (`replace`) or `c += a·b` through faer, when `T` is f32 or f64 and the build
/// does not ask for BLAS; `None` for other types (the caller uses ndarray). `c` is
/// `m × n` (or `m` for a vector `b`), checked by the caller.
fn faer_product<T: LinalgElement>(
    c: &mut ArrayD<T>,
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    replace: bool,
) -> Option<()> {
    if cfg!(feature = "blas") {
        return None;
    }
    let (c, a, b) = (c as &mut dyn Any, a as &dyn Any, b as &dyn Any);
    if let (Some(c), Some(a), Some(b)) = (c.downcast_mut(), a.downcast_ref(), b.downcast_ref()) {
        faer_gemm::<f64>(c, a, b, replace);
        return Some(());
    }
    let (c, a, b) = (c.downcast_mut()?, a.downcast_ref()?, b.downcast_ref()?);
    faer_gemm::<f32>(c, a, b, replace);
    Some(())
}

/// The side of the square tiles in which [`is_self_transpose`] and [`mirror_lower`] walk a
/// row-major matrix: a column walk of a 1000-wide f64 block touches a new cache line (and
/// every 512th a new page) at each step, so an element-by-element walk costs a miss per
/// element; in 32×32 tiles the 32 lines of a tile's columns stay in L1.
const TILE: usize = 32;

/// Whether the row-major `m × n` matrix `b` is exactly `aᵀ` (`a` row-major `n × m`): a
/// square product `a·aᵀ`, which is symmetric. Compares in [`TILE`]s, stopping at the first
/// tile with a difference, so a general product pays one tile.
fn is_self_transpose<F: PartialEq>(a: &[F], b: &[F], n: usize, m: usize) -> bool {
    if a.len() != n * m || b.len() != n * m {
        return false;
    }
    for i0 in (0..n).step_by(TILE) {
        for j0 in (0..m).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0..(j0 + TILE).min(m) {
                    if a[i * m + j] != b[j * n + i] {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Copies the lower triangle of the row-major `n × n` matrix `c` onto its upper one, in
/// [`TILE`]s (see there).
fn mirror_lower<F: Copy>(c: &mut [F], n: usize) {
    for j0 in (0..n).step_by(TILE) {
        for i0 in (0..=j0).step_by(TILE) {
            for i in i0..(i0 + TILE).min(n) {
                for j in j0.max(i + 1)..(j0 + TILE).min(n) {
                    c[i * n + j] = c[j * n + i];
                }
            }
        }
    }
}

/// The faer product on dense f32/f64 blocks of any layout (copied to row-major when not).
fn faer_gemm<F: faer::traits::RealField + Copy + Element>(
    c: &mut ArrayD<F>,
    a: &ArrayD<F>,
    b: &ArrayD<F>,
    replace: bool,
) {
    use faer::linalg::matmul::triangular::{matmul as tri_matmul, BlockStructure};
    use faer::{Accum, MatMut, MatRef, Par};
    if !c.is_standard_layout() {
        *c = c.as_standard_layout().into_owned();
    }
    let (a, b) = (a.as_standard_layout(), b.as_standard_layout());
    let (m, k) = (a.shape()[0], a.shape()[1]);
    let n = if b.ndim() == 2 { b.shape()[1] } else { 1 };
    let (Some(sa), Some(sb), Some(sc)) = (a.as_slice(), b.as_slice(), c.as_slice_mut()) else {
        return; // ok: standard layout arrays are contiguous
    };
    let am = MatRef::from_row_major_slice(sa, m, k);
    let bm = MatRef::from_row_major_slice(sb, k, n);
    let cm = MatMut::from_row_major_slice_mut(sc, m, n);
    let acc = if replace { Accum::Replace } else { Accum::Add };
    let (one, par) = (F::one_impl(), Par::Seq);
    let symmetric = m == n && m > 1 && b.ndim() == 2 && is_self_transpose(sa, sb, m, k);
    if !symmetric {
        faer::linalg::matmul::matmul(cm, acc, am, bm, one, par);
        return;
    }
    // c += a·aᵀ: the lower triangle (half the work), then mirrored.
    let (lower, rect) = (BlockStructure::TriangularLower, BlockStructure::Rectangular);
    tri_matmul(cm, lower, acc, am, rect, bm, rect, one, par);
    mirror_lower(sc, n);
}

/// The dense row-major `F` matrices of `blocks`, when every block is one.
fn dense_as<'a, T: Element, F: 'static>(blocks: &[&'a Block<T>]) -> Option<Vec<&'a [F]>> {
    blocks
        .iter()
        .map(|b| match b {
            Block::Dense(d) => (d as &dyn Any)
                .downcast_ref::<ArrayD<F>>()
                .and_then(|d| d.as_slice()),
            _ => None,
        })
        .collect()
}

/// [`matmul_nt`] through faer when `T` is `F` and every block is dense and row-major: each
/// `b_kᵀ` is a transposed view of `b_k`'s storage (no copy), the products accumulate into
/// one `m × n` result on this thread; `None` otherwise. `ks[k]` is the inner size of pair `k`.
fn faer_nt<T: Element, F: faer::traits::RealField + Copy + Element>(
    a: &[&Block<T>],
    b: Option<&[&Block<T>]>,
    (m, n): (usize, usize),
    ks: &[usize],
) -> Option<Block<T>> {
    use faer::linalg::matmul::triangular::{matmul as tri_matmul, BlockStructure};
    use faer::{Accum, MatMut, MatRef, Par};
    if cfg!(feature = "blas") {
        return None;
    }
    let av = dense_as::<T, F>(a)?;
    let bv = match b {
        Some(b) => Some(dense_as::<T, F>(b)?),
        None => None,
    };
    // Every value is written: the first product replaces (a triangle of) `c`, the mirror
    // writes the other one.
    let mut c = vec![F::zero_impl(); m * n];
    let mut cm = MatMut::from_row_major_slice_mut(&mut c, m, n);
    let (one, par) = (F::one_impl(), Par::Seq);
    let (lower, rect) = (BlockStructure::TriangularLower, BlockStructure::Rectangular);
    for (k, (&x, &kk)) in av.iter().zip(ks).enumerate() {
        let acc = if k == 0 { Accum::Replace } else { Accum::Add };
        let ak = MatRef::from_row_major_slice(x, m, kk);
        match &bv {
            Some(bv) => {
                let bk = MatRef::from_row_major_slice(bv[k], n, kk).transpose();
                faer::linalg::matmul::matmul(cm.as_mut(), acc, ak, bk, one, par);
            }
            None => tri_matmul(
                cm.as_mut(),
                lower,
                acc,
                ak,
                rect,
                ak.transpose(),
                rect,
                one,
                par,
            ),
        }
    }
    if bv.is_none() {
        mirror_lower(&mut c, n);
    }
    let c = ArrayD::from_shape_vec(vec![m, n], c).ok()?;
    let boxed: Box<dyn Any> = Box::new(c);
    boxed.downcast::<ArrayD<T>>().ok().map(|c| Block::Dense(*c))
}

/// `Σ_k a_k · b_kᵀ` of two rows of blocks (`a_k` is `m × k_k`, `b_k` is `n × k_k`): a block
/// of `A·Bᵀ` in one call, without `Bᵀ`'s blocks. `b = None` means `b` is `a`: the block is
/// symmetric (a diagonal block of `A·Aᵀ`), one triangle is computed and mirrored (as BLAS
/// `syrk`). Dense f32/f64 blocks go through faer with transposed views; others through
/// transposed blocks and [`matmul_block`]. Rows of different lengths or blocks that are not
/// matrices of matching sizes are an [`Error::DimensionMismatch`].
///
/// ```
/// use dagger_array::{linalg, Block};
/// use ndarray::Array2;
/// let a = Array2::from_shape_fn((3, 2), |(i, j)| (i + 2 * j) as f64);
/// let (x, y) = (Block::Dense(a.clone().into_dyn()), Block::Dense(a.t().to_owned().into_dyn()));
/// // [a a] · [a a]ᵀ = 2 a·aᵀ
/// let c = linalg::matmul_nt(&[&x, &x], None).unwrap().to_dense();
/// assert_eq!(c, (2.0 * a.dot(&a.t())).into_dyn());
/// let d = linalg::matmul_nt(&[&x], Some(&[&y])).unwrap_err();
/// assert!(matches!(d, dagger_core::Error::DimensionMismatch(_)));
/// ```
pub fn matmul_nt<T: LinalgElement>(a: &[&Block<T>], b: Option<&[&Block<T>]>) -> Result<Block<T>> {
    let bs = b.unwrap_or(a);
    let (Some(a0), Some(b0)) = (a.first(), bs.first()) else {
        return Err(Error::DimensionMismatch(
            "matmul nt of empty block rows".into(),
        ));
    };
    let (m, n) = (a0.shape()[0], b0.shape()[0]);
    let mut ks = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(bs) {
        let (sx, sy) = (x.shape(), y.shape());
        if sx.len() != 2 || sy.len() != 2 || sx[1] != sy[1] || sx[0] != m || sy[0] != n {
            return Err(dim_err("matmul nt", &sx, &sy));
        }
        ks.push(sx[1]);
    }
    if a.len() != bs.len() {
        return Err(dim_err("matmul nt", &[m, a.len()], &[n, bs.len()]));
    }
    let fast =
        faer_nt::<T, f64>(a, b, (m, n), &ks).or_else(|| faer_nt::<T, f32>(a, b, (m, n), &ks));
    if let Some(c) = fast {
        return Ok(c);
    }
    let mut acc = None;
    for (x, y) in a.iter().zip(bs) {
        acc = Some(accumulate(acc, matmul_block(x, &transpose_block(y))?)?);
    }
    acc.ok_or_else(|| Error::DimensionMismatch("matmul nt of empty block rows".into()))
}

/// `a · b` for dense blocks: matrix × matrix or matrix × vector.
pub fn matmul_dense<T: LinalgElement>(a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>> {
    let a2 = a
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| dim_err("matmul", a.shape(), b.shape()))?;
    if a.shape()[1] != b.shape().first().copied().unwrap_or(usize::MAX) {
        return Err(dim_err("matmul", a.shape(), b.shape()));
    }
    if b.ndim() <= 2 {
        let shape: Vec<usize> = std::iter::once(a.shape()[0])
            .chain(b.shape().get(1).copied())
            .collect();
        let mut c = ArrayD::zeros(shape);
        if faer_product(&mut c, a, b, true).is_some() {
            return Ok(c);
        }
    }
    match b.ndim() {
        2 => Ok(a2
            .dot(
                &b.view()
                    .into_dimensionality::<Ix2>()
                    .map_err(|_| dim_err("matmul", a.shape(), b.shape()))?,
            )
            .into_dyn()),
        1 => Ok(a2
            .dot(
                &b.view()
                    .into_dimensionality::<Ix1>()
                    .map_err(|_| dim_err("matmul", a.shape(), b.shape()))?,
            )
            .into_dyn()),
        _ => Err(dim_err("matmul", a.shape(), b.shape())),
    }
}

/// `c += a · b` in place for dense blocks (the accumulation of partial products over `k`
/// without a temporary).
pub fn matmul_acc_dense<T: LinalgElement>(
    c: &mut ArrayD<T>,
    a: &ArrayD<T>,
    b: &ArrayD<T>,
) -> Result<()> {
    let err = || dim_err("matmul accumulate", a.shape(), b.shape());
    let a2 = a.view().into_dimensionality::<Ix2>().map_err(|_| err())?;
    let (m, k) = a2.dim();
    let want_c: &[usize] = match b.shape() {
        [bk, n] if *bk == k => &[m, *n],
        [bk] if *bk == k => &[m],
        _ => return Err(err()),
    };
    if c.shape() != want_c {
        return Err(err());
    }
    if faer_product(c, a, b, false).is_some() {
        return Ok(());
    }
    if b.ndim() == 2 {
        let b2 = b.view().into_dimensionality::<Ix2>().map_err(|_| err())?;
        let mut c2 = c
            .view_mut()
            .into_dimensionality::<Ix2>()
            .map_err(|_| err())?;
        general_mat_mul(T::one(), &a2, &b2, T::one(), &mut c2);
    } else {
        let b1 = b.view().into_dimensionality::<Ix1>().map_err(|_| err())?;
        let mut c1 = c
            .view_mut()
            .into_dimensionality::<Ix1>()
            .map_err(|_| err())?;
        general_mat_vec_mul(T::one(), &a2, &b1, T::one(), &mut c1);
    }
    Ok(())
}

/// Sparse matrix × sparse vector.
pub fn spmv<T: LinalgElement>(a: &CsMat<T>, x: &CsVec<T>) -> Result<CsVec<T>> {
    if a.cols() != x.dim() {
        return Err(dim_err("spmv", &[a.rows(), a.cols()], &[x.dim()]));
    }
    Ok(a * x)
}

/// Sparse matrix × sparse matrix (SpGEMM).
pub fn spgemm<T: LinalgElement>(a: &CsMat<T>, b: &CsMat<T>) -> Result<CsMat<T>> {
    if a.cols() != b.rows() {
        return Err(dim_err(
            "spgemm",
            &[a.rows(), a.cols()],
            &[b.rows(), b.cols()],
        ));
    }
    let p = a * b;
    Ok(if p.is_csc() { p } else { p.to_csc() })
}

/// `a · b` for blocks of any kind: sparse × sparse stays sparse, anything with a dense side
/// gives a dense result.
pub fn matmul_block<T: LinalgElement>(a: &Block<T>, b: &Block<T>) -> Result<Block<T>> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() != 2 || sa[1] != sb.first().copied().unwrap_or(usize::MAX) || sb.len() > 2 {
        return Err(dim_err("matmul", &sa, &sb));
    }
    Ok(match (a, b) {
        (Block::SparseMat(m), Block::SparseMat(n)) => Block::SparseMat(spgemm(m, n)?),
        (Block::SparseMat(m), Block::SparseVec(x)) => Block::SparseVec(spmv(m, x)?),
        (Block::SparseMat(m), Block::Dense(d)) => match d.ndim() {
            1 => Block::Dense(
                (m * &d
                    .view()
                    .into_dimensionality::<Ix1>()
                    .map_err(|_| dim_err("matmul", &sa, &sb))?)
                    .into_dyn(),
            ),
            _ => Block::Dense(
                (m * &d
                    .view()
                    .into_dimensionality::<Ix2>()
                    .map_err(|_| dim_err("matmul", &sa, &sb))?)
                    .into_dyn(),
            ),
        },
        (Block::Dense(d), other) => Block::Dense(matmul_dense(d, &other.to_dense())?),
        (Block::SparseVec(_), _) => return Err(dim_err("matmul", &sa, &sb)),
    })
}

/// Adds a partial product into an accumulator (`None` = nothing yet), in place when both
/// are dense.
pub fn accumulate<T: LinalgElement>(acc: Option<Block<T>>, part: Block<T>) -> Result<Block<T>> {
    match (acc, part) {
        (None, p) => Ok(p),
        (Some(Block::Dense(mut c)), Block::Dense(p)) => {
            if c.shape() != p.shape() {
                return Err(dim_err("accumulate", c.shape(), p.shape()));
            }
            c += &p;
            Ok(Block::Dense(c))
        }
        (Some(c), p) => arith_block(&c, &p, ArithOp::Add),
    }
}

/// `c + a · b`: in place (no temporary partial product) when all three are dense, else the
/// partial product is accumulated.
pub fn matmul_acc<T: LinalgElement>(c: Block<T>, a: &Block<T>, b: &Block<T>) -> Result<Block<T>> {
    if let (Block::Dense(ad), Block::Dense(bd)) = (a, b) {
        let mut c = match c {
            Block::Dense(c) => c,
            other => other.to_dense(),
        };
        matmul_acc_dense(&mut c, ad, bd)?;
        return Ok(Block::Dense(c));
    }
    let part = matmul_block(a, b)?;
    accumulate(Some(c), part)
}

/// The blocks of `A · B` from blocked `A` (matrix) and `B` (matrix or vector), whose inner
/// block splits must agree: block `(i, j)` is `Σ_k A[i, k] · B[k, j]`.
pub fn matmul_blocks<T: LinalgElement>(
    ag: &BlockGrid,
    ab: &[Block<T>],
    bg: &BlockGrid,
    bb: &[Block<T>],
) -> Result<(BlockGrid, Vec<Block<T>>)> {
    let cg = ag.matmul(bg)?;
    let kn = ag.grid_shape()[1];
    let mut out = Vec::with_capacity(cg.num_blocks());
    for c in cg.iter_coords() {
        let mut acc: Option<Block<T>> = None;
        for k in 0..kn {
            let a = &ab[ag.block_linear(&[c[0], k])];
            let bc = if bg.ndim() == 2 {
                vec![k, c[1]]
            } else {
                vec![k]
            };
            let b = &bb[bg.block_linear(&bc)];
            acc = Some(match (acc, a, b) {
                (Some(Block::Dense(mut cd)), Block::Dense(ad), Block::Dense(bd)) => {
                    matmul_acc_dense(&mut cd, ad, bd)?;
                    Block::Dense(cd)
                }
                (acc, a, b) => accumulate(acc, matmul_block(a, b)?)?,
            });
        }
        let blk = match acc {
            Some(b) => b,
            None => Block::Dense(ArrayD::zeros(cg.block_shape(&c))),
        };
        out.push(blk);
    }
    Ok((cg, out))
}
