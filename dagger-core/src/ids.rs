//! Identifiers: small `Copy` newtypes so that a worker id is never confused with a task id.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $inner:ty, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
        pub struct $name(pub $inner);

        impl $name {
            /// The raw number.
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl From<$inner> for $name {
            fn from(v: $inner) -> Self {
                Self(v)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

id_type!(
    /// A process of the cluster. Worker 1 is the driver, as in Julia's `Distributed`.
    ///
    /// ```
    /// use dagger_core::WorkerId;
    /// assert_eq!(WorkerId::DRIVER, WorkerId(1));
    /// assert_eq!(WorkerId(3).to_string(), "w3");
    /// ```
    WorkerId, u32, "w"
);
id_type!(
    /// A task, unique within one driver's lifetime.
    TaskId, u64, "t"
);
id_type!(
    /// A stored value (the result of a task, or a value put into the system).
    ChunkId, u64, "c"
);
id_type!(
    /// A physical machine; workers on the same node share it (used by `Scope::Node`).
    NodeId, u64, "n"
);

impl WorkerId {
    /// The driver process: the one that runs `main` and the scheduler.
    pub const DRIVER: WorkerId = WorkerId(1);
}
