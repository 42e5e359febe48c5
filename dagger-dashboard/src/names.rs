//! The groups the dashboard counts tasks under: by name, bounded.

/// The group of tasks spawned without a name.
pub const UNNAMED: &str = "(unnamed)";
/// The group of the tasks whose names came after the first [`MAX_NAMES`] distinct ones.
pub const OTHER_NAMES: &str = "(other names)";
/// Distinct task names shown separately; names are often unique ids, and the page and the
/// memory must stay bounded.
pub const MAX_NAMES: usize = 256;
