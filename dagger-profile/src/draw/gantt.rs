//! The Gantt chart: one row per timeline, one bar per timespan, coloured by category.

use super::{category_color, render, Align, Canvas};
use crate::timespan::Timespan;
use dagger_core::Error;
use plotters::style::RGBColor;
use std::cmp::Ordering;
use std::path::Path;

const WIDTH: u32 = 1200;
const ROW: i32 = 26;
const BAR: i32 = 18;
const TOP: i32 = 44;
const TEXT: u32 = 14;
const GREY: RGBColor = RGBColor(200, 200, 200);
const INK: RGBColor = RGBColor(30, 30, 30);

/// Draw a Gantt chart of `spans` to `path`: PNG or SVG by the file extension.
///
/// One row per timeline (in natural order, so `ThreadProc(w1, 10)` follows
/// `ThreadProc(w1, 9)`), time across in milliseconds from the first start, bars coloured by
/// category with a legend; a span nested in another on the same row is drawn thinner on
/// top of it.
///
/// # Errors
///
/// [`Error::Argument`] if the extension is neither `png` nor `svg`; [`Error::Io`] if the
/// file cannot be written.
///
/// # Examples
///
/// ```
/// use dagger_profile::{write_gantt, Timespan};
/// let spans = vec![
///     Timespan::new("compute", 1, "ThreadProc(w1, 1)", 0, 4_000_000),
///     Timespan::new("comm", 2, "ThreadProc(w1, 2)", 1_000_000, 2_000_000),
/// ];
/// let path = std::env::temp_dir().join("dagger-profile-doc-gantt.svg");
/// write_gantt(&spans, &path).unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().contains("ThreadProc(w1, 2)"));
/// ```
pub fn write_gantt(spans: &[Timespan], path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    let mut rows: Vec<&str> = spans.iter().map(|t| t.timeline.as_str()).collect();
    rows.sort_by(|a, b| natural_cmp(a, b));
    rows.dedup();
    let mut categories: Vec<&str> = Vec::new();
    for t in spans {
        if !categories.contains(&t.category.as_str()) {
            categories.push(&t.category);
        }
    }
    let height = TOP + rows.len().max(1) as i32 * ROW + 70;
    // ok: a height computed from a row count never comes near i32/u32 limits in practice;
    // saturate rather than wrap if it did.
    let height = u32::try_from(height).unwrap_or(u32::MAX);
    render(path, (WIDTH, height), |c| {
        draw(c, spans, &rows, &categories)
    })
}

fn draw(
    c: &mut dyn Canvas,
    spans: &[Timespan],
    rows: &[&str],
    categories: &[&str],
) -> Result<(), Error> {
    let label_w = rows
        .iter()
        .map(|r| c.text_width(r, TEXT))
        .max()
        .unwrap_or(0);
    let left = label_w + 16;
    let right = WIDTH as i32 - 20;
    let t0 = spans.iter().map(|t| t.start_ns).min().unwrap_or(0);
    let t1 = spans
        .iter()
        .map(|t| t.finish_ns)
        .max()
        .unwrap_or(0)
        .max(t0 + 1);
    let span_ns = (t1 - t0) as f64;
    let x_of =
        |ns: u64| left + ((ns.saturating_sub(t0)) as f64 / span_ns * (right - left) as f64) as i32;

    c.text(
        &format!(
            "dagger timeline: {} spans, {:.3} ms",
            spans.len(),
            span_ns / 1e6
        ),
        (left, TOP / 2),
        TEXT + 2,
        INK,
        Align::Left,
    )?;
    if spans.is_empty() {
        return c.text(
            "no timespans",
            (left, TOP + ROW / 2),
            TEXT,
            INK,
            Align::Left,
        );
    }

    // Rows: label and a light guide line.
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + i as i32 * ROW + ROW / 2;
        c.text(row, (left - 8, y), TEXT, INK, Align::Right)?;
        c.line(&[(left, y), (right, y)], GREY)?;
    }
    let bottom = TOP + rows.len() as i32 * ROW;

    // Axis with ticks at a round step in milliseconds.
    c.line(&[(left, bottom), (right, bottom)], INK)?;
    let step = nice_step(span_ns / 1e6 / 8.0);
    let mut tick = 0.0;
    while tick <= span_ns / 1e6 + 1e-9 {
        let x = x_of(t0 + (tick * 1e6) as u64);
        c.line(&[(x, bottom), (x, bottom + 5)], INK)?;
        c.text(
            &format_ms(tick, step),
            (x, bottom + 14),
            TEXT - 2,
            INK,
            Align::Center,
        )?;
        tick += step;
    }
    c.text("ms", (right, bottom + 30), TEXT - 2, INK, Align::Right)?;

    // Bars: per row in start order, each nested one drawn thinner than its enclosing span.
    let mut others = Vec::new();
    let colors: Vec<RGBColor> = categories
        .iter()
        .map(|k| category_color(k, &mut others))
        .collect();
    let color_of = |k: &str| {
        categories
            .iter()
            .position(|c| *c == k)
            .map(|i| colors[i])
            .unwrap_or(INK)
    };
    for (i, row) in rows.iter().enumerate() {
        let mut lane: Vec<&Timespan> = spans.iter().filter(|t| t.timeline == *row).collect();
        lane.sort_by_key(|t| (t.start_ns, std::cmp::Reverse(t.finish_ns)));
        let mut open: Vec<u64> = Vec::new(); // finish times of enclosing spans
        for t in lane {
            open.retain(|f| *f > t.start_ns);
            let depth = open.iter().filter(|f| **f >= t.finish_ns).count().min(3) as i32;
            open.push(t.finish_ns);
            let y_mid = TOP + i as i32 * ROW + ROW / 2;
            let half = BAR / 2 - depth * 2;
            let x0 = x_of(t.start_ns);
            let x1 = x_of(t.finish_ns).max(x0 + 1);
            c.rect(
                (x0, y_mid - half),
                (x1, y_mid + half),
                color_of(&t.category),
                true,
            )?;
        }
    }

    // Legend.
    let mut x = left;
    let y = bottom + 50;
    for (k, color) in categories.iter().zip(&colors) {
        c.rect((x, y - 6), (x + 12, y + 6), *color, true)?;
        c.text(k, (x + 18, y), TEXT, INK, Align::Left)?;
        x += 18 + c.text_width(k, TEXT) + 24;
    }
    Ok(())
}

/// A round step (1, 2 or 5 times a power of ten) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

fn format_ms(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{v:.decimals$}")
}

/// Compare strings so that runs of digits compare as numbers.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (
                    a[..da].trim_start_matches('0'),
                    b[..db].trim_start_matches('0'),
                );
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}
