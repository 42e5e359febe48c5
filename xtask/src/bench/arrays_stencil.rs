//! The `arrays` suite's stencil and FFT workloads (sizes with `--quick` in brackets):
//! - `stencil_heat2d`: 10 steps of the 5-point heat stencil with clamp boundaries on a
//!   4096² f64 array in Blocks(1024) [1024², Blocks(256)], as `dagger-local` (the 10
//!   stencils as one lazy graph, computed once) against `rayon` (a plain double-buffered
//!   loop, `par_chunks_mut` over rows, on a 2-thread pool). MB/s of f64 per step.
//! - `fft2d`: the forward 2-D FFT of a 4096² complex f64 array \[512²\] as row FFTs, a
//!   transpose and row FFTs (no transpose back), as `dagger-local` (`fft2_transposed`,
//!   row blocks of 1024 \[128\]) against `rustfft` (the same steps on one thread, plans and
//!   buffers made before timing and reused; dagger-local likewise runs once untimed and
//!   drops each result before the next rep, so its block pool is warm; reps alternate
//!   between the two). MB/s of complex values, and each rep's CPU time (all threads) as
//!   `cpu_median_s`. `DAGGER_FFT2D_UNFUSED=1` adds `dagger-local-unfused`: the transpose
//!   and the second row FFTs as separate passes, as before they were fused.

use super::measure::{blocks, ok, timed};
use dagger::Context;
use dagger_array::bench::line;
use dagger_array::create::rand_block;
use dagger_array::halo::{Boundary, Taps};
use dagger_array::DArray;
use num_complex::Complex64;
use rayon::prelude::*;
use serde_json::{json, Value};
use std::time::Instant;

const ALPHA: f64 = 0.2;

/// One heat step of `a` into `b` (`n × n`, row-major), clamped at the edges.
fn heat_step(a: &[f64], b: &mut [f64], n: usize) {
    b.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        let up = &a[i.saturating_sub(1) * n..][..n];
        let mid = &a[i * n..][..n];
        let down = &a[(i + 1).min(n - 1) * n..][..n];
        for j in 0..n {
            let (l, r) = (mid[j.saturating_sub(1)], mid[(j + 1).min(n - 1)]);
            row[j] = mid[j] + ALPHA * (up[j] + down[j] + l + r - 4.0 * mid[j]);
        }
    });
}

/// `stencil_heat2d` as `rayon` and `dagger-local`.
pub(crate) fn stencil_heat2d(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, b, steps) = if quick {
        (1024, 256, 10)
    } else {
        (4096, 1024, 10)
    };
    let bytes = (n * n * 8 * steps) as f64;
    let mb = move |t: f64| bytes / 1e6 / t;
    let a0 = rand_block::<f64>(&[n, n], 4, 0);
    let flat = a0.as_slice().map(<[f64]>::to_vec).unwrap_or_default();
    let pool = ok(
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .map_err(|e| dagger::Error::Argument(e.to_string())),
        "rayon pool",
    );
    let mut want = Vec::new();
    let t = timed(
        reps,
        || (flat.clone(), vec![0.0; n * n]),
        |(mut a, mut b)| {
            pool.install(|| {
                for _ in 0..steps {
                    heat_step(&a, &mut b, n);
                    std::mem::swap(&mut a, &mut b);
                }
            });
            want = a;
        },
    );
    let mut out = vec![line(
        "stencil_heat2d",
        "rayon",
        json!({"n": n, "steps": steps, "threads": 2}),
        &t,
        "mb_per_s",
        mb,
    )];
    let x = ok(DArray::from_array(a0, &blocks(&[b, b])), "distribute");
    let x = ok(x.compute(ctx), "compute input");
    let taps = Taps::heat(2, ALPHA);
    let mut got = None;
    let t = timed(
        reps,
        || x.clone(),
        |mut a| {
            for _ in 0..steps {
                a = ok(a.stencil(&taps, &Boundary::Clamp), "stencil");
            }
            got = Some(ok(a.compute(ctx), "compute stencil"));
        },
    );
    let diff = got.map(|g| ok(g.collect_dense(ctx), "collect")).map(|g| {
        g.iter()
            .zip(&want)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    });
    let mut v = line(
        "stencil_heat2d",
        "dagger-local",
        json!({"n": n, "block": b, "steps": steps, "threads": ctx.num_threads()}),
        &t,
        "mb_per_s",
        mb,
    );
    v["max_abs_diff_vs_rayon"] = json!(diff);
    out.push(v);
    out
}

/// `n × n` row-major `a` transposed into `b`, in 64-wide tiles.
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

/// The CPU time (user + system, all threads) this process has used, in seconds: what a
/// rep costs in work, which a shared machine's load does not change the way it changes the
/// wall time. Clock ticks of `/proc/self/stat` (10 ms); 0 where there is no such file.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) close with ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (tick(11) + tick(12)) / 100.0
}

/// The median of `v` (NaN when empty).
fn median(v: &[f64]) -> f64 {
    let mut t = v.to_vec();
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `fft2d` as `rustfft` (one thread) and `dagger-local`; with `DAGGER_FFT2D_UNFUSED=1`
/// also `dagger-local-unfused` (row FFTs, `permutedims_to`, row FFTs as three lazy steps:
/// the transpose and the second FFTs as separate passes), interleaved with the others.
/// Each line also has `cpu_median_s`, the CPU time of a rep (all threads).
pub(crate) fn fft2d(ctx: &Context, quick: bool, reps: usize) -> Vec<Value> {
    let (n, b) = if quick { (512, 128) } else { (4096, 1024) };
    let bytes = (n * n * 16) as f64;
    let mb = move |t: f64| bytes / 1e6 / t;
    let pairs = rand_block::<f64>(&[n, n, 2], 6, 0);
    let data: Vec<Complex64> = pairs
        .as_slice()
        .unwrap_or(&[])
        .chunks_exact(2)
        .map(|p| Complex64::new(p[0], p[1]))
        .collect();
    let plan = rustfft::FftPlanner::<f64>::new().plan_fft_forward(n);
    let mut scratch = vec![Complex64::default(); plan.get_inplace_scratch_len()];
    let x = ok(DArray::from_array(pairs, &blocks(&[b, n, 2])), "distribute");
    let x = ok(x.compute(ctx), "compute input");
    let run = || {
        ok(
            ok(x.fft2_transposed(false), "fft2").compute(ctx),
            "compute fft2",
        )
    };
    // A careful single-thread user: both buffers made (and touched) before timing and
    // reused by every rep; the input copied into the first one untimed, since rustfft
    // transforms in place. dagger-local keeps the same discipline: one untimed run first
    // (dagger-array's pool then holds the block buffers, as the baseline's exist before
    // timing), and the previous result dropped untimed before each rep (its buffers back
    // to the pool, as the baseline overwrites its output). The reps alternate, so both
    // see the same load on a shared machine.
    let unfused = std::env::var("DAGGER_FFT2D_UNFUSED").is_ok_and(|v| v == "1");
    let run_unfused = || {
        let grid = ok(
            dagger_array::BlockGrid::new(&[n, n, 2], &blocks(&[b, n, 2]), 1),
            "grid",
        );
        let a = ok(x.fft(1, false), "fft rows");
        let t = ok(a.permutedims_to(&[1, 0, 2], &grid), "transpose");
        ok(ok(t.fft(1, false), "fft rows").compute(ctx), "compute fft2")
    };
    let (mut a, mut tr) = (data.clone(), vec![Complex64::default(); n * n]);
    let mut got = Some(run());
    let (mut base, mut dag, mut unf) = (Vec::new(), Vec::new(), Vec::new());
    let (mut base_cpu, mut dag_cpu, mut unf_cpu) = (Vec::new(), Vec::new(), Vec::new());
    if unfused {
        drop(run_unfused());
    }
    for _ in 0..reps.max(1) {
        a.copy_from_slice(&data);
        let (t0, c0) = (Instant::now(), cpu_s());
        plan.process_with_scratch(&mut a, &mut scratch);
        transpose(&a, &mut tr, n);
        plan.process_with_scratch(&mut tr, &mut scratch);
        base.push(t0.elapsed().as_secs_f64());
        base_cpu.push(cpu_s() - c0);
        drop(got.take());
        if unfused {
            let (t0, c0) = (Instant::now(), cpu_s());
            drop(run_unfused());
            unf.push(t0.elapsed().as_secs_f64());
            unf_cpu.push(cpu_s() - c0);
        }
        let (t0, c0) = (Instant::now(), cpu_s());
        got = Some(run());
        dag.push(t0.elapsed().as_secs_f64());
        dag_cpu.push(cpu_s() - c0);
    }
    let want = tr;
    let mut v = line(
        "fft2d",
        "rustfft",
        json!({"n": n, "threads": 1}),
        &base,
        "mb_per_s",
        mb,
    );
    v["cpu_median_s"] = json!(median(&base_cpu));
    let mut out = vec![v];
    if unfused {
        let mut v = line(
            "fft2d",
            "dagger-local-unfused",
            json!({"n": n, "block_rows": b, "threads": ctx.num_threads()}),
            &unf,
            "mb_per_s",
            mb,
        );
        v["cpu_median_s"] = json!(median(&unf_cpu));
        out.push(v);
    }
    let t = dag;
    let err = got.map(|g| ok(g.collect_dense(ctx), "collect")).map(|g| {
        let g = g.as_slice().unwrap_or(&[]).to_vec();
        let d: f64 = g
            .chunks_exact(2)
            .zip(&want)
            .map(|(p, w)| (Complex64::new(p[0], p[1]) - w).norm_sqr())
            .sum();
        let s: f64 = want.iter().map(|w| w.norm_sqr()).sum();
        (d / s.max(1e-300)).sqrt()
    });
    let mut v = line(
        "fft2d",
        "dagger-local",
        json!({"n": n, "block_rows": b, "threads": ctx.num_threads()}),
        &t,
        "mb_per_s",
        mb,
    );
    v["rel_err_vs_rustfft"] = json!(err);
    v["cpu_median_s"] = json!(median(&dag_cpu));
    out.push(v);
    out
}
