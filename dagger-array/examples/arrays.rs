//! The reference's array examples on a local context:
//! `cargo run --release --example arrays` (from the workspace root).
//!
//! 1. a 10⁴×10⁴ random matrix in 4000×4000 blocks, computed, and the sum of squares of a
//!    normal one (≈ 10⁸);
//! 2. distributing a 1000×1000 matrix in 100×100 blocks, squaring and summing it;
//! 3. saving `x.^2` and loading it back;
//! 4. a sparse random matrix times a sparse random vector.

use dagger_array::{Blocks, DArray};
use dagger_core::Result;
use dagger_sched::Context;
use std::time::Instant;

fn main() -> Result<()> {
    let ctx = Context::local();
    let t = Instant::now();

    // Playing with random matrices.
    let a = DArray::<f64>::rand(&Blocks::new([4000, 4000])?, &[10_000, 10_000])?;
    let b = a.compute(&ctx)?;
    println!("{b}");
    drop(b);
    let x = DArray::<f64>::randn(&Blocks::new([4000, 4000])?, &[10_000, 10_000])?;
    let s = x.map(|v| v * v).sum().collect(&ctx)?;
    println!("sum(x.^2) = {s:e}  (close to 1e8)");

    // Distributing data.
    let a = dagger_array::extend::rand_block::<f64>(&[1000, 1000], rand::random(), 0);
    let b = DArray::from_array(a.clone(), &Blocks::new([100, 100])?)?;
    let c = b.map(|v| v * v);
    let d = c.sum().collect(&ctx)?;
    let want: f64 = a.iter().map(|v| v * v).sum();
    println!("sum(map(x -> x^2, distribute(rand(1000, 1000)))) = {d} (ndarray: {want})");
    println!(
        "X[20:100, 20:100] is {:?}",
        b.index(&[(20..100).into(), (20..100).into()])?
            .collect(&ctx)?
            .shape()
    );

    // Saving and loading data.
    let dir = std::env::temp_dir().join(format!("dagger-array-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| dagger_core::Error::Io(e.to_string()))?;
    let path = dir.join("X_sq");
    let x = DArray::<f64>::randn(&Blocks::new([1000, 1000])?, &[4000, 2000])?;
    let sq = x.map(|v| v * v);
    let saved = sq.save(&path).collect(&ctx)?;
    let back = DArray::<f64>::load(&path)?;
    println!(
        "saved {} blocks to {}; loaded {back}; sum = {:e} (before saving: {:e})",
        saved.blocks.len(),
        path.display(),
        back.sum().collect(&ctx)?,
        sq.sum().collect(&ctx)?
    );
    let _ = std::fs::remove_dir_all(&dir);

    // Sparse matrix support.
    let s1 = DArray::<f64>::sprand(&Blocks::new([4000, 4000])?, &[10_000, 10_000], 0.01)?;
    let s1 = s1.compute(&ctx)?;
    println!("{s1}");
    let s2 = DArray::<f64>::sprand(&Blocks::new([4000])?, &[10_000], 0.01)?.compute(&ctx)?;
    println!("{s2}");
    let y = s1.matmul(&s2)?.compute(&ctx)?;
    println!("s1 * s2 = {y}");
    eprintln!("done in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}
