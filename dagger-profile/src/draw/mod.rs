//! Pictures: the Gantt chart and the task graph, as PNG or SVG, drawn with plotters.
//!
//! Both pictures are drawn once against the small [`Canvas`] trait, so PNG and SVG show the
//! same thing. Text is the one place they differ: SVG gets real `<text>` elements, while
//! PNG text is drawn from the built-in 8×8 bitmap font of the `font8x8` crate. That keeps
//! the crate free of system libraries (plotters' own PNG text needs fontconfig/freetype or
//! a font file), so it builds and draws anywhere the Rust toolchain does.

mod font;
pub(crate) mod gantt;
pub(crate) mod graph;

use dagger_core::Error;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Horizontal placement of a text relative to its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// What the pictures need from a drawing surface.
pub(crate) trait Canvas {
    /// A rectangle between two corners, filled or outlined.
    fn rect(
        &mut self,
        a: (i32, i32),
        b: (i32, i32),
        color: RGBColor,
        filled: bool,
    ) -> Result<(), Error>;
    /// A polyline.
    fn line(&mut self, points: &[(i32, i32)], color: RGBColor) -> Result<(), Error>;
    /// Text about `size` pixels high, vertically centred on `at.1`.
    fn text(
        &mut self,
        s: &str,
        at: (i32, i32),
        size: u32,
        color: RGBColor,
        align: Align,
    ) -> Result<(), Error>;
    /// How wide `text` would be drawn at `size`.
    fn text_width(&self, s: &str, size: u32) -> i32;
}

/// The file formats the pictures can be written in, chosen by file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Png,
    Svg,
}

impl Format {
    pub(crate) fn of(path: &Path) -> Result<Format, Error> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => Err(Error::Argument(format!(
                "cannot tell the picture format of {}: use a .png or .svg file name",
                path.display()
            ))),
        }
    }
}

struct PlotCanvas<'p, DB: DrawingBackend> {
    area: DrawingArea<DB, Shift>,
    bitmap_text: bool,
    path: &'p Path,
}

impl<DB: DrawingBackend> PlotCanvas<'_, DB> {
    fn fail(&self, e: impl std::fmt::Display) -> Error {
        Error::Io(format!("drawing {}: {e}", self.path.display()))
    }
}

impl<DB: DrawingBackend> Canvas for PlotCanvas<'_, DB> {
    fn rect(
        &mut self,
        a: (i32, i32),
        b: (i32, i32),
        color: RGBColor,
        filled: bool,
    ) -> Result<(), Error> {
        let style = if filled {
            color.filled()
        } else {
            color.stroke_width(1)
        };
        self.area
            .draw(&Rectangle::new([a, b], style))
            .map_err(|e| self.fail(e))
    }

    fn line(&mut self, points: &[(i32, i32)], color: RGBColor) -> Result<(), Error> {
        self.area
            .draw(&PathElement::new(points.to_vec(), color.stroke_width(1)))
            .map_err(|e| self.fail(e))
    }

    fn text(
        &mut self,
        s: &str,
        at: (i32, i32),
        size: u32,
        color: RGBColor,
        align: Align,
    ) -> Result<(), Error> {
        if self.bitmap_text {
            let scale = font::scale_for(size);
            let w = font::width(s, scale);
            let x = match align {
                Align::Left => at.0,
                Align::Center => at.0 - w / 2,
                Align::Right => at.0 - w,
            };
            let y = at.1 - (font::GLYPH as i32 * scale) / 2;
            let area = &self.area;
            font::draw(s, (x, y), scale, |px, py| {
                area.draw_pixel((px, py), &color).map_err(|e| self.fail(e))
            })
        } else {
            let h = match align {
                Align::Left => HPos::Left,
                Align::Center => HPos::Center,
                Align::Right => HPos::Right,
            };
            // plotters shrinks SVG font sizes by 1.24; undo that so both formats match.
            let style = TextStyle::from(("sans-serif", size as f64 * 1.24).into_font())
                .color(&color)
                .pos(Pos::new(h, VPos::Center));
            self.area
                .draw(&Text::new(s.to_owned(), at, style))
                .map_err(|e| self.fail(e))
        }
    }

    fn text_width(&self, s: &str, size: u32) -> i32 {
        if self.bitmap_text {
            font::width(s, font::scale_for(size))
        } else {
            // SVG viewers lay the text out themselves; 0.6 em per character is a fair
            // average for sans-serif and only decides margins.
            (s.chars().count() as f64 * size as f64 * 0.6).ceil() as i32
        }
    }
}

/// Create `path` (format by extension), paint it white, let `paint` draw, and save it.
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    paint: impl FnOnce(&mut dyn Canvas) -> Result<(), Error>,
) -> Result<(), Error> {
    match Format::of(path)? {
        Format::Svg => {
            let area = SVGBackend::new(path, size).into_drawing_area();
            finish(
                PlotCanvas {
                    area,
                    bitmap_text: false,
                    path,
                },
                paint,
            )
        }
        Format::Png => {
            let area = BitMapBackend::new(path, size).into_drawing_area();
            finish(
                PlotCanvas {
                    area,
                    bitmap_text: true,
                    path,
                },
                paint,
            )
        }
    }
}

fn finish<DB: DrawingBackend>(
    mut canvas: PlotCanvas<'_, DB>,
    paint: impl FnOnce(&mut dyn Canvas) -> Result<(), Error>,
) -> Result<(), Error> {
    canvas.area.fill(&WHITE).map_err(|e| canvas.fail(e))?;
    paint(&mut canvas)?;
    canvas.area.present().map_err(|e| canvas.fail(e))
}

/// Colours for categories (and graph node states): distinct, readable on white.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The colour of a category: fixed for the convention's categories, else by first-seen order.
pub(crate) fn category_color(category: &str, others: &mut Vec<String>) -> RGBColor {
    if let Some(i) = crate::timespan::category::ALL
        .iter()
        .position(|c| *c == category)
    {
        return PALETTE[i];
    }
    let i = match others.iter().position(|o| o == category) {
        Some(i) => i,
        None => {
            others.push(category.to_owned());
            others.len() - 1
        }
    };
    PALETTE[(crate::timespan::category::ALL.len() + i) % PALETTE.len()]
}

#[cfg(test)]
mod test;
