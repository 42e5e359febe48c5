//! The heat equation on a blocked array: a hot square in a cold plate, 200 explicit steps
//! of the 5-point stencil with clamped (insulated) edges, checked against a plain loop;
//! then the 2-D FFT of the result, checked by transforming back.
//!
//!     cargo run --release --example stencil

use dagger::array::{Blocks, DArray};
use dagger::array::{Boundary, Taps};
use dagger::Context;
use std::time::Instant;

fn main() -> dagger::Result<()> {
    let ctx = Context::local();
    let (n, b, steps, alpha): (usize, usize, usize, f64) = (512, 128, 200, 0.2);
    let plate = ndarray::Array2::from_shape_fn((n, n), |(i, j)| {
        let hot = (n / 4..n / 2).contains(&i) && (n / 4..n / 2).contains(&j);
        if hot {
            100.0
        } else {
            0.0
        }
    })
    .into_dyn();
    let x = DArray::from_array(plate.clone(), &Blocks::from([b, b]))?;

    // Each step computes over all blocks before the next; every block stays where it is.
    let t0 = Instant::now();
    let heat = Taps::heat(2, alpha);
    let y = x.stencil_steps(&ctx, steps, &heat, &Boundary::Clamp)?;
    let got = y.collect_dense(&ctx)?;
    println!(
        "{steps} heat steps on {n}×{n} in {b}² blocks: {:?}",
        t0.elapsed()
    );

    // The same steps as a plain double-buffered loop.
    let (mut a, mut next) = (plate.clone(), plate);
    for _ in 0..steps {
        for i in 0..n {
            for j in 0..n {
                let at = |i: usize, j: usize| a[[i, j]];
                let nb = at(i.saturating_sub(1), j)
                    + at((i + 1).min(n - 1), j)
                    + at(i, j.saturating_sub(1))
                    + at(i, (j + 1).min(n - 1));
                next[[i, j]] = at(i, j) + alpha * (nb - 4.0 * at(i, j));
            }
        }
        std::mem::swap(&mut a, &mut next);
    }
    let diff = got
        .iter()
        .zip(&a)
        .map(|(p, q): (&f64, &f64)| (p - q).abs())
        .fold(0.0, f64::max);
    let total: f64 = got.sum();
    println!("max difference from the plain loop: {diff:.2e}; heat kept: {total:.1}");
    assert!(diff < 1e-9, "stencil and loop disagree by {diff}");
    // Insulated edges keep the heat: 100 per cell of the (n/4)² hot square.
    let start = 100.0 * (n / 4 * (n / 4)) as f64;
    assert!((total - start).abs() < 1e-6 * start);

    // The 2-D FFT of the plate (complex as pairs: [n, n, 2]) and back.
    let pairs = ndarray::Array3::from_shape_fn(
        (n, n, 2),
        |(i, j, k)| if k == 0 { got[[i, j]] } else { 0.0 },
    );
    let c = DArray::from_array(pairs.into_dyn(), &Blocks::from([b, n, 2]))?;
    let t0 = Instant::now();
    let spectrum = c.fft2(false)?.compute(&ctx)?;
    println!("2-D FFT of {n}×{n}: {:?}", t0.elapsed());
    let dc = spectrum
        .index(&[0.into(), 0.into(), 0.into()])?
        .collect(&ctx)?;
    println!(
        "frequency (0, 0) holds the total heat: {:.1}",
        dc.to_dense().sum()
    );
    let back = spectrum.fft2(true)?.collect_dense(&ctx)?;
    let err = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| (back[[i, j, 0]] - got[[i, j]]).abs())
        .fold(0.0, f64::max);
    println!("inverse FFT recovers the plate to {err:.2e}");
    assert!(err < 1e-9);
    Ok(())
}
