//! Single-threaded ndarray/sprs baselines for `cargo xtask bench arrays`: each function runs
//! one workload a few times and returns one JSON line in the shared benchmark format
//! (`workload`, `system`, `params`, `median_s`, `min_s`, `max_s`, `reps` and the figure of
//! merit). `quick` shrinks the sizes for a smoke run.

use crate::block::Block;
use crate::create::{rand_block, randn_block, sprand_block};
use crate::linalg::matmul_dense;
use dagger_core::{Error, Result};
use serde_json::{json, Value};
use std::time::Instant;

/// Times `f` `reps` times (after one untimed warm-up when `warm`), in seconds.
pub fn time_reps(reps: usize, warm: bool, mut f: impl FnMut()) -> Vec<f64> {
    if warm {
        f();
    }
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect()
}

/// One benchmark line from its timings and the figure of merit computed from the median.
pub fn line(
    workload: &str,
    system: &str,
    params: Value,
    times: &[f64],
    merit_key: &str,
    merit: impl Fn(f64) -> f64,
) -> Value {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    let median = if t.is_empty() {
        f64::NAN
    } else {
        t[t.len() / 2]
    };
    let mut v = json!({
        "workload": workload,
        "system": system,
        "params": params,
        "median_s": median,
        "min_s": t.first().copied().unwrap_or(f64::NAN),
        "max_s": t.last().copied().unwrap_or(f64::NAN),
        "reps": t.len(),
    });
    v[merit_key] = json!(merit(median));
    v
}

/// `sum(randn(n, m) .^ 2)`: generate a normal matrix and sum its squares (the reference's
/// first example); 10⁴×10⁴, or 2000×2000 with `quick`. Figure: MB of f64 per second.
pub fn sum_of_squares(quick: bool) -> Value {
    let n = if quick { 2000 } else { 10_000 };
    let mut check = 0.0;
    let times = time_reps(3, false, || {
        let a = randn_block::<f64>(&[n, n], 1, 0);
        check = a.iter().map(|x| x * x).sum::<f64>();
    });
    let bytes = (n * n * 8) as f64;
    let mut v = line(
        "randn_sum_squares",
        "ndarray",
        json!({"n": n, "m": n}),
        &times,
        "mb_per_s",
        |t| bytes / 1e6 / t,
    );
    v["result"] = json!(check);
    v
}

/// `A·Aᵀ` for an `n×n` dense matrix (n = 4000, or 1000 with `quick`) through ndarray's
/// `matrixmultiply` GEMM. Figure: GFLOP/s (2n³ flops).
pub fn gemm_aat(quick: bool) -> Result<Value> {
    let n = if quick { 1000 } else { 4000 };
    let a = rand_block::<f64>(&[n, n], 2, 0);
    let at = crate::linalg::transpose_dense(&a);
    let mut err = None;
    let times = time_reps(3, true, || {
        if let Err(e) = matmul_dense(&a, &at) {
            err = Some(e);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let flops = 2.0 * (n as f64).powi(3);
    Ok(line(
        "gemm_a_at",
        "ndarray",
        json!({"n": n}),
        &times,
        "gflop_per_s",
        |t| flops / 1e9 / t,
    ))
}

/// Sparse matrix × dense vector: `n×n` with density `d` (10⁵, 10⁻⁴; quick: 10⁴, 10⁻³) via
/// sprs. Figure: GFLOP/s (2·nnz flops).
pub fn spmv(quick: bool) -> Result<Value> {
    let (n, d) = if quick {
        (10_000, 1e-3)
    } else {
        (100_000, 1e-4)
    };
    let Block::SparseMat(a) = sprand_block::<f64>(&[n, n], d, 3, 0)? else {
        return Err(Error::Argument(
            "sprand of a 2-D shape is a sparse matrix".into(),
        ));
    };
    let x = ndarray::Array1::from_elem(n, 1.0f64);
    let mut s = 0.0;
    let times = time_reps(5, true, || {
        let y = &a * &x;
        s = y.sum();
    });
    let flops = 2.0 * a.nnz() as f64;
    let mut v = line(
        "spmv",
        "sprs",
        json!({"n": n, "density": d, "nnz": a.nnz()}),
        &times,
        "gflop_per_s",
        |t| flops / 1e9 / t,
    );
    v["result"] = json!(s);
    Ok(v)
}

/// Every baseline, one JSON value per line.
pub fn baselines(quick: bool) -> Result<Vec<Value>> {
    Ok(vec![sum_of_squares(quick), gemm_aat(quick)?, spmv(quick)?])
}

/// The same three workloads on a [`DArray`](crate::DArray) run by `ctx` (system
/// `"dagger-local"` or whatever `system` names), blocked as the reference does.
pub fn darray_workloads(
    ctx: &dagger_sched::Context,
    system: &str,
    quick: bool,
) -> Result<Vec<Value>> {
    use crate::darray::DArray;
    use crate::partition::Blocks;
    let mut out = Vec::new();
    // randn + sum of squares, Blocks(4000, 4000) as in the reference (quick: 1000).
    let (n, b) = if quick { (2000, 1000) } else { (10_000, 4000) };
    let part = Blocks::new([b, b])?;
    let mut check = Ok(0.0);
    let times = time_reps(3, false, || {
        check =
            DArray::<f64>::randn(&part, &[n, n]).and_then(|x| x.map(|v| v * v).sum().collect(ctx));
    });
    let bytes = (n * n * 8) as f64;
    let mut v = line(
        "randn_sum_squares",
        system,
        json!({"n": n, "m": n, "block": b}),
        &times,
        "mb_per_s",
        |t| bytes / 1e6 / t,
    );
    v["result"] = json!(check?);
    out.push(v);
    // A·Aᵀ.
    let (n, b) = if quick { (1000, 500) } else { (4000, 1000) };
    let a = DArray::<f64>::rand_seeded(&Blocks::new([b, b])?, &[n, n], 2)?.compute(ctx)?;
    let at = a.transpose()?.compute(ctx)?;
    let mut res = Ok(());
    let times = time_reps(3, true, || {
        res = a.matmul(&at).and_then(|c| c.compute(ctx)).map(|_| ());
    });
    res?;
    let flops = 2.0 * (n as f64).powi(3);
    out.push(line(
        "gemm_a_at",
        system,
        json!({"n": n, "block": b}),
        &times,
        "gflop_per_s",
        |t| flops / 1e9 / t,
    ));
    // Sparse matrix × sparse vector.
    let (n, d) = if quick {
        (10_000, 1e-3)
    } else {
        (100_000, 1e-4)
    };
    let b = n / 4;
    let m = DArray::<f64>::sprand_seeded(&Blocks::new([b, b])?, &[n, n], d, 3)?.compute(ctx)?;
    let x = DArray::<f64>::ones(&Blocks::new([b])?, &[n])?.compute(ctx)?;
    let mut res = Ok(());
    let times = time_reps(5, true, || {
        res = m.matmul(&x).and_then(|y| y.compute(ctx)).map(|_| ());
    });
    res?;
    let nnz = (n as f64) * (n as f64) * d;
    out.push(line(
        "spmv",
        system,
        json!({"n": n, "density": d, "block": b}),
        &times,
        "gflop_per_s",
        |t| 2.0 * nnz / 1e9 / t,
    ));
    Ok(out)
}
