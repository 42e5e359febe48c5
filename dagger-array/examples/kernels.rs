//! Narrow timings of two kernels on a 2-thread local context, for iterating on them without
//! the whole `xtask` (the figures of record are `cargo xtask bench linalg` / `arrays`):
//!
//! - `cargo run --release -p dagger-array --example kernels -- gemm [n] [b] [reps]`:
//!   `A.matmul(&A.transpose())` of a random n² array in b² blocks (4000, 1000), in counted
//!   GFLOP/s (2n³ / median), against faer's lower-triangle product on 2 threads;
//! - `... -- fft [n] [b] [reps]`: `fft2_transposed` of an n² complex array in row blocks of b
//!   (4096, 1024), against rustfft's row FFTs, a blocked transpose and row FFTs on one thread.
//!
//! Reps alternate between the two systems, so both see the same load.

use dagger_array::{Blocks, DArray};
use dagger_core::Result;
use dagger_sched::Context;
use num_complex::Complex64;
use std::time::Instant;

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn gemm(ctx: &Context, n: usize, b: usize, reps: usize) -> Result<()> {
    use faer::linalg::matmul::triangular::{matmul, BlockStructure};
    use faer::{Accum, Mat, Par};
    let x = DArray::<f64>::rand_seeded(&Blocks::new([b, b])?, &[n, n], 3)?.compute(ctx)?;
    let d = x.collect_dense(ctx)?;
    let a = Mat::<f64>::from_fn(n, n, |i, j| d[[i, j]]);
    let mut c = Mat::<f64>::zeros(n, n);
    let run = || -> Result<()> {
        x.matmul(&x.transpose()?)?.compute(ctx)?;
        Ok(())
    };
    run()?;
    let (mut dag, mut syrk) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let t0 = Instant::now();
        run()?;
        dag.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        let (lower, rect) = (BlockStructure::TriangularLower, BlockStructure::Rectangular);
        let at = a.transpose();
        let par = Par::rayon(2);
        matmul(
            c.as_mut(),
            lower,
            Accum::Replace,
            a.as_ref(),
            rect,
            at,
            rect,
            1.0,
            par,
        );
        syrk.push(t0.elapsed().as_secs_f64());
    }
    let f = 2.0 * (n as f64).powi(3) / 1e9;
    let (td, ts) = (median(dag), median(syrk));
    println!(
        "gemm_a_at n={n} b={b}: dagger-local {:.1} GFLOP/s ({td:.3} s), faer-syrk {:.1} ({ts:.3} s)",
        f / td,
        f / ts
    );
    Ok(())
}

fn transpose(a: &[Complex64], b: &mut [Complex64], n: usize) {
    const T: usize = 64;
    for i0 in (0..n).step_by(T) {
        for j0 in (0..n).step_by(T) {
            for i in i0..(i0 + T).min(n) {
                for j in j0..(j0 + T).min(n) {
                    b[j * n + i] = a[i * n + j];
                }
            }
        }
    }
}

fn fft(ctx: &Context, n: usize, b: usize, reps: usize) -> Result<()> {
    let pairs = dagger_array::create::rand_block::<f64>(&[n, n, 2], 6, 0);
    let data: Vec<Complex64> = pairs
        .as_slice()
        .unwrap_or(&[])
        .chunks_exact(2)
        .map(|p| Complex64::new(p[0], p[1]))
        .collect();
    let plan = rustfft::FftPlanner::<f64>::new().plan_fft_forward(n);
    let mut scratch = vec![Complex64::default(); plan.get_inplace_scratch_len()];
    let x = DArray::from_array(pairs, &Blocks::new([b, n, 2])?)?.compute(ctx)?;
    let run = || x.fft2_transposed(false).and_then(|f| f.compute(ctx));
    let (mut a, mut tr) = (data.clone(), vec![Complex64::default(); n * n]);
    let mut got = Some(run()?);
    let (mut base, mut dag) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        a.copy_from_slice(&data);
        let t0 = Instant::now();
        plan.process_with_scratch(&mut a, &mut scratch);
        transpose(&a, &mut tr, n);
        plan.process_with_scratch(&mut tr, &mut scratch);
        base.push(t0.elapsed().as_secs_f64());
        drop(got.take());
        let t0 = Instant::now();
        got = Some(run()?);
        dag.push(t0.elapsed().as_secs_f64());
    }
    let (tb, td) = (median(base), median(dag));
    println!(
        "fft2d n={n} b={b}: rustfft {tb:.3} s, dagger-local {td:.3} s: {:.2}x",
        tb / td
    );
    Ok(())
}

fn main() -> Result<()> {
    let ctx = Context::builder().threads(2).build();
    match std::env::args().nth(1).as_deref() {
        Some("gemm") => gemm(&ctx, arg(2, 4000), arg(3, 1000), arg(4, 5)),
        Some("fft") => fft(&ctx, arg(2, 4096), arg(3, 1024), arg(4, 5)),
        _ => {
            eprintln!("usage: kernels gemm|fft [n] [b] [reps]");
            Ok(())
        }
    }
}
