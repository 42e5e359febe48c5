//! [`summarize_events`]: totals per category and per timeline, and merged profile samples.

use crate::timespan::{category, Sample, Timespan};
use std::collections::BTreeMap;
use std::fmt;

/// Totals for one category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryStats {
    /// The category.
    pub category: String,
    /// How many spans.
    pub count: usize,
    /// Sum of their durations (spans on different timelines add up, as in the reference).
    pub total_ns: u64,
    /// The shortest span.
    pub min_ns: u64,
    /// The longest span.
    pub max_ns: u64,
    /// Sum of bytes moved or stored.
    pub bytes: u64,
    /// Sum of bytes allocated.
    pub alloc_bytes: u64,
}

/// Busy time of one timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineStats {
    /// The timeline (processor).
    pub timeline: String,
    /// How many spans ran on it.
    pub count: usize,
    /// Time covered by at least one span (nested or overlapping spans count once).
    pub busy_ns: u64,
    /// `busy_ns` over the summary's wall time, in `0.0..=1.0`.
    pub utilisation: f64,
}

/// What [`summarize_events`] found; its `Display` is the printed report.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of timespans summarized.
    pub spans: usize,
    /// Earliest start.
    pub start_ns: u64,
    /// Latest finish.
    pub finish_ns: u64,
    /// `finish_ns - start_ns`: the wall time the spans cover.
    pub wall_ns: u64,
    /// Per category: the convention's categories first, then others by name.
    pub categories: Vec<CategoryStats>,
    /// Per timeline, by name.
    pub timelines: Vec<TimelineStats>,
    /// Profile samples of all spans, merged by stack and sorted by stack.
    pub samples: Vec<Sample>,
}

impl Summary {
    /// The stats of `category`, if any span had it.
    pub fn category(&self, category: &str) -> Option<&CategoryStats> {
        self.categories.iter().find(|c| c.category == category)
    }

    /// The stats of `timeline`, if any span ran on it.
    pub fn timeline(&self, timeline: &str) -> Option<&TimelineStats> {
        self.timelines.iter().find(|t| t.timeline == timeline)
    }

    /// The merged samples in folded form: one `root;child;leaf count` line per stack, the
    /// input format of flame-graph tools.
    pub fn folded(&self) -> String {
        let mut out = String::new();
        for s in &self.samples {
            out.push_str(&s.stack.join(";"));
            out.push_str(&format!(" {}\n", s.count));
        }
        out
    }

    /// The merged samples as an indented call tree, each frame with its inclusive count
    /// (as Julia's `Profile.print`).
    pub fn call_tree(&self) -> String {
        #[derive(Default)]
        struct Node {
            count: u64,
            children: BTreeMap<String, Node>,
        }
        fn print(node: &Node, depth: usize, out: &mut String) {
            let mut kids: Vec<_> = node.children.iter().collect();
            kids.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
            for (name, child) in kids {
                out.push_str(&format!(
                    "{:width$}{} {}\n",
                    "",
                    child.count,
                    name,
                    width = depth
                ));
                print(child, depth + 1, out);
            }
        }
        let mut root = Node::default();
        for s in &self.samples {
            let mut node = &mut root;
            for frame in &s.stack {
                node = node.children.entry(frame.clone()).or_default();
                node.count += s.count;
            }
        }
        let mut out = String::new();
        print(&root, 0, &mut out);
        out
    }
}

/// Summarize timespans: wall time, per-category counts, time, bytes and allocations,
/// per-timeline busy time and utilisation, and merged profile samples.
///
/// Pass a filtered vector to answer the reference's questions ("how much time did process 2
/// spend communicating?").
///
/// # Examples
///
/// ```
/// use dagger_profile::{summarize_events, Timespan};
/// let mut comm = Timespan::new("comm", 3, "OSProc(w3)", 0, 2_000_000);
/// comm.bytes = 1024;
/// let spans = vec![
///     Timespan::new("compute", 1, "ThreadProc(w2, 1)", 0, 1_000_000),
///     Timespan::new("compute", 2, "ThreadProc(w2, 1)", 500_000, 3_000_000),
///     comm,
/// ];
/// let on_w3_comm: Vec<_> = spans.iter()
///     .filter(|t| t.timeline == "OSProc(w3)" && t.category == "comm").cloned().collect();
/// assert_eq!(summarize_events(&on_w3_comm).category("comm").map(|c| c.bytes), Some(1024));
///
/// let s = summarize_events(&spans);
/// assert_eq!(s.wall_ns, 3_000_000);
/// assert_eq!(s.category("compute").map(|c| (c.count, c.total_ns)), Some((2, 3_500_000)));
/// assert_eq!(s.timeline("ThreadProc(w2, 1)").map(|t| t.busy_ns), Some(3_000_000));
/// assert!(s.to_string().contains("compute"));
/// ```
pub fn summarize_events(spans: &[Timespan]) -> Summary {
    let start_ns = spans.iter().map(|t| t.start_ns).min().unwrap_or(0);
    let finish_ns = spans.iter().map(|t| t.finish_ns).max().unwrap_or(0);
    let wall_ns = finish_ns.saturating_sub(start_ns);

    let mut cats: BTreeMap<&str, CategoryStats> = BTreeMap::new();
    let mut lanes: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    let mut samples: BTreeMap<&[String], u64> = BTreeMap::new();
    for t in spans {
        let d = t.duration_ns();
        let c = cats.entry(&t.category).or_insert_with(|| CategoryStats {
            category: t.category.clone(),
            count: 0,
            total_ns: 0,
            min_ns: u64::MAX,
            max_ns: 0,
            bytes: 0,
            alloc_bytes: 0,
        });
        c.count += 1;
        c.total_ns = c.total_ns.saturating_add(d);
        c.min_ns = c.min_ns.min(d);
        c.max_ns = c.max_ns.max(d);
        c.bytes = c.bytes.saturating_add(t.bytes);
        c.alloc_bytes = c.alloc_bytes.saturating_add(t.alloc_bytes);
        lanes
            .entry(&t.timeline)
            .or_default()
            .push((t.start_ns, t.finish_ns));
        for s in &t.samples {
            *samples.entry(&s.stack).or_default() += s.count;
        }
    }

    let rank = |name: &str| {
        category::ALL
            .iter()
            .position(|c| *c == name)
            .unwrap_or(usize::MAX)
    };
    let mut categories: Vec<CategoryStats> = cats.into_values().collect();
    categories
        .sort_by(|a, b| (rank(&a.category), &a.category).cmp(&(rank(&b.category), &b.category)));

    let timelines = lanes
        .into_iter()
        .map(|(name, intervals)| {
            let count = intervals.len();
            let busy_ns = union_length(intervals);
            let utilisation = if wall_ns == 0 {
                0.0
            } else {
                busy_ns as f64 / wall_ns as f64
            };
            TimelineStats {
                timeline: name.to_owned(),
                count,
                busy_ns,
                utilisation,
            }
        })
        .collect();

    Summary {
        spans: spans.len(),
        start_ns,
        finish_ns,
        wall_ns,
        categories,
        timelines,
        samples: samples
            .into_iter()
            .map(|(stack, count)| Sample {
                stack: stack.to_vec(),
                count,
            })
            .collect(),
    }
}

/// Total length covered by a set of intervals.
fn union_length(mut intervals: Vec<(u64, u64)>) -> u64 {
    intervals.sort_unstable();
    let mut total = 0u64;
    let mut current: Option<(u64, u64)> = None;
    for (s, f) in intervals {
        current = match current {
            Some((cs, cf)) if s <= cf => Some((cs, cf.max(f))),
            Some((cs, cf)) => {
                total += cf - cs;
                Some((s, f))
            }
            None => Some((s, f)),
        };
    }
    if let Some((cs, cf)) = current {
        total += cf - cs;
    }
    total
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Bytes as a short human-readable figure (KiB, MiB, ...).
pub(crate) fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "=== Dagger Execution Summary ===")?;
        writeln!(
            f,
            "Run Time: {:.6} seconds ({} spans on {} timelines)",
            secs(self.wall_ns),
            self.spans,
            self.timelines.len()
        )?;
        if self.spans == 0 {
            return Ok(());
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<16} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "category", "count", "total (s)", "mean (s)", "min (s)", "max (s)", "bytes", "alloc"
        )?;
        for c in &self.categories {
            writeln!(
                f,
                "{:<16} {:>8} {:>12.6} {:>12.6} {:>12.6} {:>12.6} {:>12} {:>12}",
                c.category,
                c.count,
                secs(c.total_ns),
                secs(c.total_ns) / c.count.max(1) as f64,
                secs(c.min_ns),
                secs(c.max_ns),
                fmt_bytes(c.bytes),
                fmt_bytes(c.alloc_bytes),
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<28} {:>8} {:>12} {:>12}",
            "timeline", "spans", "busy (s)", "utilisation"
        )?;
        for t in &self.timelines {
            writeln!(
                f,
                "{:<28} {:>8} {:>12.6} {:>11.1}%",
                t.timeline,
                t.count,
                secs(t.busy_ns),
                t.utilisation * 100.0
            )?;
        }
        if !self.samples.is_empty() {
            writeln!(f)?;
            writeln!(f, "Profile (inclusive samples per frame):")?;
            f.write_str(&self.call_tree())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod test;
