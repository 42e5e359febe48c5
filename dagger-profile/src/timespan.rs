//! The [`Timespan`] record, its categories, and the process-wide clock.
//!
//! A timespan is one closed `tracing` span of target `"dagger"`: what kind of work it was
//! (its category), what it worked on (its id), where it ran (its timeline), and when.
//! Timespans are plain data: filter them with iterator code, serialize them with serde to
//! ship them from a worker to the driver, and pass them to the exporters of this crate.

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The `tracing` target every dagger span uses.
pub const TARGET: &str = "dagger";

/// The span names (categories) of the convention, from the reference, plus `storage`.
pub mod category {
    /// Running a task body on a processor.
    pub const COMPUTE: &str = "compute";
    /// Moving data between workers.
    pub const COMM: &str = "comm";
    /// One step of the scheduler (placing, firing, finishing tasks).
    pub const SCHEDULER: &str = "scheduler";
    /// Starting the scheduler.
    pub const SCHEDULER_INIT: &str = "scheduler_init";
    /// Reading, writing or spilling chunks to a `ChunkStore`.
    pub const STORAGE: &str = "storage";
    /// All categories of the convention, in the order summaries print them.
    pub const ALL: [&str; 5] = [COMPUTE, COMM, SCHEDULER, SCHEDULER_INIT, STORAGE];
}

/// One profiler sample attributed to a span: a call stack (root first) seen `count` times.
///
/// ```
/// use dagger_profile::Sample;
/// let s = Sample { stack: vec!["main".into(), "work".into()], count: 3 };
/// assert_eq!(s.stack.last().map(String::as_str), Some("work"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Frame names, outermost (root) first.
    pub stack: Vec<String>,
    /// How many times this exact stack was sampled.
    pub count: u64,
}

/// One recorded span: category, id, timeline, start and finish, and what it moved.
///
/// Times are nanoseconds since this process's epoch ([`now_ns`]); a timespan shipped from
/// another process should be moved onto the driver's clock with [`Timespan::shifted`].
///
/// # Examples
///
/// Filtering is plain iterator code, as `filter(x -> ..., dbg)` is in the reference:
///
/// ```
/// use dagger_profile::{category, Timespan};
/// let a = Timespan::new(category::COMPUTE, 1, "ThreadProc(w1, 1)", 0, 10);
/// let b = Timespan::new(category::COMM, 2, "OSProc(w2)", 5, 20);
/// let all = vec![a, b];
/// let on_w2: Vec<_> = all.iter().filter(|t| t.timeline == "OSProc(w2)").cloned().collect();
/// assert_eq!(on_w2.len(), 1);
/// assert_eq!(on_w2[0].duration_ns(), 15);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timespan {
    /// The kind of work: one of [`category::ALL`] for spans following the convention.
    pub category: String,
    /// The task id for task-related spans, otherwise the span's own id.
    pub id: u64,
    /// The processor (or other lane) the work ran on, e.g. `"ThreadProc(w1, 2)"`.
    pub timeline: String,
    /// Start, in nanoseconds since the epoch of the recording process.
    pub start_ns: u64,
    /// Finish, in nanoseconds since the epoch of the recording process (`>= start_ns`).
    pub finish_ns: u64,
    /// Bytes allocated during the span, when the emitter measured it.
    pub alloc_bytes: u64,
    /// Bytes moved or stored by the span.
    pub bytes: u64,
    /// The task's name, if it has one.
    pub name: Option<String>,
    /// The worker that recorded the span, if known.
    pub worker: Option<u64>,
    /// For `comm`: the worker data came from.
    pub from: Option<u64>,
    /// For `comm`: the worker data went to.
    pub to: Option<u64>,
    /// Profiler samples taken while the span was open (empty unless profiling was on).
    pub samples: Vec<Sample>,
    /// The OS thread that opened the span (`pthread_self`), recorded only with the
    /// `sampling` feature, where it matches samples to spans.
    #[serde(default)]
    pub os_thread: Option<u64>,
}

impl Timespan {
    /// A timespan with no bytes, name, worker or samples. `finish_ns` is raised to
    /// `start_ns` if it is earlier, so a timespan never has a negative duration.
    ///
    /// ```
    /// let t = dagger_profile::Timespan::new("compute", 7, "ThreadProc(w1, 1)", 100, 50);
    /// assert_eq!((t.start_ns, t.finish_ns), (100, 100));
    /// ```
    pub fn new(
        category: impl Into<String>,
        id: u64,
        timeline: impl Into<String>,
        start_ns: u64,
        finish_ns: u64,
    ) -> Self {
        Timespan {
            category: category.into(),
            id,
            timeline: timeline.into(),
            start_ns,
            finish_ns: finish_ns.max(start_ns),
            alloc_bytes: 0,
            bytes: 0,
            name: None,
            worker: None,
            from: None,
            to: None,
            samples: Vec::new(),
            os_thread: None,
        }
    }

    /// How long the span was open, in nanoseconds.
    ///
    /// ```
    /// assert_eq!(dagger_profile::Timespan::new("comm", 1, "x", 3, 8).duration_ns(), 5);
    /// ```
    pub fn duration_ns(&self) -> u64 {
        self.finish_ns.saturating_sub(self.start_ns)
    }

    /// The same timespan with both times moved by `offset_ns` (saturating at 0): use it with
    /// the difference of two processes' [`epoch_unix_ns`] to put a worker's timespans on
    /// the driver's clock.
    ///
    /// ```
    /// let t = dagger_profile::Timespan::new("comm", 1, "x", 10, 20).shifted(-15);
    /// assert_eq!((t.start_ns, t.finish_ns), (0, 5));
    /// ```
    pub fn shifted(mut self, offset_ns: i64) -> Self {
        let shift = |t: u64| -> u64 {
            if offset_ns >= 0 {
                t.saturating_add(offset_ns.unsigned_abs())
            } else {
                t.saturating_sub(offset_ns.unsigned_abs())
            }
        };
        self.start_ns = shift(self.start_ns);
        self.finish_ns = shift(self.finish_ns);
        self
    }

    /// The label a picture or trace shows: the task name if any, else `category id`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("{} {}", self.category, self.id),
        }
    }
}

struct Epoch {
    instant: Instant,
    unix_ns: u64,
}

fn epoch() -> &'static Epoch {
    static EPOCH: OnceLock<Epoch> = OnceLock::new();
    EPOCH.get_or_init(|| Epoch {
        instant: Instant::now(),
        // A clock set before 1970 only loses cross-process alignment, not local timing.
        unix_ns: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0),
    })
}

/// Nanoseconds since this process's profiling epoch (the first call to any clock function
/// of this crate), from the monotonic clock.
///
/// ```
/// let a = dagger_profile::now_ns();
/// let b = dagger_profile::now_ns();
/// assert!(b >= a);
/// ```
pub fn now_ns() -> u64 {
    let e = epoch();
    u64::try_from(e.instant.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The wall-clock time of this process's epoch, in nanoseconds since 1970. Two processes
/// align their timespans by the difference of their values.
///
/// ```
/// assert!(dagger_profile::epoch_unix_ns() > 0);
/// ```
pub fn epoch_unix_ns() -> u64 {
    epoch().unix_ns
}
