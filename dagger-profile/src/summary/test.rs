use super::*;

fn span(cat: &str, id: u64, tl: &str, s: u64, f: u64) -> Timespan {
    Timespan::new(cat, id, tl, s, f)
}

#[test]
fn union_counts_nested_and_overlapping_once() {
    assert_eq!(union_length(vec![(0, 10), (2, 5), (8, 20), (30, 31)]), 21);
    assert_eq!(union_length(vec![]), 0);
}

#[test]
fn totals_per_category_and_timeline() {
    let mut a = span("comm", 1, "OSProc(w2)", 100, 300);
    a.bytes = 10;
    a.alloc_bytes = 4;
    let mut b = span("comm", 2, "OSProc(w2)", 400, 500);
    b.bytes = 5;
    let c = span("weird", 3, "x", 0, 1000);
    let s = summarize_events(&[c, a, b]);
    assert_eq!(s.wall_ns, 1000);
    let comm = s.category("comm").cloned();
    assert_eq!(
        comm,
        Some(CategoryStats {
            category: "comm".into(),
            count: 2,
            total_ns: 300,
            min_ns: 100,
            max_ns: 200,
            bytes: 15,
            alloc_bytes: 4
        })
    );
    // Convention categories come before others.
    assert_eq!(s.categories[0].category, "comm");
    let w2 = s.timeline("OSProc(w2)").cloned();
    assert_eq!(w2.as_ref().map(|t| t.busy_ns), Some(300));
    assert!((w2.map(|t| t.utilisation).unwrap_or(0.0) - 0.3).abs() < 1e-9);
}

#[test]
fn samples_merge_into_tree_and_folded_text() {
    let mut a = span("compute", 1, "t", 0, 1);
    a.samples = vec![
        Sample {
            stack: vec!["main".into(), "f".into()],
            count: 2,
        },
        Sample {
            stack: vec!["main".into(), "g".into()],
            count: 1,
        },
    ];
    let mut b = span("compute", 2, "t", 0, 1);
    b.samples = vec![Sample {
        stack: vec!["main".into(), "f".into()],
        count: 3,
    }];
    let s = summarize_events(&[a, b]);
    assert_eq!(s.folded(), "main;f 5\nmain;g 1\n");
    assert_eq!(s.call_tree(), "6 main\n 5 f\n 1 g\n");
    assert!(s.to_string().contains("6 main"));
}

#[test]
fn empty_summary_prints_zero_run_time() {
    let s = summarize_events(&[]);
    assert_eq!(s.wall_ns, 0);
    assert!(s.to_string().contains("Run Time: 0.000000 seconds"));
}

#[test]
fn bytes_are_human_readable() {
    assert_eq!(fmt_bytes(12), "12 B");
    assert_eq!(fmt_bytes(1536), "1.50 KiB");
    assert_eq!(fmt_bytes(3 << 20), "3.00 MiB");
}
