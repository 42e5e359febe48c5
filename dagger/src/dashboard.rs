//! The live dashboard (feature `dashboard`): everything of the `dagger-dashboard` crate, and
//! what the facade adds to it: starting one for a context builder and feeding it from the
//! worker processes.
//!
//! Two ways to get a dashboard:
//!
//! - [`with_dashboard`]`(builder, addr)` starts one that the caller owns (it stops when
//!   dropped);
//! - [`DashboardExt::dashboard`]`(addr)` on a builder, or `DAGGER_DASHBOARD=addr` in the
//!   driver's environment (read by [`init`](crate::init)), start the *process-wide* one,
//!   which lives as long as the process. [`DashboardExt::env_dashboard`] installs it on a
//!   builder when the environment asked for it.
//!
//! [`watch`] (or [`feed_dashboard`] for a dashboard of one's own) then shows the worker
//! processes' memory, task spans and transfers on it.

pub(crate) mod feed;
pub(crate) mod start;

pub use dagger_dashboard::*;
pub use feed::{feed_dashboard, feed_gauges, watch, GaugeFeed, GAUGE_PERIOD};
pub use start::{
    dashboard_from_env, global_dashboard, global_dashboard_on, with_dashboard, DashboardExt,
};
