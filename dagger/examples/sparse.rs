//! Placeholder while the example is written.
fn main() {}
