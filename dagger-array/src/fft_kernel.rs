//! FFTs of blocks (rustfft, realfft), the block kernels of [`crate::fft`]. A complex block
//! holds interleaved pairs: a trailing dimension of length 2 (real, imaginary), so that the
//! float element types carry complex values without a complex element type. Transforms
//! run along one dimension, every lane of the block; an inverse divides by the length
//! (as Julia's `ifft` does). A length of 0 is an [`Error::Argument`], and so are integer
//! elements.

use crate::block::Block;
use crate::index::IndexPlan;
use crate::mem::{take_buffer, Held};
use crate::permute_kernel::{permute_region, permute_region_with};
use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use ndarray::{ArrayD, Axis, IxDyn};
use num_complex::Complex64;
use realfft::RealFftPlanner;
use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::Arc;

/// One FFT of a block, along `axis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FftOp {
    /// Complex to complex (pairs in and out), forward or inverse.
    Complex {
        /// The transformed dimension.
        axis: usize,
        /// Inverse transform (divided by the length).
        inverse: bool,
    },
    /// Real to complex: `n` reals in, `n / 2 + 1` pairs out.
    Real {
        /// The transformed dimension.
        axis: usize,
    },
    /// Complex to real: `n / 2 + 1` pairs in, `n` reals out (divided by `n`).
    RealInverse {
        /// The transformed dimension.
        axis: usize,
        /// The length of the real result.
        n: usize,
    },
}

thread_local! {
    // Planners cache their plans: one per thread, so block tasks plan each length once.
    static PLAN: RefCell<FftPlanner<f64>> = RefCell::new(FftPlanner::new());
    static REAL: RefCell<RealFftPlanner<f64>> = RefCell::new(RealFftPlanner::new());
    // The in-place scratch of the row FFTs, grown to the longest plan this thread ran.
    static SCRATCH: RefCell<Vec<Complex64>> = const { RefCell::new(Vec::new()) };
}

fn arg(msg: String) -> Error {
    Error::Argument(msg)
}

/// The pairs of a complex block as complex numbers (the trailing 2 dropped).
pub fn to_complex<T: Scalar>(b: &Block<T>) -> Result<ArrayD<Complex64>> {
    let shape = b.shape();
    if shape.len() < 2 || shape[shape.len() - 1] != 2 {
        return Err(arg(format!(
            "a complex block has a trailing dimension of 2 (real, imaginary), not shape {shape:?}"
        )));
    }
    let d = b.to_dense();
    let d = d.as_standard_layout();
    let f = |x: &T| x.to_f64().unwrap_or(f64::NAN);
    let flat = d.as_slice().unwrap_or(&[]);
    let v: Vec<Complex64> = flat
        .chunks_exact(2)
        .map(|p| Complex64::new(f(&p[0]), f(&p[1])))
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape[..shape.len() - 1]), v).map_err(|e| arg(e.to_string()))
}

/// Complex numbers as a block of pairs.
pub fn from_complex<T: Scalar>(c: ArrayD<Complex64>) -> Block<T> {
    let mut shape = c.shape().to_vec();
    shape.push(2);
    let g = |x: f64| T::from(x).unwrap_or_else(T::zero);
    let v: Vec<T> = c.iter().flat_map(|z| [g(z.re), g(z.im)]).collect();
    // The length is the product of the shape by construction.
    Block::Dense(
        ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0]))),
    )
}

/// `out` lane by lane: lane `k` of `x` along `axis` through `f` into lane `k` of a result
/// whose `axis` has length `m`.
fn lanes<A: Clone + num_traits::Zero, B: Clone + num_traits::Zero>(
    x: &ArrayD<A>,
    axis: usize,
    m: usize,
    mut f: impl FnMut(&mut [A], &mut [B]) -> Result<()>,
) -> Result<ArrayD<B>> {
    let mut shape = x.shape().to_vec();
    shape[axis] = m;
    let mut out = ArrayD::<B>::zeros(IxDyn(&shape));
    let mut a = vec![A::zero(); x.shape()[axis]];
    let mut b = vec![B::zero(); m];
    for (src, mut dst) in x
        .lanes(Axis(axis))
        .into_iter()
        .zip(out.lanes_mut(Axis(axis)))
    {
        a.iter_mut()
            .zip(src.iter())
            .for_each(|(a, s)| *a = s.clone());
        f(&mut a, &mut b)?;
        dst.iter_mut().zip(&b).for_each(|(d, s)| *d = s.clone());
    }
    Ok(out)
}

fn check_axis(axis: usize, nd: usize, shape: &[usize]) -> Result<usize> {
    if axis >= nd {
        return Err(arg(format!(
            "FFT along dimension {axis} of a block of shape {shape:?}"
        )));
    }
    match shape[axis] {
        0 => Err(arg("an FFT of length 0".into())),
        n => Ok(n),
    }
}

/// This thread's cached plan for complex FFTs of length `n`.
fn complex_plan(n: usize, inverse: bool) -> Arc<dyn rustfft::Fft<f64>> {
    PLAN.with(|p| {
        let mut p = p.borrow_mut();
        if inverse {
            p.plan_fft_inverse(n)
        } else {
            p.plan_fft_forward(n)
        }
    })
}

/// Complex FFTs of `c` along `axis` (in place; inverse divided by the length).
pub fn fft_complex(c: &mut ArrayD<Complex64>, axis: usize, inverse: bool) -> Result<()> {
    let n = check_axis(axis, c.ndim(), c.shape())?;
    let plan = complex_plan(n, inverse);
    let mut scratch = vec![Complex64::default(); plan.get_inplace_scratch_len()];
    if axis + 1 == c.ndim() && c.is_standard_layout() {
        if let Some(s) = c.as_slice_mut() {
            plan.process_with_scratch(s, &mut scratch);
        }
    } else {
        *c = lanes(c, axis, n, |a, b| {
            plan.process_with_scratch(a, &mut scratch);
            b.copy_from_slice(a);
            Ok(())
        })?;
    }
    if inverse {
        let k = 1.0 / n as f64;
        c.mapv_inplace(|z| z * k);
    }
    Ok(())
}

/// `a` as an array of `B` when `A` is `B` (a safe type cast through [`Any`]).
fn cast_array<A: 'static, B: 'static>(a: ArrayD<A>) -> Result<ArrayD<B>> {
    let boxed: Box<dyn Any> = Box::new(a);
    boxed
        .downcast::<ArrayD<B>>()
        .map(|b| *b)
        .map_err(|_| arg("an FFT block of another element type".into()))
}

/// The complex FFT of every row of a row-major `f64` block of pairs (`[.., n, 2]`), in
/// place: the pairs are read as `Complex64` without a copy, and the plan's scratch is this
/// thread's, kept between calls (a fresh zeroed scratch per row would write as many bytes
/// again as the row itself).
fn rows_in_place(x: &mut [f64], plan: &dyn rustfft::Fft<f64>, inverse: bool, n: usize) {
    let c: &mut [Complex64] = bytemuck::cast_slice_mut(x);
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        let need = plan.get_inplace_scratch_len();
        if s.len() < need {
            s.resize(need, Complex64::default());
        }
        plan.process_with_scratch(c, &mut s[..need]);
    });
    if inverse {
        let k = 1.0 / n as f64;
        c.iter_mut().for_each(|z| *z *= k);
    }
}

/// Whether the fast path of [`complex_rows`] takes a complex FFT of `b` along `axis`.
fn rows_fit<T: Scalar>(b: &Block<T>, axis: usize) -> bool {
    let Block::Dense(a) = b else {
        return false;
    };
    let (s, nd) = (a.shape(), a.ndim());
    TypeId::of::<T>() == TypeId::of::<f64>()
        && nd >= 2
        && s[nd - 1] == 2
        && axis + 2 == nd
        && s[axis] > 0
        && a.is_standard_layout()
}

/// The complex FFT along the rows of a dense row-major `f64` block of pairs
/// ([`rows_fit`]): in place when `held` is the only holder of the block, else each row
/// copied into the result (a recycled buffer) and transformed there while in cache.
fn complex_rows<T: Scalar>(held: Arc<Held<T>>, axis: usize, inverse: bool) -> Result<Block<T>> {
    let shape = held.shape();
    let n = shape[axis];
    let plan = complex_plan(n, inverse);
    let out: ArrayD<f64> = if Arc::strong_count(&held) == 1 {
        let Block::Dense(a) = held.into_block() else {
            return Err(arg("a sparse block in the dense FFT path".into()));
        };
        let mut a = cast_array::<T, f64>(a)?;
        match a.as_slice_mut() {
            Some(x) => rows_in_place(x, &*plan, inverse, n),
            None => return Err(arg("an FFT block not in row-major order".into())),
        }
        a
    } else {
        let Block::Dense(a) = &**held else {
            return Err(arg("a sparse block in the dense FFT path".into()));
        };
        let src = (a as &dyn Any)
            .downcast_ref::<ArrayD<f64>>()
            .and_then(|a| a.as_slice())
            .ok_or_else(|| arg("an FFT block not in row-major f64".into()))?;
        // Every value is written: a recycled buffer, not zeroed (see `crate::mem`).
        let mut v: Vec<f64> = take_buffer(src.len());
        for row in src.chunks_exact(2 * n) {
            let at = v.len();
            v.extend_from_slice(row);
            rows_in_place(&mut v[at..], &*plan, inverse, n);
        }
        ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| arg(e.to_string()))?
    };
    Ok(Block::Dense(cast_array::<f64, T>(out)?))
}

/// The region of `plan` permuted by `perm` ([`permute_region`]), then `op` on it: when the
/// permutation swaps the first two dimensions and `op` is a complex FFT of `f64` pairs along
/// the rows that swap writes (the second-last dimension, the last one the pair), each band of
/// output rows is transformed while it is still in cache, before it is written (the 2-D
/// FFT's transpose and second pass in one pass over memory); otherwise the permuted block is
/// transformed afterwards, in place.
pub fn permute_fft<T: Scalar>(
    plan: &IndexPlan,
    perm: &[usize],
    ins: &[&Block<T>],
    op: &FftOp,
) -> Result<Block<T>> {
    if !T::FLOAT {
        return Err(arg(format!("FFTs are for float elements, not {}", T::NAME)));
    }
    let nd = perm.len();
    let fits = |axis: usize| {
        TypeId::of::<T>() == TypeId::of::<f64>()
            && nd >= 3
            && axis + 2 == nd
            && plan.shape().get(nd - 1) == Some(&2)
            && perm
                .get(axis)
                .and_then(|&p| plan.shape().get(p))
                .is_some_and(|&n| n > 0)
    };
    let (block, done) = match *op {
        FftOp::Complex { axis, inverse } if fits(axis) => {
            let n = plan.shape()[perm[axis]];
            let plan_n = complex_plan(n, inverse);
            let mut rows = |band: &mut Vec<T>, len: usize, out: &mut Vec<T>| {
                if let Some(b) = (band as &mut dyn Any).downcast_mut::<Vec<f64>>() {
                    // Whole output rows, each a whole number of lanes of `n` pairs.
                    rows_in_place(&mut b[..len], &*plan_n, inverse, n);
                }
                out.extend_from_slice(&band[..len]);
            };
            permute_region_with(plan, perm, ins, &mut rows)?
        }
        _ => (permute_region(plan, perm, ins)?, false),
    };
    if done {
        return Ok(block);
    }
    run_fft_held(op, Arc::new(Held::new(block)))
}

/// Runs `op` on a block it may take: a complex FFT along the rows of a dense `f64` block
/// is done in place when no one else holds the block (else in one copy); everything else as
/// [`run_fft`] does.
pub fn run_fft_held<T: Scalar>(op: &FftOp, held: Arc<Held<T>>) -> Result<Block<T>> {
    if !T::FLOAT {
        return Err(arg(format!("FFTs are for float elements, not {}", T::NAME)));
    }
    match *op {
        FftOp::Complex { axis, inverse } if rows_fit(&held, axis) => {
            complex_rows(held, axis, inverse)
        }
        _ => run_fft(op, &held),
    }
}

/// Runs `op` on a block.
pub fn run_fft<T: Scalar>(op: &FftOp, b: &Block<T>) -> Result<Block<T>> {
    if !T::FLOAT {
        return Err(arg(format!("FFTs are for float elements, not {}", T::NAME)));
    }
    match *op {
        FftOp::Complex { axis, inverse } => {
            let mut c = to_complex(b)?;
            fft_complex(&mut c, axis, inverse)?;
            Ok(from_complex(c))
        }
        FftOp::Real { axis } => {
            let shape = b.shape();
            let n = check_axis(axis, shape.len(), &shape)?;
            let plan = REAL.with(|p| p.borrow_mut().plan_fft_forward(n));
            let x = b.to_dense().mapv(|v| v.to_f64().unwrap_or(f64::NAN));
            let c = lanes(&x, axis, n / 2 + 1, |a, o| {
                plan.process(a, o).map_err(|e| arg(e.to_string()))
            })?;
            Ok(from_complex(c))
        }
        FftOp::RealInverse { axis, n } => {
            let c = to_complex(b)?;
            let m = check_axis(axis, c.ndim(), c.shape())?;
            if n == 0 || n / 2 + 1 != m {
                return Err(arg(format!(
                    "an inverse real FFT of length {n} from {m} values"
                )));
            }
            let plan = REAL.with(|p| p.borrow_mut().plan_fft_inverse(n));
            let k = 1.0 / n as f64;
            let x = lanes(&c, axis, n, |a, o| {
                // The transform of reals has real first (and, for even n, last) values.
                a[0].im = 0.0;
                if n % 2 == 0 {
                    a[m - 1].im = 0.0;
                }
                plan.process(a, o).map_err(|e| arg(e.to_string()))?;
                o.iter_mut().for_each(|v| *v *= k);
                Ok(())
            })?;
            Ok(Block::Dense(x.mapv(|v| T::from(v).unwrap_or_else(T::zero))))
        }
    }
}
