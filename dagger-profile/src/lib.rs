//! # dagger-profile
//!
//! dagger-rs profiling: timespans from tracing spans, summaries, traces and pictures.
//! This crate is being filled by its own issue; see the workspace README for its role.
#![warn(missing_docs)]
