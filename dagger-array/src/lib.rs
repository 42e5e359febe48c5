//! # dagger-array
//!
//! dagger-rs blocked dense and sparse distributed arrays.
//! This crate is being filled by its own issue; see the workspace README for its role.
#![warn(missing_docs)]
