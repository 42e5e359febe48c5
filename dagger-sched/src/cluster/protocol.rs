//! The scheduler protocol: what the driver and workers say to each other (postcard frames).

use super::transfers::TransferStats;
use crate::site::ArgRef;
use bytes::Bytes;
use dagger_core::{ChunkId, Error, ResultStats, TaskId, WorkerId};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Driver → worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToWorker {
    /// Answer to `Join`: your id, and where the other workers serve data.
    Welcome {
        worker: WorkerId,
        peers: Vec<(WorkerId, String)>,
        /// How often to say something (a heartbeat when idle), in milliseconds.
        heartbeat_ms: u64,
    },
    /// A worker joined.
    Peer { worker: WorkerId, addr: String },
    /// Tasks to run.
    Run(Vec<RunTask>),
    /// Send the bytes of a chunk you hold.
    Fetch { req: u64, chunk: ChunkId },
    /// Forget these chunks (the last handle anywhere is gone).
    Release(Vec<ChunkId>),
    /// Report what you hold.
    Stats { req: u64 },
    /// Start recording profile spans.
    StartRecording,
    /// Stop recording and send what was recorded.
    TakeSpans { req: u64 },
    /// The driver no longer expects these tasks' results from you: one still waiting for
    /// an input (see `RunTask::after`) is dropped, and every task waiting for one of their
    /// results fails with [`ErrorKind::Upstream`].
    Cancel(Vec<TaskId>),
    /// Exit now.
    Shutdown,
    /// Streaming: a stage to start, a batch, a credit, an end (see `hub`).
    Stream(StreamMsg),
}

/// One task for a worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RunTask {
    pub task: TaskId,
    /// The registered function's name: borrowed on the driver (every task of a chain
    /// allocated a copy of it), owned once decoded on the worker.
    pub func: std::borrow::Cow<'static, str>,
    pub args: Vec<ArgRef>,
    /// Results up to this many bytes come back with `Done`.
    pub inline_limit: u32,
    /// The threads it may run on (empty: any).
    pub threads: Vec<u32>,
    /// The task's name (its options' `name`), for the worker's `compute` span.
    pub name: Option<String>,
    /// Chunks among `args` that this worker is still computing: the task was sent ahead
    /// (forwarded, see `forward`) and runs here as soon as they are all held.
    pub after: Vec<ChunkId>,
}

/// Worker → driver.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToDriver {
    /// First message: what this worker offers.
    Join {
        threads: u32,
        data_addr: String,
        node: u64,
        pid: u32,
    },
    /// Finished tasks.
    Done(Vec<Done>),
    /// Answer to `Fetch`.
    Data {
        req: u64,
        bytes: Result<Bytes, RemoteError>,
    },
    /// Answer to `Stats`: what the worker holds and what it moved.
    Stats {
        req: u64,
        stats: ResultStats,
        transfers: TransferStats,
    },
    /// Answer to `TakeSpans`: encoded by the installed [`Telemetry`](super::Telemetry).
    Spans { req: u64, bytes: Bytes },
    /// Still here (sent when there was nothing else to say for a while).
    Heartbeat,
    /// Streaming: a batch, a credit, an end, a stage that ended (see `hub`).
    Stream(StreamMsg),
}

/// One finished task.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Done {
    pub task: TaskId,
    pub outcome: Result<DoneOk, RemoteError>,
}

/// A result that now lives on the worker.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DoneOk {
    pub size: u64,
    pub thread: u32,
    /// The encoded result, when small enough to ship with the notice.
    pub inline: Option<Bytes>,
}

/// Worker ↔ worker: chunk requests.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum PeerMsg {
    Get {
        req: u64,
        chunk: ChunkId,
    },
    Data {
        req: u64,
        bytes: Result<Bytes, RemoteError>,
    },
    /// Streaming, producer worker to consumer worker and back (see `hub`).
    Stream(StreamMsg),
}

/// What the processes of a streaming region say to each other. `region` and `edge` name an
/// edge (ids the driver gives out); items travel as batches (see `stream_batch::BatchBuf`), and a
/// consumer gives the producer one credit per item it has taken, so no more than the
/// edge's bound is ever in flight.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum StreamMsg {
    /// Driver → worker: run this stage.
    Start(StageSpec),
    /// Producer → consumer: items.
    Batch {
        region: u64,
        edge: u64,
        items: Bytes,
    },
    /// Consumer → producer: it took `n` more items.
    Credit { region: u64, edge: u64, n: u32 },
    /// Producer → consumer: nothing more will come.
    End { region: u64, edge: u64 },
    /// Consumer → producer: it has gone; send nothing more.
    Close { region: u64, edge: u64 },
    /// Driver → worker: stop every stage of the region.
    Cancel { region: u64 },
    /// Driver → worker: the region has ended; forget its edges.
    Forget { region: u64 },
    /// Worker → driver: a stage ended, and what it measured.
    Ended {
        region: u64,
        stage: u32,
        outcome: StageEnd,
        stats: StageStats,
    },
    /// Driver → worker: how many stages run here?
    Count { req: u64 },
    /// Worker → driver: the answer to `Count`.
    Counted { req: u64, running: u64 },
}

/// How a stage on a worker ended.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum StageEnd {
    /// Its inputs or its function ended the stream; its last value, encoded, if it made one.
    Done(Option<Bytes>),
    /// The region was torn down.
    Cancelled,
    /// Its function failed (or panicked), or it could not start.
    Failed(RemoteError),
}

/// A stage for a worker to run: a registered function called once per value of its
/// stream arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageSpec {
    /// The region it belongs to.
    pub region: u64,
    /// Its index in the region.
    pub stage: u32,
    /// Its name, for errors.
    pub name: String,
    /// The registered function.
    pub func: String,
    /// A source: the function takes the call's index first.
    pub source: bool,
    /// What the function returns, and so what the stage does with it.
    pub returns: Returns,
    /// Its arguments, in order.
    pub args: Vec<SpecArg>,
    /// Its consumers.
    pub outputs: Vec<OutSpec>,
    /// Items per batch.
    pub batch: u32,
    /// Stops after this many calls.
    pub max_evals: Option<u64>,
}

/// What a remote stage's function returns (encoded), and what the stage does with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Returns {
    /// A value, sent to every consumer.
    Value,
    /// An `Option`: `Some` is sent, `None` ends the stream.
    Option,
    /// A `dagger_stream::Step`: emit a value, skip, or finish the stream (after a last
    /// value if it has one).
    Step,
    /// The new accumulator of a fold, whose first argument is the accumulator so far
    /// (this, encoded, for the first call); nothing is sent, and the stage ends with it.
    Fold(Bytes),
}

/// What a remote stage measured, told with its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageStats {
    /// Calls of its function.
    pub evals: u64,
    /// The most items any one of its output edges held at once: sent, and not yet given
    /// back as credits (queued at the consumer, in flight, or being read there).
    pub peak_held: u64,
}

/// One argument of a remote stage.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SpecArg {
    /// The same encoded value for every call.
    Const(Bytes),
    /// The next item of the edge from the stage on worker `from`.
    Stream {
        /// The edge.
        edge: u64,
        /// The producer's process.
        from: WorkerId,
    },
}

/// One consumer of a remote stage.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct OutSpec {
    /// The edge.
    pub edge: u64,
    /// The consumer's process.
    pub to: WorkerId,
    /// Items the edge may hold (sent and not yet taken).
    pub bound: u32,
}

/// An error that crossed a process boundary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RemoteError {
    pub kind: ErrorKind,
    pub message: String,
    /// For `WorkerLost`: the worker and chunk.
    pub lost: Option<(WorkerId, Option<ChunkId>)>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum ErrorKind {
    User,
    UnknownFunction,
    Codec,
    NotFound,
    Scheduling,
    WorkerLost,
    /// A forwarded task's input, computed on the same worker, failed or was abandoned
    /// there: the driver decides what that means (the input's failure, or a retry).
    Upstream,
    Other,
    /// The task was cancelled there (a `Cancel` reached it before it ran): kept as a
    /// cancellation, so the driver's `is_cancelled` holds whichever side settles it first.
    Cancelled(TaskId),
}

impl From<&Error> for RemoteError {
    fn from(e: &Error) -> Self {
        let root = e.root_cause();
        let kind = match root {
            Error::User(_) => ErrorKind::User,
            Error::UnknownFunction(_) => ErrorKind::UnknownFunction,
            Error::Codec(_) => ErrorKind::Codec,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Scheduling(_) => ErrorKind::Scheduling,
            Error::WorkerLost { .. } => ErrorKind::WorkerLost,
            Error::Cancelled { task } => ErrorKind::Cancelled(*task),
            _ => ErrorKind::Other,
        };
        let lost = match root {
            Error::WorkerLost { worker, chunk } => Some((*worker, *chunk)),
            _ => None,
        };
        let message = match root {
            Error::User(m)
            | Error::UnknownFunction(m)
            | Error::Codec(m)
            | Error::NotFound(m)
            | Error::Scheduling(m) => m.clone(),
            other => other.to_string(),
        };
        RemoteError {
            kind,
            message,
            lost,
        }
    }
}

impl From<RemoteError> for Error {
    fn from(e: RemoteError) -> Self {
        match e.kind {
            ErrorKind::User | ErrorKind::Other => Error::User(e.message),
            ErrorKind::Upstream => Error::Scheduling(e.message),
            ErrorKind::UnknownFunction => Error::UnknownFunction(e.message),
            ErrorKind::Codec => Error::Codec(e.message),
            ErrorKind::NotFound => Error::NotFound(e.message),
            ErrorKind::Scheduling => Error::Scheduling(e.message),
            ErrorKind::Cancelled(task) => Error::Cancelled { task },
            ErrorKind::WorkerLost => {
                let (worker, chunk) = e.lost.unwrap_or((WorkerId(0), None));
                Error::WorkerLost { worker, chunk }
            }
        }
    }
}

/// Encodes a message into one frame.
pub(crate) fn encode<T: Serialize>(m: &T) -> Result<Bytes, Error> {
    postcard::to_allocvec(m)
        .map(Bytes::from)
        .map_err(|e| Error::Codec(format!("encoding {}: {e}", std::any::type_name::<T>())))
}

/// [`encode`] into a buffer of `hint` bytes to start with: a batch of many tasks or
/// completions, encoded into a growing buffer, was copied at every doubling.
pub(crate) fn encode_sized<T: Serialize>(m: &T, hint: usize) -> Result<Bytes, Error> {
    postcard::to_extend(m, Vec::with_capacity(hint))
        .map(Bytes::from)
        .map_err(|e| Error::Codec(format!("encoding {}: {e}", std::any::type_name::<T>())))
}

/// Decodes one frame; a malformed frame is an error naming the message type.
pub(crate) fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, Error> {
    postcard::from_bytes(b)
        .map_err(|e| Error::Protocol(format!("malformed {}: {e}", std::any::type_name::<T>())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::ItemRef;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<ToWorker>(&bytes);
            let _ = decode::<ToDriver>(&bytes);
            let _ = decode::<PeerMsg>(&bytes);
            let _ = decode::<StreamMsg>(&bytes);
        }

        #[test]
        fn run_batches_round_trip(
            tasks in proptest::collection::vec((any::<u64>(), "[a-z:_]{1,30}", proptest::collection::vec(any::<u8>(), 0..64), any::<u32>()), 0..20)
        ) {
            let runs: Vec<RunTask> = tasks.iter().map(|(t, f, b, l)| RunTask {
                task: TaskId(*t),
                func: f.clone().into(),
                args: vec![ArgRef::Inline(Bytes::from(b.clone())), ArgRef::Chunk { id: ChunkId(*t), owner: WorkerId(*l) }],
                inline_limit: *l,
                threads: vec![1, 2],
                name: (t % 2 == 0).then(|| format!("name-{f}")),
                after: vec![ChunkId(*t)],
            }).collect();
            let bytes = encode(&ToWorker::Run(runs)).unwrap();
            match decode::<ToWorker>(&bytes).unwrap() {
                ToWorker::Run(back) => {
                    prop_assert_eq!(back.len(), tasks.len());
                    for (r, (t, f, b, l)) in back.iter().zip(&tasks) {
                        prop_assert_eq!(r.task, TaskId(*t));
                        prop_assert_eq!(&*r.func, f.as_str());
                        prop_assert_eq!(r.inline_limit, *l);
                        prop_assert_eq!(r.name.clone(), (t % 2 == 0).then(|| format!("name-{f}")));
                        prop_assert!(matches!(&r.args[0], ArgRef::Inline(x) if x.as_ref() == b.as_slice()));
                    }
                }
                other => prop_assert!(false, "decoded {:?}", other),
            }
        }

        #[test]
        fn list_arguments_round_trip(
            items in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..64)
                        .prop_map(|b| ItemRef::Inline(Bytes::from(b))),
                    (any::<u64>(), any::<u32>())
                        .prop_map(|(c, w)| ItemRef::Chunk { id: ChunkId(c), owner: WorkerId(w) }),
                ],
                0..40,
            ),
            task in any::<u64>(),
        ) {
            let run = RunTask {
                task: TaskId(task),
                func: "m::f".into(),
                args: vec![ArgRef::List(items.clone()), ArgRef::Inline(Bytes::from_static(b"x"))],
                inline_limit: 0,
                threads: Vec::new(),
                name: None,
                after: Vec::new(),
            };
            let bytes = encode(&ToWorker::Run(vec![run])).unwrap();
            match decode::<ToWorker>(&bytes).unwrap() {
                ToWorker::Run(back) => {
                    prop_assert_eq!(back.len(), 1);
                    prop_assert!(matches!(&back[0].args[0], ArgRef::List(l) if *l == items));
                    prop_assert!(matches!(&back[0].args[1], ArgRef::Inline(b) if b.as_ref() == b"x"));
                }
                other => prop_assert!(false, "decoded {:?}", other),
            }
            // Every element converts to a single reference and back unchanged.
            for i in &items {
                prop_assert_eq!(&ItemRef::try_from(ArgRef::from(i.clone())).unwrap(), i);
            }
        }

        #[test]
        fn truncated_list_frames_are_errors(cut in 0usize..200) {
            let run = RunTask {
                task: TaskId(1),
                func: "m::f".into(),
                args: vec![ArgRef::List(vec![
                    ItemRef::Inline(Bytes::from(vec![9u8; 50])),
                    ItemRef::Chunk { id: ChunkId(3), owner: WorkerId(2) },
                ])],
                inline_limit: 0,
                threads: Vec::new(),
                name: None,
                after: Vec::new(),
            };
            let bytes = encode(&ToWorker::Run(vec![run])).unwrap();
            let cut = cut.min(bytes.len() - 1);
            prop_assert!(decode::<ToWorker>(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn a_list_inside_a_list_is_refused() {
        let nested = ArgRef::List(vec![ItemRef::Inline(Bytes::new())]);
        assert!(
            matches!(ItemRef::try_from(nested), Err(Error::Scheduling(m)) if m.contains("list"))
        );
    }

    #[test]
    fn errors_keep_their_kind_across_processes() {
        for e in [
            Error::User("boom".into()),
            Error::UnknownFunction("x::y".into()),
            Error::Codec("bad".into()),
            Error::Cancelled { task: TaskId(3) },
        ] {
            let back = Error::from(RemoteError::from(&e));
            assert_eq!(back.to_string(), e.to_string());
        }
        // A task the driver cancelled may be settled by its worker's report first.
        assert!(
            Error::from(RemoteError::from(&Error::Cancelled { task: TaskId(3) })).is_cancelled()
        );
        assert!(
            matches!(super::super::registry::lookup("no::such::function"), Err(Error::UnknownFunction(m)) if m.contains("no::such::function"))
        );
    }
}
