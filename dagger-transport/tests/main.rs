//! dagger-transport's integration tests in one binary (one link instead of three): each
//! former test file is a module under `tests/main/`.
//!
//! `tcp_bad_input_closes_only_that_connection.rs` stays a binary of its own: it installs a
//! process-global tracing subscriber.
//!
//! A crate root looks for `mod x;` beside itself (`tests/x.rs`, which cargo would build as a
//! binary of its own), hence the `#[path]`s.

#[path = "main/common.rs"]
mod common;

#[path = "main/inproc_registry.rs"]
mod inproc_registry;

#[path = "main/netns.rs"]
mod netns;

#[path = "main/transport_conformance.rs"]
mod transport_conformance;
