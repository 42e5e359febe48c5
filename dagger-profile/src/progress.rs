//! [`Progress`]: a progress bar on stderr for long computations.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// The environment variable that turns progress bars off when set to `0` (or `false`,
/// `off`, `no`).
pub const PROGRESS_ENV: &str = "DAGGER_PROGRESS";

/// A progress bar, shown on stderr when it is a terminal and `DAGGER_PROGRESS` is not `0`.
///
/// When off, it holds nothing and every call is a branch on `None`, so a scheduler can call
/// [`inc`](Progress::inc) per finished task unconditionally. It is `Sync`: share it by
/// reference (or in an `Arc`) between threads.
///
/// # Examples
///
/// ```
/// use dagger_profile::Progress;
/// let p = Progress::with_enabled(3, "tasks", false); // explicitly off
/// p.inc(2);
/// p.inc(1);
/// assert_eq!(p.position(), None);
/// p.finish();
/// ```
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar of `total` steps labelled `label`, on if stderr is a terminal and
    /// [`PROGRESS_ENV`] does not turn it off.
    pub fn new(total: u64, label: &str) -> Self {
        Self::with_enabled(total, label, enabled_by_default())
    }

    /// A bar that is on exactly when `enabled` (still drawn to stderr).
    pub fn with_enabled(total: u64, label: &str, enabled: bool) -> Self {
        if !enabled {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        // The template is a constant; if indicatif ever rejected it, keep its default style.
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_owned());
        Progress { bar: Some(bar) }
    }

    /// Whether the bar is shown.
    pub fn is_enabled(&self) -> bool {
        self.bar.is_some()
    }

    /// Advance by `n` steps.
    #[inline]
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// Grow the total by `n` (tasks spawned while running).
    pub fn inc_total(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc_length(n);
        }
    }

    /// The current position, if the bar is on.
    pub fn position(&self) -> Option<u64> {
        self.bar.as_ref().map(|b| b.position())
    }

    /// Draw the bar full and leave it on screen.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

/// Whether [`Progress::new`] shows a bar: stderr is a terminal and the environment does not
/// say `DAGGER_PROGRESS=0`.
pub fn enabled_by_default() -> bool {
    env_allows(std::env::var(PROGRESS_ENV).ok().as_deref()) && std::io::stderr().is_terminal()
}

fn env_allows(value: Option<&str>) -> bool {
    !matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("0" | "false" | "off" | "no")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_that_turn_it_off() {
        assert!(env_allows(None));
        assert!(env_allows(Some("1")));
        for off in ["0", "false", "OFF", " no "] {
            assert!(!env_allows(Some(off)), "{off}");
        }
    }

    #[test]
    fn enabled_bar_counts() {
        let p = Progress::with_enabled(10, "t", true);
        p.inc(4);
        p.inc_total(5);
        p.inc(1);
        assert_eq!(p.position(), Some(5));
        p.finish();
    }
}
