//! The `arrays` suite: blocked arrays (`dagger-array`) on a local context against
//! single-threaded whole-array baselines measured in the same run.
//!
//! Workloads (sizes with `--quick` in brackets):
//! - `randn_sum_squares`: `sum(randn(Blocks(4000,4000), 10⁴, 10⁴) .^ 2)` [2000², Blocks(1000)];
//!   ndarray: one whole `randn` array and its sum of squares. Figure: MB/s of f64.
//! - `gemm_a_at`: `A·Aᵀ`, 4000² in Blocks(1000) (1000², Blocks(250) with `--quick`); ndarray: `dot` on one
//!   thread and, as `ndarray-2threads`, the two row halves on two threads. GFLOP/s.
//! - `spmv`: sparse 10⁵×10⁵ at density 10⁻⁴ times a vector (10⁴, 10⁻³ with `--quick`); ndarray system is
//!   sprs's `CsMat × Array1`. GFLOP/s (2·nnz).
//! - `fused_sum_sq_plus_one`: `sum(x.^2 .+ 1)` on a computed randn 10⁴² in Blocks(4000)
//!   [2000², Blocks(1000)] with fusion on and off; `peak_block_bytes` is the most bytes of
//!   array blocks alive at once beyond the input, `peak_rss_bytes` the process's VmHWM
//!   (reset before each configuration where the kernel allows). MB/s.
//! - `sort_u64`: 10⁸ random u64 (10⁶ with `--quick`) in 8 blocks, `sort` (sample sort) against rayon's
//!   `par_sort_unstable` on a copy. MB/s.
//! - `stencil_heat2d` and `fft2d`: see [`super::arrays_stencil`].

use super::measure::{blocks, ok, timed};
use dagger::Context;
use dagger_array::bench::line;
use dagger_array::binary::Side;
use dagger_array::create::{rand_block, randn_block, sprand_block};
use dagger_array::linalg::{matmul_dense, transpose_dense};
use dagger_array::mem::{live_bytes, peak_bytes, reset_peak};
use dagger_array::sort::SortOptions;
use dagger_array::{ArithOp, ArrayOptions, Block, DArray};
use rayon::prelude::*;
use serde_json::{json, Value};

fn times(reps: usize, mut f: impl FnMut()) -> Vec<f64> {
    timed(reps, || (), |()| f())
}

/// The process's peak resident set (VmHWM), in bytes.
fn vm_hwm() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` value 5); false where not allowed.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn sum_of_squares(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, b) = if quick { (2000, 1000) } else { (10_000, 4000) };
    let bytes = (n * n * 8) as f64;
    let mb = move |t: f64| bytes / 1e6 / t;
    let mut out = Vec::new();
    let mut check = 0.0;
    let t = times(reps, || {
        let a = randn_block::<f64>(&[n, n], 1, 0);
        check = a.iter().map(|x| x * x).sum::<f64>();
    });
    let mut v = line(
        "randn_sum_squares",
        "ndarray",
        json!({"n": n}),
        &t,
        "mb_per_s",
        mb,
    );
    v["result"] = json!(check);
    out.push(v);
    let part = blocks(&[b, b]);
    let t = times(reps, || {
        let x = ok(DArray::<f64>::randn(&part, &[n, n]), "randn");
        check = ok(x.map(|v| v * v).sum().collect(ctx), "sum of squares");
    });
    let mut v = line(
        "randn_sum_squares",
        "dagger-local",
        json!({"n": n, "block": b, "threads": ctx.num_threads()}),
        &t,
        "mb_per_s",
        mb,
    );
    v["result"] = json!(check);
    out.push(v);
    out
}

fn gemm(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, b) = if quick { (1000, 250) } else { (4000, 1000) };
    let flops = 2.0 * (n as f64).powi(3);
    let gf = move |t: f64| flops / 1e9 / t;
    let a = rand_block::<f64>(&[n, n], 2, 0);
    let at = transpose_dense(&a);
    let mut out = Vec::new();
    let t = times(reps, || {
        ok(matmul_dense(&a, &at), "dot");
    });
    out.push(line(
        "gemm_a_at",
        "ndarray",
        json!({"n": n, "threads": 1}),
        &t,
        "gflop_per_s",
        gf,
    ));
    // Two row halves on two threads: what two independent tasks can reach.
    let h = n / 2;
    let top = a.slice(ndarray::s![..h, ..]).to_owned().into_dyn();
    let bottom = a.slice(ndarray::s![h.., ..]).to_owned().into_dyn();
    let t = times(reps, || {
        std::thread::scope(|s| {
            let j = s.spawn(|| ok(matmul_dense(&top, &at), "dot"));
            ok(matmul_dense(&bottom, &at), "dot");
            let _ = j.join();
        })
    });
    out.push(line(
        "gemm_a_at",
        "ndarray-2threads",
        json!({"n": n, "threads": 2}),
        &t,
        "gflop_per_s",
        gf,
    ));
    let x = ok(
        DArray::from_array(a.clone(), &blocks(&[b, b])),
        "distribute",
    );
    let x = ok(x.compute(ctx), "compute A");
    let xt = ok(ok(x.transpose(), "transpose").compute(ctx), "compute Aᵀ");
    let t = times(reps, || {
        ok(ok(x.matmul(&xt), "matmul").compute(ctx), "compute A·Aᵀ");
    });
    out.push(line(
        "gemm_a_at",
        "dagger-local",
        json!({"n": n, "block": b, "threads": ctx.num_threads()}),
        &t,
        "gflop_per_s",
        gf,
    ));
    out
}

fn spmv(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, d) = if quick {
        (10_000, 1e-3)
    } else {
        (100_000, 1e-4)
    };
    let Ok(Block::SparseMat(m)) = sprand_block::<f64>(&[n, n], d, 3, 0) else {
        panic!("sprand of a 2-D shape is a sparse matrix");
    };
    let nnz = m.nnz();
    let gf = move |t: f64| 2.0 * nnz as f64 / 1e9 / t;
    let v1 = ndarray::Array1::from_elem(n, 1.0f64);
    let mut out = Vec::new();
    let t = times(reps, || {
        let y = &m * &v1;
        assert!(y.len() == n);
    });
    out.push(line(
        "spmv",
        "ndarray",
        json!({"n": n, "density": d, "nnz": nnz, "library": "sprs"}),
        &t,
        "gflop_per_s",
        gf,
    ));
    let b = n / 4;
    let s = ok(
        DArray::distribute(Block::SparseMat(m), &blocks(&[b, b])),
        "distribute",
    );
    let s = ok(s.compute(ctx), "compute matrix");
    let x = ok(
        ok(DArray::<f64>::ones(&blocks(&[b]), &[n]), "ones").compute(ctx),
        "compute vector",
    );
    let t = times(reps, || {
        ok(ok(s.matmul(&x), "matmul").compute(ctx), "compute product");
    });
    out.push(line(
        "spmv",
        "dagger-local",
        json!({"n": n, "density": d, "nnz": nnz, "block": b}),
        &t,
        "gflop_per_s",
        gf,
    ));
    out
}

fn fused(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, b) = if quick { (2000, 1000) } else { (10_000, 4000) };
    let bytes = (n * n * 8) as f64;
    let mb = move |t: f64| bytes / 1e6 / t;
    let mut out = Vec::new();
    let x = ok(
        DArray::<f64>::randn_seeded(&blocks(&[b, b]), &[n, n], 5),
        "randn",
    );
    let x = ok(x.compute(ctx), "compute x");
    let whole = ok(x.collect_dense(ctx), "collect x");
    let mut check = 0.0;
    let t = times(reps, || {
        check = whole.iter().map(|v| v * v + 1.0).sum::<f64>();
    });
    let mut v = line(
        "fused_sum_sq_plus_one",
        "ndarray",
        json!({"n": n}),
        &t,
        "mb_per_s",
        mb,
    );
    v["result"] = json!(check);
    out.push(v);
    drop(whole);
    let expr = x
        .map(|v| v * v)
        .arith_scalar(1.0, ArithOp::Add, Side::Right)
        .sum();
    for fuse in [true, false] {
        let opts = ArrayOptions { fuse };
        let base = live_bytes();
        reset_peak();
        let hwm_reset = reset_hwm();
        let t = times(reps, || {
            check = ok(expr.collect_with(ctx, &opts), "fused sum");
        });
        let mut v = line(
            "fused_sum_sq_plus_one",
            "dagger-local",
            json!({"n": n, "block": b, "fuse": fuse}),
            &t,
            "mb_per_s",
            mb,
        );
        v["result"] = json!(check);
        v["peak_block_bytes"] = json!(peak_bytes() - base);
        if hwm_reset {
            v["peak_rss_bytes"] = json!(vm_hwm());
        }
        out.push(v);
    }
    out
}

fn sort(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let n: usize = if quick { 1_000_000 } else { 100_000_000 };
    let bytes = (n * 8) as f64;
    let mb = move |t: f64| bytes / 1e6 / t;
    let data = rand_block::<u64>(&[n], 9, 0);
    let mut out = Vec::new();
    let flat = data.as_slice().map(<[u64]>::to_vec).unwrap_or_default();
    let t = timed(
        reps,
        || flat.clone(),
        |mut v| {
            v.par_sort_unstable();
            assert!(v.len() == n);
        },
    );
    out.push(line(
        "sort_u64",
        "rayon",
        json!({"n": n, "threads": rayon::current_num_threads()}),
        &t,
        "mb_per_s",
        mb,
    ));
    drop(flat);
    let nb = 8;
    let x = ok(
        DArray::from_array(data, &blocks(&[n.div_ceil(nb)])),
        "distribute",
    );
    let x = ok(x.compute(ctx), "compute input");
    let t = times(reps, || {
        let s = ok(
            ok(x.sort(SortOptions::default()), "sort").compute(ctx),
            "compute sort",
        );
        assert!(s.len() == n);
    });
    out.push(line(
        "sort_u64",
        "dagger-local",
        json!({"n": n, "blocks": nb, "threads": ctx.num_threads()}),
        &t,
        "mb_per_s",
        mb,
    ));
    out
}

/// Whether workload `w` runs: `DAGGER_ARRAYS_WORKLOADS=stencil_heat2d,fft2d` runs only
/// those workloads (`out_of_core_a_plus_at` names the out-of-core one); unset, all run.
pub(crate) fn selected(w: &str) -> bool {
    let only = std::env::var("DAGGER_ARRAYS_WORKLOADS").ok();
    only.as_deref()
        .is_none_or(|o| o.split(',').any(|x| x.trim() == w))
}

/// Runs every workload of the suite (`quick`: small sizes) with `reps` timed repetitions and
/// returns one JSON value per line.
pub(crate) fn run(quick: bool, reps: usize) -> Vec<Value> {
    let ctx = Context::local();
    let on = selected;
    let mut out = Vec::new();
    if on("randn_sum_squares") {
        eprintln!("arrays: randn sum of squares");
        out.extend(sum_of_squares(&ctx, quick, reps));
    }
    if on("gemm_a_at") {
        eprintln!("arrays: A·Aᵀ");
        out.extend(gemm(&ctx, quick, reps));
    }
    if on("spmv") {
        eprintln!("arrays: sparse matrix × vector");
        out.extend(spmv(&ctx, quick, reps));
    }
    if on("fused_sum_sq_plus_one") {
        eprintln!("arrays: fused sum(x.^2 .+ 1)");
        out.extend(fused(&ctx, quick, reps));
    }
    if on("sort_u64") {
        eprintln!("arrays: sort u64");
        out.extend(sort(&ctx, quick, reps));
    }
    if on("stencil_heat2d") {
        eprintln!("arrays: 2-D heat stencil");
        out.extend(super::arrays_stencil::stencil_heat2d(&ctx, quick, reps));
    }
    if on("fft2d") {
        eprintln!("arrays: 2-D FFT");
        out.extend(super::arrays_stencil::fft2d(&ctx, quick, reps));
    }
    out
}
