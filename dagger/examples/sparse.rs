//! The reference's "Sparse matrix support": a blocked random sparse matrix times a blocked
//! sparse vector, checked against sprs on the whole matrix, then saved to disk and loaded
//! back.
//!
//! Run with `cargo run --release --example sparse` (from the workspace root).

use dagger::{Context, Error, Result};
use dagger_array::{Block, Blocks, DArray};
use std::time::Instant;

fn main() -> Result<()> {
    let ctx = Context::local();
    let n = 10_000;

    // s1 = sprand(Blocks(4000, 4000), 10^4, 10^4, 0.01)
    let t = Instant::now();
    let s1 = DArray::<f64>::sprand_seeded(&Blocks::new([4000, 4000])?, &[n, n], 0.01, 1)?
        .compute(&ctx)?;
    println!("s1 = {s1}");
    // s2 = sprand(Blocks(4000,), 10^4, 0.01)
    let s2 = DArray::<f64>::sprand_seeded(&Blocks::new([4000])?, &[n], 0.01, 2)?.compute(&ctx)?;
    println!("s2 = {s2}");
    println!(
        "  made in {:.0} ms, one task per block",
        t.elapsed().as_secs_f64() * 1e3
    );

    // x = s1 * s2: one task per partial block product, accumulated per output block.
    let t = Instant::now();
    let x = s1.matmul(&s2)?.compute(&ctx)?;
    let dagger_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("s1 * s2 = {x}  ({dagger_ms:.1} ms)");

    // The same product with sprs on the whole matrix, in this thread.
    let (m, v) = match (s1.collect(&ctx)?, s2.collect(&ctx)?) {
        (Block::SparseMat(m), Block::SparseVec(v)) => (m, v),
        (a, b) => {
            return Err(Error::Argument(format!(
                "expected a sparse matrix and vector, got {:?} and {:?}",
                a.kind(),
                b.kind()
            )))
        }
    };
    println!(
        "  whole matrix: {}×{} with {} entries ({:.2}% dense); vector: {} entries",
        m.rows(),
        m.cols(),
        m.nnz(),
        100.0 * m.nnz() as f64 / (n * n) as f64,
        v.nnz()
    );
    let t = Instant::now();
    let want = &m * &v;
    let sprs_ms = t.elapsed().as_secs_f64() * 1e3;
    let got = x.collect(&ctx)?.to_dense();
    let mut max_err = 0.0f64;
    for (i, g) in got.iter().enumerate() {
        let w = want.get(i).copied().unwrap_or(0.0);
        max_err = max_err.max((g - w).abs());
    }
    println!(
        "  sprs: {} entries in {sprs_ms:.1} ms; largest difference from dagger: {max_err:e}",
        want.nnz()
    );
    if max_err > 1e-9 {
        return Err(Error::Argument(format!(
            "dagger and sprs disagree by {max_err}"
        )));
    }

    // compute(save(s1, "s1")); x = load(Context(), "s1")
    let dir = std::env::temp_dir().join(format!("dagger-sparse-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let path = dir.join("s1");
    let t = Instant::now();
    let saved = s1.save(&path).collect(&ctx)?;
    println!(
        "saved s1 as {} blocks to {} (+ {}) in {:.0} ms",
        saved.blocks.len(),
        path.display(),
        dagger_array::data_dir(&path).display(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let loaded = DArray::<f64>::load(&path)?;
    println!("load(\"s1\") = {loaded}");
    let back = loaded.collect(&ctx)?;
    println!(
        "collect(load(\"s1\")): {} entries, identical to s1: {}",
        back.nnz(),
        back == Block::SparseMat(m)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
