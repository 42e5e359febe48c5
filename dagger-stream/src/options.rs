//! Per-stage options: buffer sizes, batch size, a name, a bound on evaluations.

use dagger_core::{Error, Result, Scope, WorkerId};

/// The options of one streaming stage (Dagger.jl's `stream_input_buffer_amount`,
/// `stream_output_buffer_amount` and `stream_max_evals`, plus the batch size items travel
/// in).
///
/// An edge from a producer to a consumer holds at most the producer's `output_buffer` plus
/// the consumer's `input_buffer` items that were sent and not yet taken; a producer that
/// would exceed it waits (back-pressure). Items move in batches of up to `batch` items (fewer
/// when the edge is smaller), so the per-item cost is a `Vec` push, not a channel operation.
///
/// ```
/// use dagger_stream::StreamOptions;
/// let o = StreamOptions::new().name("parse").input_buffer(8).output_buffer(8).batch(4);
/// assert_eq!(o.edge_bound(&StreamOptions::new()), 8 + StreamOptions::DEFAULT_BUFFER);
/// assert!(StreamOptions::new().input_buffer(0).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    pub(crate) name: Option<String>,
    pub(crate) input_buffer: usize,
    pub(crate) output_buffer: usize,
    pub(crate) batch: usize,
    pub(crate) max_evals: Option<u64>,
    pub(crate) scope: Option<Scope>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            name: None,
            input_buffer: Self::DEFAULT_BUFFER,
            output_buffer: Self::DEFAULT_BUFFER,
            batch: Self::DEFAULT_BATCH,
            max_evals: None,
            scope: None,
        }
    }
}

impl StreamOptions {
    /// The default input and output buffer, in items.
    pub const DEFAULT_BUFFER: usize = 256;
    /// The default number of items per batch.
    pub const DEFAULT_BATCH: usize = 64;

    /// The defaults: buffers of [`Self::DEFAULT_BUFFER`] items, batches of
    /// [`Self::DEFAULT_BATCH`], no name, no bound on evaluations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the stage (errors and the thread's name use it).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Items this stage may hold on each of its input edges (must be > 0).
    pub fn input_buffer(mut self, n: usize) -> Self {
        self.input_buffer = n;
        self
    }

    /// Items this stage may hold on each of its output edges (must be > 0).
    pub fn output_buffer(mut self, n: usize) -> Self {
        self.output_buffer = n;
        self
    }

    /// The largest number of items sent at once along an output edge (must be > 0; 1
    /// sends every item as soon as it is made).
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n;
        self
    }

    /// Stops the stage after `n` calls of its function (must be > 0).
    pub fn max_evals(mut self, n: u64) -> Self {
        self.max_evals = Some(n);
        self
    }

    /// Where a registered stage may run ([`Streaming::spawn_registered_with`] and
    /// [`Streaming::source_registered_with`]): the stage goes to the matching worker process
    /// with the fewest stages of the region so far (the driver counts too). Without a scope
    /// a stage runs in the calling process. Closures always run there.
    ///
    /// [`Streaming::spawn_registered_with`]: crate::Streaming::spawn_registered_with
    /// [`Streaming::source_registered_with`]: crate::Streaming::source_registered_with
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Places a registered stage in worker process `w`: `scope(Scope::Process(w))`.
    pub fn worker(self, w: WorkerId) -> Self {
        self.scope(Scope::Process(w))
    }

    /// The items an edge from a producer with these options to `consumer` holds at most.
    pub fn edge_bound(&self, consumer: &StreamOptions) -> usize {
        self.output_buffer + consumer.input_buffer
    }

    /// Checks the options (the reference's `ArgumentError`s).
    pub fn validate(&self) -> Result<()> {
        if self.input_buffer == 0 {
            return Err(Error::Argument(
                "Input buffering is required; input_buffer must be > 0".into(),
            ));
        }
        if self.output_buffer == 0 {
            return Err(Error::Argument(
                "Output buffering is required; output_buffer must be > 0".into(),
            ));
        }
        if self.batch == 0 {
            return Err(Error::Argument("batch must be > 0".into()));
        }
        if self.max_evals == Some(0) {
            return Err(Error::Argument("max_evals must be > 0".into()));
        }
        Ok(())
    }
}
