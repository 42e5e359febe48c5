//! The integration tests of dagger-core, in one binary (one module per former test file).

#[path = "main/scopes.rs"]
mod scopes;
