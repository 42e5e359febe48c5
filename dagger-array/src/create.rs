//! Block creation kernels: `rand`, `randn`, `ones`, `zeros`, `sprand`.
//!
//! Random blocks are reproducible and independent: block `i` of an array made with seed `s`
//! draws from ChaCha8 stream `i` of key `s`, so the values do not depend on which worker makes
//! the block or in which order, and two blocks never share a stream (G58).

use crate::block::{filled, Block};
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, IxDyn};
use rand::distributions::{Distribution, Standard};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Geometric, StandardNormal};
use sprs::{CsMat, CsVec};

/// The random stream of block number `block` of an array created with `seed`.
pub fn block_rng(seed: u64, block: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(block as u64);
    rng
}

/// A block of uniform random values: `[0, 1)` for floats, the whole range for integers.
///
/// ```
/// let a = dagger_array::create::rand_block::<f64>(&[3, 4], 7, 0);
/// assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
/// assert_eq!(a, dagger_array::create::rand_block::<f64>(&[3, 4], 7, 0));
/// assert_ne!(a, dagger_array::create::rand_block::<f64>(&[3, 4], 7, 1));
/// ```
pub fn rand_block<T: Scalar>(shape: &[usize], seed: u64, block: usize) -> ArrayD<T>
where
    Standard: Distribution<T>,
{
    let mut rng = block_rng(seed, block);
    let n = shape.iter().product();
    let data: Vec<T> = (0..n).map(|_| Standard.sample(&mut rng)).collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).unwrap_or_else(|_| filled(shape, T::zero()))
    // ok: len == product(shape)
}

/// A block of standard normal values.
pub fn randn_block<T: Scalar>(shape: &[usize], seed: u64, block: usize) -> ArrayD<T>
where
    StandardNormal: Distribution<T>,
{
    let mut rng = block_rng(seed, block);
    let n = shape.iter().product();
    let data: Vec<T> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).unwrap_or_else(|_| filled(shape, T::zero()))
    // ok: len == product(shape)
}

/// A block of ones.
pub fn ones_block<T: Scalar>(shape: &[usize]) -> ArrayD<T> {
    filled(shape, T::one())
}

/// A block of zeros.
pub fn zeros_block<T: Scalar>(shape: &[usize]) -> ArrayD<T> {
    filled(shape, T::zero())
}

/// A sparse block (a CSC matrix for a 2-D shape, a sparse vector for 1-D) in which each entry
/// is non-zero independently with probability `density`, with uniform values as [`rand_block`].
///
/// ```
/// use dagger_array::{create::sprand_block, Block};
/// let b = sprand_block::<f64>(&[100, 100], 0.1, 1, 0).unwrap();
/// assert!(matches!(b, Block::SparseMat(_)));
/// assert!((500..1500).contains(&b.nnz()));
/// assert!(sprand_block::<f64>(&[10], 1.5, 1, 0).is_err());
/// ```
pub fn sprand_block<T: Scalar>(
    shape: &[usize],
    density: f64,
    seed: u64,
    block: usize,
) -> Result<Block<T>>
where
    Standard: Distribution<T>,
{
    if !(0.0..=1.0).contains(&density) {
        return Err(Error::Argument(format!(
            "sprand: density {density} is not in [0, 1]"
        )));
    }
    let (rows, cols) = match shape {
        [n] => (*n, 1),
        [m, n] => (*m, *n),
        _ => {
            return Err(Error::Argument(format!(
                "sprand makes 1-D or 2-D arrays, not {}-D",
                shape.len()
            )))
        }
    };
    let mut rng = block_rng(seed, block);
    let total = rows * cols;
    // Column-major positions of the non-zeros, found by geometric skips: exact Bernoulli
    // sampling in time proportional to the number of non-zeros.
    let mut positions = Vec::new();
    if density > 0.0 && total > 0 {
        let geo = Geometric::new(density).map_err(|e| Error::Argument(format!("sprand: {e}")))?;
        let mut at: u64 = geo.sample(&mut rng);
        while (at as usize) < total {
            positions.push(at as usize);
            at = at.saturating_add(1).saturating_add(geo.sample(&mut rng));
        }
    }
    let values: Vec<T> = positions
        .iter()
        .map(|_| Standard.sample(&mut rng))
        .collect();
    if shape.len() == 1 {
        return Ok(Block::SparseVec(CsVec::new(rows, positions, values)));
    }
    let mut indptr = vec![0usize; cols + 1];
    let mut indices = Vec::with_capacity(positions.len());
    for &p in &positions {
        indptr[p / rows + 1] += 1;
        indices.push(p % rows);
    }
    for c in 0..cols {
        indptr[c + 1] += indptr[c];
    }
    Ok(Block::SparseMat(CsMat::new_csc(
        (rows, cols),
        indptr,
        indices,
        values,
    )))
}
