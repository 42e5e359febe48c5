//! The dashboard page: one self-contained HTML file (inline CSS and JS, canvas and SVG
//! drawing; no CDN, nothing fetched at run time but the dashboard's own endpoints).

/// The page served at `/`.
pub const PAGE: &str = include_str!("page.html");
