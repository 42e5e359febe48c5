//! The Chrome trace parses and has one track per timeline; the Gantt chart and the graph
//! pictures are real images (PNG decodes at the expected size with the category colours
//! and text in it; SVG has a rect per bar); the summary's totals match the spans.
//! Reference: dagger-jl-notes §4.3 (chrome_trace, plots_gantt, graphviz, summary).

use crate::common::*;
use dagger_profile::{
    summarize_events, write_chrome_trace, write_gantt, Collector, TaskGraph, Timespan,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn recorded() -> Vec<Timespan> {
    run_recorded(&Collector::new())
}

fn out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dagger-profile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir.join(name)
}

/// Decode a PNG: (width, height, distinct RGB colours).
fn decode_png(path: &PathBuf) -> (u32, u32, BTreeSet<[u8; 3]>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = png::Decoder::new(file)
        .read_info()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let colours = buf[..info.buffer_size()]
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, colours)
}

#[test]
fn chrome_trace_has_one_track_per_timeline() {
    let spans = recorded();
    let path = out("trace.json");
    write_chrome_trace(&spans, &path).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let events = v["traceEvents"].as_array().cloned().unwrap_or_default();
    let complete: Vec<_> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), spans.len());
    let names: BTreeMap<u64, String> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap_or(0),
                e["args"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let timelines: BTreeSet<&str> = spans.iter().map(|t| t.timeline.as_str()).collect();
    assert_eq!(names.len(), timelines.len());
    assert_eq!(
        names.values().map(String::as_str).collect::<BTreeSet<_>>(),
        timelines
    );
    for e in complete {
        let tid = e["tid"].as_u64().unwrap_or(0);
        let lane = names.get(&tid).map(String::as_str).unwrap_or("?");
        let span = spans
            .iter()
            .find(|t| {
                t.category == e["cat"]
                    && t.timeline == lane
                    && (t.start_ns as f64 / 1e3 - e["ts"].as_f64().unwrap_or(-1.0)).abs() < 1e-6
            })
            .unwrap_or_else(|| panic!("no span for {e}"));
        assert!((e["dur"].as_f64().unwrap_or(-1.0) - span.duration_ns() as f64 / 1e3).abs() < 1e-6);
    }
}

#[test]
fn gantt_png_has_the_expected_size_bars_and_text() {
    let spans = recorded();
    let path = out("gantt.png");
    write_gantt(&spans, &path).unwrap_or_else(|e| panic!("{e}"));
    let (w, h, colours) = decode_png(&path);
    let rows = spans
        .iter()
        .map(|t| &t.timeline)
        .collect::<BTreeSet<_>>()
        .len() as u32;
    // Layout: 1200 wide; 44 px title band, 26 px per timeline row, 70 px axis and legend.
    assert_eq!((w, h), (1200, 44 + 26 * rows + 70));
    assert!(colours.contains(&[255, 255, 255]), "background");
    assert!(colours.contains(&[31, 119, 180]), "compute bars");
    assert!(colours.contains(&[255, 127, 14]), "comm bars");
    assert!(colours.contains(&[30, 30, 30]), "text and axis");
}

#[test]
fn gantt_svg_has_a_rect_per_bar_and_labels() {
    let spans = recorded();
    let path = out("gantt.svg");
    write_gantt(&spans, &path).unwrap_or_else(|e| panic!("{e}"));
    let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    // One per bar, one per legend entry, one for the background.
    assert_eq!(svg.matches("<rect").count(), spans.len() + 5 + 1);
    assert!(svg.contains(&timeline(2)) && svg.contains("scheduler_init"));
}

fn diamond() -> TaskGraph {
    let mut g = TaskGraph::new();
    for (id, label, state) in [
        (1, "load", "done"),
        (2, "left", "done"),
        (3, "right", "running"),
        (4, "join", "failed"),
    ] {
        g.add_node(id, label, state);
    }
    for e in [(1, 2), (1, 3), (2, 4), (3, 4), (4, 5)] {
        g.add_edge(e.0, e.1);
    }
    g
}

#[test]
fn graph_layers_follow_the_longest_path() {
    let g = diamond();
    assert_eq!(
        g.layers().unwrap_or_default(),
        vec![vec![1], vec![2, 3], vec![4], vec![5]]
    );
    let mut cyclic = g.clone();
    cyclic.add_edge(5, 1);
    assert!(matches!(cyclic.layers(), Err(dagger_core::Error::Argument(m)) if m.contains("cycle")));
    assert!(matches!(
        cyclic.write_graph(out("cycle.svg")),
        Err(dagger_core::Error::Argument(_))
    ));
    assert!(matches!(
        g.write_graph(out("graph.gif")),
        Err(dagger_core::Error::Argument(_))
    ));
    let dot = g.to_dot();
    assert!(
        dot.starts_with("digraph") && dot.contains("n3 -> n4;") && dot.contains("label=\"join\"")
    );
}

#[test]
fn graph_pictures_have_boxes_labels_and_edges() {
    let g = diamond();
    let svg_path = out("graph.svg");
    g.write_graph(&svg_path).unwrap_or_else(|e| panic!("{e}"));
    let svg = std::fs::read_to_string(&svg_path).unwrap_or_else(|e| panic!("{e}"));
    // Background, then a fill and an outline per node (5, with the implicit #5), 3 legend keys.
    assert_eq!(svg.matches("<rect").count(), 1 + 2 * 5 + 3);
    for label in ["load", "left", "right", "join", "#5"] {
        assert!(svg.contains(&format!("\n{label}\n</text>")), "{label}");
    }
    // A line and an arrow head per edge.
    assert_eq!(svg.matches("<polyline").count(), 2 * g.edges.len());

    let png_path = out("graph.png");
    g.write_graph(&png_path).unwrap_or_else(|e| panic!("{e}"));
    let (w, h, colours) = decode_png(&png_path);
    assert!(w >= 200 && h > 4 * 28, "{w}x{h}");
    assert!(
        colours.len() > 4,
        "boxes in several colours, text and edges"
    );
}

#[test]
fn summary_reports_every_category_with_correct_totals() {
    let spans = recorded();
    let s = summarize_events(&spans);
    let text = s.to_string();
    for cat in dagger_profile::category::ALL {
        assert!(text.contains(cat), "{cat} missing from\n{text}");
        let mine: Vec<&Timespan> = spans.iter().filter(|t| t.category == cat).collect();
        let stats = s.category(cat).unwrap_or_else(|| panic!("{cat}"));
        assert_eq!(stats.count, mine.len());
        assert_eq!(
            stats.total_ns,
            mine.iter().map(|t| t.duration_ns()).sum::<u64>()
        );
    }
    let n = THREADS * TASKS;
    assert_eq!(s.category("comm").map(|c| c.bytes), Some(n * COMM_BYTES));
    assert_eq!(
        s.category("storage").map(|c| c.bytes),
        Some(n * STORE_BYTES)
    );
    assert_eq!(s.category("compute").map(|c| c.alloc_bytes), Some(n * 64));
    let first = spans.iter().map(|t| t.start_ns).min().unwrap_or(0);
    let last = spans.iter().map(|t| t.finish_ns).max().unwrap_or(0);
    assert_eq!(s.wall_ns, last - first);
    // Each thread's compute spans cover its comm and storage children, so its busy time is
    // the sum of its compute spans.
    for thread in 0..THREADS {
        let lane = s
            .timeline(&timeline(thread))
            .unwrap_or_else(|| panic!("lane {thread}"));
        let busy: u64 = spans
            .iter()
            .filter(|t| t.category == "compute" && t.timeline == timeline(thread))
            .map(|t| t.duration_ns())
            .sum();
        assert_eq!(lane.busy_ns, busy);
        assert!(lane.utilisation > 0.0 && lane.utilisation <= 1.0);
    }
    assert!(text.contains("Run Time"));
}
