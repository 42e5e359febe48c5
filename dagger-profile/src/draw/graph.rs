//! [`TaskGraph`]: a picture of the task graph, as DOT text or a layered PNG/SVG drawing.

use super::{category_color, render, Align, Canvas};
use crate::timespan::Timespan;
use dagger_core::Error;
use plotters::style::RGBColor;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

const TEXT: u32 = 14;
const BOX_H: i32 = 28;
const H_GAP: i32 = 24;
const V_GAP: i32 = 48;
const MARGIN: i32 = 24;
const LEGEND: i32 = 40;
const MAX_LABEL: usize = 28;
const INK: RGBColor = RGBColor(30, 30, 30);
const EDGE: RGBColor = RGBColor(90, 90, 90);

/// One node of a [`TaskGraph`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    /// The task id.
    pub id: u64,
    /// What the picture writes in the box.
    pub label: String,
    /// Colours the node: a task state (`"done"`, `"failed"`) or a category.
    pub state: String,
}

/// A task graph to draw: nodes and `(from, to)` edges between their ids.
///
/// Layout for pictures: each node sits on the layer of the longest path that reaches it
/// (sources on top), nodes of a layer are ordered by the mean position of their
/// predecessors to limit crossings, and edges are straight lines with arrow heads. Edges
/// may name ids that have no node; such nodes are drawn labelled `#id`.
///
/// # Examples
///
/// ```
/// use dagger_profile::TaskGraph;
/// let mut g = TaskGraph::new();
/// g.add_node(1, "load", "done");
/// g.add_node(2, "square", "done");
/// g.add_node(3, "sum", "failed");
/// g.add_edge(1, 2);
/// g.add_edge(2, 3);
/// g.add_edge(1, 3);
/// assert_eq!(g.layers().unwrap(), vec![vec![1], vec![2], vec![3]]);
/// assert!(g.to_dot().contains("n1 -> n3;"));
/// let path = std::env::temp_dir().join("dagger-profile-doc-graph.svg");
/// g.write_graph(&path).unwrap();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskGraph {
    /// The nodes.
    pub nodes: Vec<GraphNode>,
    /// Edges `(from, to)`: `to` depends on `from`.
    pub edges: Vec<(u64, u64)>,
}

impl TaskGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a node.
    pub fn add_node(&mut self, id: u64, label: impl Into<String>, state: impl Into<String>) {
        self.nodes.push(GraphNode {
            id,
            label: label.into(),
            state: state.into(),
        });
    }

    /// Add an edge: `to` depends on `from`.
    pub fn add_edge(&mut self, from: u64, to: u64) {
        self.edges.push((from, to));
    }

    /// A graph of the `compute` spans of a recording (one node per task, labelled by name,
    /// coloured by timeline) with those of the given dependency edges whose ends are both
    /// in it (an observer hears edges of tasks the recording may not hold).
    ///
    /// ```
    /// use dagger_profile::{TaskGraph, Timespan};
    /// let spans = [Timespan::new("compute", 4, "ThreadProc(w1, 1)", 0, 1),
    ///              Timespan::new("compute", 5, "ThreadProc(w1, 1)", 1, 2),
    ///              Timespan::new("comm", 9, "OSProc(w1)", 0, 1)];
    /// let g = TaskGraph::from_timespans(&spans, vec![(4, 5), (3, 4), (9, 5)]);
    /// assert_eq!(g.nodes.len(), 2);
    /// assert_eq!(g.nodes[0].state, "ThreadProc(w1, 1)");
    /// assert_eq!(g.edges, [(4, 5)]);
    /// ```
    pub fn from_timespans(spans: &[Timespan], mut edges: Vec<(u64, u64)>) -> Self {
        let mut seen = BTreeSet::new();
        let nodes = spans
            .iter()
            .filter(|t| t.category == crate::timespan::category::COMPUTE && seen.insert(t.id))
            .map(|t| GraphNode {
                id: t.id,
                label: t.label(),
                state: t.timeline.clone(),
            })
            .collect();
        edges.retain(|(a, b)| seen.contains(a) && seen.contains(b));
        TaskGraph { nodes, edges }
    }

    /// The graph in Graphviz DOT, nodes filled with their state's colour.
    pub fn to_dot(&self) -> String {
        let mut others = Vec::new();
        let mut out = String::from("digraph dagger {\n  rankdir=TB;\n  node [shape=box, style=filled, fontname=\"sans-serif\"];\n");
        for n in &self.nodes {
            let RGBColor(r, g, b) = category_color(&n.state, &mut others);
            out.push_str(&format!(
                "  n{} [label=\"{}\", tooltip=\"{}\", fillcolor=\"#{r:02x}{g:02x}{b:02x}\", fontcolor=\"white\"];\n",
                n.id,
                dot_escape(&n.label),
                dot_escape(&n.state)
            ));
        }
        for (a, b) in &self.edges {
            out.push_str(&format!("  n{a} -> n{b};\n"));
        }
        out.push_str("}\n");
        out
    }

    /// Node ids by layer (longest-path layering), each layer in drawing order.
    ///
    /// # Errors
    ///
    /// [`Error::Argument`] if the edges form a cycle (a task graph must be acyclic).
    pub fn layers(&self) -> Result<Vec<Vec<u64>>, Error> {
        let mut ids: BTreeSet<u64> = self.nodes.iter().map(|n| n.id).collect();
        for (a, b) in &self.edges {
            ids.insert(*a);
            ids.insert(*b);
        }
        let edges: BTreeSet<(u64, u64)> = self.edges.iter().copied().collect();
        let mut preds: BTreeMap<u64, Vec<u64>> = ids.iter().map(|i| (*i, Vec::new())).collect();
        let mut succs: BTreeMap<u64, Vec<u64>> = preds.clone();
        let mut indeg: BTreeMap<u64, usize> = ids.iter().map(|i| (*i, 0)).collect();
        for (a, b) in &edges {
            succs.entry(*a).or_default().push(*b);
            preds.entry(*b).or_default().push(*a);
            *indeg.entry(*b).or_default() += 1;
        }
        // Kahn's order; a node's layer is one below its deepest predecessor.
        let mut layer: BTreeMap<u64, usize> = BTreeMap::new();
        let mut queue: VecDeque<u64> = indeg
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(i, _)| *i)
            .collect();
        while let Some(n) = queue.pop_front() {
            let l = preds[&n].iter().map(|p| layer[p] + 1).max().unwrap_or(0);
            layer.insert(n, l);
            for s in &succs[&n] {
                let d = indeg.entry(*s).or_default();
                *d -= 1;
                if *d == 0 {
                    queue.push_back(*s);
                }
            }
        }
        if let Some(stuck) = ids.iter().find(|i| !layer.contains_key(i)) {
            return Err(Error::Argument(format!(
                "task graph has a cycle through task {stuck}"
            )));
        }
        let depth = layer.values().max().map_or(0, |m| m + 1);
        let mut layers: Vec<Vec<u64>> = vec![Vec::new(); depth];
        for (id, l) in &layer {
            layers[*l].push(*id);
        }
        // One downward barycentre sweep: order by mean position of predecessors.
        let mut pos: BTreeMap<u64, f64> = BTreeMap::new();
        for layer in &mut layers {
            let key = |id: &u64| -> f64 {
                let ps = &preds[id];
                if ps.is_empty() {
                    *id as f64
                } else {
                    ps.iter()
                        .map(|p| pos.get(p).copied().unwrap_or(0.0))
                        .sum::<f64>()
                        / ps.len() as f64
                }
            };
            let mut keyed: Vec<(f64, u64)> = layer.iter().map(|id| (key(id), *id)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *layer = keyed.into_iter().map(|(_, id)| id).collect();
            for (i, id) in layer.iter().enumerate() {
                pos.insert(*id, i as f64);
            }
        }
        Ok(layers)
    }

    /// Draw the graph to `path`: PNG or SVG by the file extension.
    ///
    /// # Errors
    ///
    /// [`Error::Argument`] for a cycle or an extension other than `png`/`svg`;
    /// [`Error::Io`] if the file cannot be written.
    pub fn write_graph(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        super::Format::of(path)?;
        let layers = self.layers()?;
        let labels: BTreeMap<u64, (String, &str)> = self
            .nodes
            .iter()
            .map(|n| (n.id, (short(&n.label), n.state.as_str())))
            .collect();
        let label_of = |id: u64| {
            labels
                .get(&id)
                .map(|(l, _)| l.clone())
                .unwrap_or_else(|| format!("#{id}"))
        };
        // Widths are measured with the bitmap font (the wider of the two), so both formats
        // share one layout.
        let box_w = layers
            .iter()
            .flatten()
            .map(|id| super::font::width(&label_of(*id), super::font::scale_for(TEXT)))
            .max()
            .unwrap_or(0)
            .max(40)
            + 16;
        let widest = layers.iter().map(Vec::len).max().unwrap_or(0).max(1) as i32;
        let mut states: Vec<&str> = Vec::new();
        for n in &self.nodes {
            if !n.state.is_empty() && !states.contains(&n.state.as_str()) {
                states.push(&n.state);
            }
        }
        let scale = super::font::scale_for(TEXT - 2);
        let legend_w: i32 = states
            .iter()
            .map(|s| 18 + super::font::width(s, scale) + 20)
            .sum();
        let width = (2 * MARGIN + widest * box_w + (widest - 1) * H_GAP).max(2 * MARGIN + legend_w);
        let height = 2 * MARGIN + layers.len().max(1) as i32 * (BOX_H + V_GAP) - V_GAP + LEGEND;
        let mut centre: BTreeMap<u64, (i32, i32)> = BTreeMap::new();
        for (l, layer) in layers.iter().enumerate() {
            let row_w = layer.len() as i32 * box_w + (layer.len() as i32 - 1).max(0) * H_GAP;
            let x0 = (width - row_w) / 2 + box_w / 2;
            for (i, id) in layer.iter().enumerate() {
                centre.insert(
                    *id,
                    (
                        x0 + i as i32 * (box_w + H_GAP),
                        MARGIN + l as i32 * (BOX_H + V_GAP) + BOX_H / 2,
                    ),
                );
            }
        }
        let size = (
            u32::try_from(width.max(200)).unwrap_or(u32::MAX),
            u32::try_from(height).unwrap_or(u32::MAX),
        );
        render(path, size, |c: &mut dyn Canvas| {
            for (a, b) in &self.edges {
                if let (Some(&(ax, ay)), Some(&(bx, by))) = (centre.get(a), centre.get(b)) {
                    arrow(c, (ax, ay + BOX_H / 2), (bx, by - BOX_H / 2))?;
                }
            }
            let mut others = Vec::new();
            let mut states: Vec<(String, RGBColor)> = Vec::new();
            for (id, &(x, y)) in &centre {
                let state = labels.get(id).map(|(_, s)| *s).unwrap_or("");
                let color = category_color(state, &mut others);
                if !state.is_empty() && !states.iter().any(|(s, _)| s == state) {
                    states.push((state.to_owned(), color));
                }
                c.rect(
                    (x - box_w / 2, y - BOX_H / 2),
                    (x + box_w / 2, y + BOX_H / 2),
                    color,
                    true,
                )?;
                c.rect(
                    (x - box_w / 2, y - BOX_H / 2),
                    (x + box_w / 2, y + BOX_H / 2),
                    INK,
                    false,
                )?;
                c.text(
                    &label_of(*id),
                    (x, y),
                    TEXT,
                    RGBColor(255, 255, 255),
                    Align::Center,
                )?;
            }
            let mut x = MARGIN;
            let y = height - LEGEND / 2;
            for (s, color) in states {
                c.rect((x, y - 6), (x + 12, y + 6), color, true)?;
                c.text(&s, (x + 18, y), TEXT - 2, INK, Align::Left)?;
                x += 18 + c.text_width(&s, TEXT - 2) + 20;
            }
            Ok(())
        })
    }
}

/// A line from `a` to `b` with a small arrow head at `b`.
fn arrow(c: &mut dyn Canvas, a: (i32, i32), b: (i32, i32)) -> Result<(), Error> {
    c.line(&[a, b], EDGE)?;
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1.0 {
        return Ok(());
    }
    let (ux, uy) = (dx / len, dy / len);
    let head = |side: f64| {
        let (px, py) = (-uy * side, ux * side);
        (
            (b.0 as f64 - ux * 8.0 + px * 4.0) as i32,
            (b.1 as f64 - uy * 8.0 + py * 4.0) as i32,
        )
    };
    c.line(&[head(1.0), b, head(-1.0)], EDGE)
}

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(MAX_LABEL - 3).collect();
        s.push_str("...");
        s
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
