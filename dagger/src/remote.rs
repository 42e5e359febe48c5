//! Work and data in other processes: functions every process of the executable can run by
//! name ([`register!`](crate::register), [`Registered`]), the arguments that can travel
//! ([`RemoteArg`]), values kept live on their worker ([`live_value`]) and values pinned to
//! the process that made them ([`Pinned`], which `mutable` and `Shard` build on).
//!
//! ```
//! dagger::register! {
//!     /// Adds two numbers, in whichever process runs it.
//!     pub fn add(a: i64, b: i64) -> i64 { a + b }
//! }
//! let ctx = dagger::Context::builder().threads(1).build();
//! assert_eq!(ctx.spawn_registered(ADD, (2i64, 40i64)).fetch().unwrap(), 42);
//! assert!(dagger::remote::registered_names().iter().any(|n| n.ends_with("::add")));
//! ```

pub use dagger_sched::{
    live_value, local_piece, pinned_count, postcard_codec, registered_names, Pinned, PinnedView,
    Registered, RemoteArg, RemoteArgs, Site,
};
