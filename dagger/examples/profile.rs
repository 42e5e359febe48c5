//! The reference's "Debugging performance": `x * x'` for `x = rand(Blocks(400, 4000), 1200,
//! 12000)`, computed under [`dagger::debug_compute`], with the timespans summarized and
//! drawn.
//!
//! Run with `cargo run --release --example profile [output-dir]` (from the workspace root).
//! It writes, into `output-dir` (default: the current directory):
//!
//! - `trace.json`: a Chrome trace (open it in <https://ui.perfetto.dev> or `chrome://tracing`);
//! - `gantt.png`: one row per thread processor, a bar per timespan;
//! - `graph.svg`: the task graph, from the dependencies an [`Observer`] heard at spawn time,
//!   each task coloured by the processor it ran on;
//! - `graph_fused.svg` and `graph_unfused.svg` (and each as `.png`): the task graphs of
//!   `sum(x.^2 .+ 1)` for `x = randn(Blocks(4, 4), 8, 12)` with the array library's fusion
//!   on and off (issue 11): fused, one `fused(^2 +1 sum)` task per block and the reduction
//!   tree; unfused, a `^`, a `+` and a `sum partial` task per block. The two task counts are
//!   printed.
//!
//! The product is written out as a graph of named thunks over the blocks of `x` (block by
//! block, as `DArray::matmul` works, but with a name on every task for the pictures), and
//! checked against `DArray`'s own `x.matmul(&x.transpose())`.

use dagger::observe::{Observer, TaskEvent, TaskEventKind};
use dagger::profile::{summarize_events, write_chrome_trace, write_gantt, TaskGraph, Timespan};
use dagger::{debug_compute, debug_run, delayed_with};
use dagger::{Context, Error, Options, Result, Thunk};
use dagger_array::extend::{matmul_dense, rand_block, transpose_dense};
use dagger_array::{ArithOp, ArrayOptions, Blocks, DArray, Side};
use ndarray::{concatenate, ArrayD, Axis};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Rows and columns of `x`, and of its blocks.
const ROWS: usize = 1200;
const COLS: usize = 12_000;
const BLOCK_ROWS: usize = 400;
const BLOCK_COLS: usize = 4000;
const SEED: u64 = 2024;
// The graph below sums and concatenates blocks three at a time.
const _: () = assert!(ROWS / BLOCK_ROWS == 3 && COLS / BLOCK_COLS == 3);

type Block = Arc<ArrayD<f64>>;

/// The dependency edges `(from, to)` of every task spawned on the context.
#[derive(Default)]
struct Edges(Mutex<Vec<(u64, u64)>>);

impl Observer for Edges {
    fn on_event(&self, e: &TaskEvent) {
        if let TaskEventKind::Spawned { deps } = &e.kind {
            // A poisoned lock only means another observer call panicked; keep the edges.
            let mut edges = self.0.lock().unwrap_or_else(|p| p.into_inner());
            edges.extend(deps.iter().map(|d| (d.0, e.task.0)));
        }
    }
}

/// A block operation's error fails its task: a panic in a task body becomes the task's
/// failure, with this message as the root cause.
fn or_fail<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn named(name: &str) -> Options {
    Options::new().name(name)
}

/// `x * x'` as thunks: block `(i, j)` of the result is `Σ_k x[i,k] · x[j,k]'`.
fn x_times_x_transpose() -> Thunk<Block> {
    let (bi, bk) = (ROWS / BLOCK_ROWS, COLS / BLOCK_COLS);
    // x = rand(Blocks(400, 4000), 1200, 12000), block by block (row-major block numbers, as
    // `DArray::rand_seeded` numbers them, so both draw the same values).
    let x: Vec<Vec<Thunk<Block>>> = (0..bi)
        .map(|i| {
            (0..bk)
                .map(|k| {
                    let b = i * bk + k;
                    delayed_with(
                        named("rand"),
                        move |()| Arc::new(rand_block::<f64>(&[BLOCK_ROWS, BLOCK_COLS], SEED, b)),
                        (),
                    )
                })
                .collect()
        })
        .collect();
    // x' block by block.
    let xt: Vec<Vec<Thunk<Block>>> = x
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| {
                    delayed_with(
                        named("transpose"),
                        |(b,)| Arc::new(transpose_dense(&b)),
                        (b,),
                    )
                })
                .collect()
        })
        .collect();
    // One product per (i, j, k), summed per (i, j).
    let mut rows = Vec::new();
    for xi in &x {
        let mut row = Vec::new();
        for xtj in &xt {
            let parts: Vec<Thunk<Block>> = xi
                .iter()
                .zip(xtj)
                .map(|(a, b)| {
                    delayed_with(
                        named("matmul"),
                        |(a, b)| Arc::new(or_fail(matmul_dense(&a, &b))),
                        (a, b),
                    )
                })
                .collect();
            row.push(delayed_with(
                named("sum"),
                |(a, b, c)| Arc::new(&*a + &*b + &*c),
                (&parts[0], &parts[1], &parts[2]),
            ));
        }
        rows.push(delayed_with(
            named("hcat"),
            |(a, b, c)| Arc::new(or_fail(cat(Axis(1), &[&a, &b, &c]))),
            (&row[0], &row[1], &row[2]),
        ));
    }
    delayed_with(
        named("vcat"),
        |(a, b, c)| Arc::new(or_fail(cat(Axis(0), &[&a, &b, &c]))),
        (&rows[0], &rows[1], &rows[2]),
    )
}

/// The recorded spans' task graph: the compute spans and the edges between them.
fn graph_of(dbg: &[Timespan], edges: &Edges) -> TaskGraph {
    let edges = edges.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    TaskGraph::from_timespans(dbg, edges)
}

/// `sum(x.^2 .+ 1)` for a small blocked `x`, with fusion on or off: its value and the task
/// graph, written to `path`.
fn fusion_graph(ctx: &Context, edges: &Edges, fuse: bool, path: &Path) -> Result<(f64, usize)> {
    let x = DArray::<f64>::randn_seeded(&Blocks::new([4, 4])?, &[8, 12], SEED)?;
    let y =
        x.arith_scalar(2.0, ArithOp::Pow, Side::Right)
            .arith_scalar(1.0, ArithOp::Add, Side::Right);
    let (dbg, v) = debug_run(ctx, || y.sum().collect_with(ctx, &ArrayOptions { fuse }));
    let graph = graph_of(&dbg, edges);
    graph.write_graph(path)?;
    // A PNG beside the SVG, for pages that show bitmaps only.
    graph.write_graph(path.with_extension("png"))?;
    Ok((v?, graph.nodes.len()))
}

fn cat(axis: Axis, parts: &[&Block]) -> Result<ArrayD<f64>> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(axis, &views).map_err(|e| Error::Argument(format!("concatenating blocks: {e}")))
}

fn main() -> Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    std::fs::create_dir_all(&out).map_err(|e| Error::Io(format!("{}: {e}", out.display())))?;

    let edges = Arc::new(Edges::default());
    let ctx = Context::builder().observer(edges.clone()).build();
    println!(
        "x * x' for x = rand(Blocks({BLOCK_ROWS}, {BLOCK_COLS}), {ROWS}, {COLS}) on {} threads",
        ctx.num_threads()
    );

    // dbg, result = debug_compute(x*x')
    let xxt = x_times_x_transpose();
    let t = Instant::now();
    let (dbg, result) = debug_compute(&ctx, &xxt);
    let result = result?.fetch()?;
    println!(
        "computed a {:?} result in {:.2} s; {} timespans",
        result.shape(),
        t.elapsed().as_secs_f64(),
        dbg.len()
    );
    println!("{}", summarize_events(&dbg));

    // The timespans are a plain Vec: filter them as the reference filters its arrays.
    let on_thread1: Vec<Timespan> = dbg
        .iter()
        .filter(|e| e.timeline == "ThreadProc(w1, 1)")
        .cloned()
        .collect();
    let s = summarize_events(&on_thread1);
    println!(
        "thread 1 alone: {} spans, {:.3} s busy",
        s.spans,
        s.timelines.first().map_or(0.0, |t| t.busy_ns as f64 / 1e9)
    );
    let products: Vec<Timespan> = dbg
        .iter()
        .filter(|e| e.category == "compute" && e.name.as_deref() == Some("matmul"))
        .cloned()
        .collect();
    let s = summarize_events(&products);
    if let Some(c) = s.category("compute") {
        println!(
            "the {} block products: {:.3} s in all, {:.1}–{:.1} ms each",
            c.count,
            c.total_ns as f64 / 1e9,
            c.min_ns as f64 / 1e6,
            c.max_ns as f64 / 1e6
        );
    }

    // The pictures.
    let trace = out.join("trace.json");
    write_chrome_trace(&dbg, &trace)?;
    let gantt = out.join("gantt.png");
    write_gantt(&dbg, &gantt)?;
    let graph = graph_of(&dbg, &edges);
    let svg = out.join("graph.svg");
    graph.write_graph(&svg)?;
    println!(
        "wrote {}, {} and {} ({} tasks, {} edges)",
        trace.display(),
        gantt.display(),
        svg.display(),
        graph.nodes.len(),
        graph.edges.len()
    );

    // Fusion in the picture: the same expression with the optimization pass on and off.
    let fused_svg = out.join("graph_fused.svg");
    let unfused_svg = out.join("graph_unfused.svg");
    let (a, fused_tasks) = fusion_graph(&ctx, &edges, true, &fused_svg)?;
    let (b, unfused_tasks) = fusion_graph(&ctx, &edges, false, &unfused_svg)?;
    println!(
        "sum(x.^2 .+ 1), x = randn(Blocks(4, 4), 8, 12): {fused_tasks} tasks fused, \
         {unfused_tasks} unfused (results {a:.6} and {b:.6}); wrote {} and {}",
        fused_svg.display(),
        unfused_svg.display()
    );
    if (a - b).abs() > 1e-9 * a.abs() || fused_tasks >= unfused_tasks {
        return Err(Error::Argument(format!(
            "fusion: {fused_tasks} tasks fused vs {unfused_tasks} unfused, results {a} vs {b}"
        )));
    }

    // The same product with the array library.
    let x =
        DArray::<f64>::rand_seeded(&Blocks::new([BLOCK_ROWS, BLOCK_COLS])?, &[ROWS, COLS], SEED)?;
    let t = Instant::now();
    let want = x.matmul(&x.transpose()?)?.collect_dense(&ctx)?;
    let max_err = want
        .iter()
        .zip(result.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    println!(
        "DArray x.matmul(&x.transpose()) took {:.2} s; largest difference: {max_err:e}",
        t.elapsed().as_secs_f64()
    );
    if want.shape() != result.shape() || max_err > 1e-6 {
        return Err(Error::Argument(format!(
            "the thunk graph and DArray disagree (shapes {:?} vs {:?}, difference {max_err})",
            result.shape(),
            want.shape()
        )));
    }
    Ok(())
}
