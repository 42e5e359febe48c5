//! # dagger-transport
//!
//! dagger-rs transports: in-process and TCP, the wire protocol and worker launch.
//! This crate is being filled by its own issue; see the workspace README for its role.
#![warn(missing_docs)]
