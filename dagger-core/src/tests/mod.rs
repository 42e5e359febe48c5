//! dagger-core's tests of its public API (in the library's test binary, so the crate links one
//! test binary, not two): one module per topic.

mod scopes;
