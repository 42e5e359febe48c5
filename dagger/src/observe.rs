//! Watching a context's tasks: an [`Observer`] hears every task event (what dashboards and
//! progress bars are made of).
//!
//! ```
//! use dagger::observe::{Observer, TaskEvent, TaskEventKind};
//! use std::sync::{Arc, Mutex};
//! #[derive(Default)]
//! struct Count(Mutex<usize>);
//! impl Observer for Count {
//!     fn on_event(&self, e: &TaskEvent) {
//!         if matches!(e.kind, TaskEventKind::Finished { .. }) {
//!             *self.0.lock().unwrap() += 1;
//!         }
//!     }
//! }
//! let seen = Arc::new(Count::default());
//! let ctx = dagger::Context::builder().threads(1).observer(seen.clone()).build();
//! ctx.spawn(|()| 1, ()).wait();
//! assert_eq!(*seen.0.lock().unwrap(), 1);
//! ```

pub use dagger_sched::{set_default_observer, Observer, TaskEvent, TaskEventKind};
