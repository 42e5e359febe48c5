//! Many processes: the driver's side of a cluster (worker table, placement, dispatch,
//! results, release) and the vocabulary it shares with the workers' serve loop.
//!
//! Every process runs the same executable. Workers connect to the driver through a
//! [`Transport`](dagger_core::Transport), say what they offer (`Join`), and then run the
//! registered functions the driver sends them. Results stay on the worker that computed them;
//! other workers fetch them directly from it, the driver only when a value is asked for. When
//! the last handle to a result is dropped in the driver, its owner (and any worker holding a
//! copy) forgets it.
//!
//! A task whose inputs are still being computed on one worker is sent there ahead of them
//! and runs there the moment they are done, with no round trip to the driver per hop; the
//! driver hears of it afterwards, in the worker's batched completions, and stays the
//! authority for lineage, loss and cancellation. The protocol, as numbered steps, is in
//! the docs of `forward` (this directory's `forward.rs`).
//!
//! Modules, bottom to top (a module imports only those listed before it):

// How an `All` argument's elements are framed as one encoded `Vec`.
pub(crate) mod list;

// Values kept live in a worker, and the glue `register!` expands to.
pub(crate) mod live;

// A worker's counts of values and bytes moved to and from other processes.
pub(crate) mod transfers;

// Registered functions, collected at link time under stable names.
pub(crate) mod registry;

// The messages the driver and workers exchange.
pub(crate) mod protocol;

// A worker's table of tasks sent ahead of an input it is still computing.
pub(crate) mod waiting;

// How the items of a streaming edge across processes travel: batches.
pub(crate) mod stream_batch;

// One streaming edge's accounting on each side: the consumer's queue, the producer's credits.
pub(crate) mod stream_credits;

// The streaming hub of a process: edges across processes, remote stages.
pub(crate) mod hub;

// A streaming stage on a worker: a registered function per value, on its own thread.
pub(crate) mod stream_stage;

// A worker's links to its peers for streaming.
pub(crate) mod links;

// Starting worker processes.
pub(crate) mod launch;

// Where a worker keeps its results.
pub(crate) mod results;

// Values pinned to the worker thread that made them.
pub(crate) mod pinned;

// The profiling hook of worker processes.
pub(crate) mod telemetry;

// The builder's cluster settings and the transport factory.
pub(crate) mod config;

// The driver's cluster state and the operations on it.
pub(crate) mod driver;

// Which worker a task goes to, and running one on the driver.
mod placement;

// The driver's end of each worker connection.
mod connection;

// How a remote task's arguments travel and are found again.
pub(crate) mod lineage;

// Dependents sent ahead to where their inputs are being computed: the protocol.
pub(crate) mod forward;

// Pinned values as datadeps objects (In/Out/InOut on a pinned chunk or a view of it).
pub(crate) mod tracked;

// The driver-side state machine of one registered-function task.
pub(crate) mod remote;

// A remote task sent ahead to where its inputs are being computed, and its retries.
mod remote_forward;

// A remote task as its handles see it: result, location, handle count.
mod remote_cell;

pub use config::{set_default_transport, set_prelaunched_workers, TransportFactory};
pub use hub::{Hub, InEdge, OnEnd, OutEdge};
pub use launch::WorkerProgram;
pub use lineage::{LineageArg, RemoteArg, RemoteArgs};
pub use live::{
    arity, decode_arg, live_value, missing_arg, postcard_codec, ArgValue, LiveArg, LiveInvoke,
    LiveRet, ViaClone, ViaCodec, ViaEncoded, ViaLive,
};
pub use pinned::{local_piece, pinned_count, Pinned};
pub use protocol::{OutSpec, Returns, SpecArg, StageSpec, StageStats};
pub use registry::{invoke, registered_names, DecodeArgs, Registered, Registration};
pub use results::{set_result_store_factory, MemoryResults, ResultStoreFactory};
pub use stream_batch::{batch_items, BatchBuf};
pub use stream_credits::{InMsg, SendStop};
pub use telemetry::{set_telemetry, Telemetry};
pub use tracked::{PinnedAccess, PinnedView};
pub use transfers::TransferStats;
