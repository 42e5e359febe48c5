//! The integration tests of dagger-dashboard, in one binary (one module per former test file).
//! `browser` needs Chromium (scripts/dagger-dashboard/browser-setup.sh) and skips itself
//! without it; its node script stays in `tests/browser/`.

#[path = "main/api.rs"]
mod api;
#[path = "main/browser.rs"]
mod browser;
#[path = "main/collector.rs"]
mod collector;
