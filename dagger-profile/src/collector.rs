//! [`Collector`]: where recorded timespans accumulate until someone takes them.
//!
//! [`Collector::layer`], which builds the layer that feeds it, lives with that layer in
//! `layer.rs`, so this module stays below the layer that pushes into it.

use crate::timespan::Timespan;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tracing::dispatcher::{Dispatch, WeakDispatch};

/// How many timespans a collector keeps by default before it drops new ones.
pub const DEFAULT_CAPACITY: usize = 1 << 20;

#[derive(Debug)]
struct Inner {
    recording: AtomicBool,
    events: Mutex<Vec<Timespan>>,
    capacity: usize,
    dropped: AtomicU64,
    /// The dispatchers this collector's layer is part of, to rebuild their interest.
    dispatches: Mutex<Vec<WeakDispatch>>,
}

/// A shared, bounded buffer of [`Timespan`]s with an on/off switch.
///
/// Cloning a collector gives another handle to the same buffer. While it is stopped (the
/// initial state) its [`layer`](Collector::layer) tells `tracing` it has no interest in
/// dagger callsites, so (with no other layer interested) a span costs what a disabled
/// callsite costs, a cached check of about 1–2 ns; `start` and `stop` rebuild tracing's
/// interest cache. While it records, each closed span is appended under a mutex. At most `capacity`
/// timespans are kept; later ones are counted in [`dropped`](Collector::dropped) instead,
/// so a forgotten recording cannot grow without bound.
///
/// # Examples
///
/// ```
/// use dagger_profile::Collector;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let collector = Collector::new();
/// let subscriber = tracing_subscriber::registry().with(collector.layer());
/// tracing::subscriber::with_default(subscriber, || {
///     collector.start();
///     tracing::info_span!(target: "dagger", "compute", task = 7u64, timeline = "ThreadProc(w1, 1)")
///         .in_scope(|| {});
///     tracing::info_span!(target: "elsewhere", "compute").in_scope(|| {}); // not ours
///     collector.stop();
/// });
/// let spans = collector.take();
/// assert_eq!(spans.len(), 1);
/// assert_eq!((spans[0].category.as_str(), spans[0].id), ("compute", 7));
/// ```
#[derive(Clone, Debug)]
pub struct Collector {
    inner: Arc<Inner>,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector {
    /// A stopped collector that keeps up to [`DEFAULT_CAPACITY`] timespans.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A stopped collector that keeps up to `capacity` timespans.
    ///
    /// ```
    /// use dagger_profile::{Collector, Timespan};
    /// let c = Collector::with_capacity(1);
    /// c.ingest(vec![Timespan::new("comm", 1, "x", 0, 1), Timespan::new("comm", 2, "x", 0, 1)]);
    /// assert_eq!((c.take().len(), c.dropped()), (1, 1));
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Collector {
            inner: Arc::new(Inner {
                recording: AtomicBool::new(false),
                events: Mutex::new(Vec::new()),
                capacity,
                dropped: AtomicU64::new(0),
                dispatches: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Start recording spans that open from now on.
    ///
    /// A dagger callsite reached for the very first time while `start` runs on another
    /// thread may keep its "not interested" answer until the next start or stop (tracing
    /// computes a new callsite's interest outside the lock its rebuild takes).
    pub fn start(&self) {
        self.switch(true);
    }

    /// Stop recording; spans still open are not recorded when they close.
    pub fn stop(&self) {
        self.switch(false);
    }

    fn switch(&self, on: bool) {
        // The filter answers callsite interest from the flag, so tracing's interest cache
        // is rebuilt after each change. Two rebuilds running at once could store a stale
        // answer last, so changes and rebuilds of all collectors take turns.
        static TURN: Mutex<()> = Mutex::new(());
        let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
        if self.inner.recording.swap(on, Ordering::SeqCst) == on {
            return;
        }
        // While only one dispatcher exists, tracing asks the *calling thread's* default
        // dispatcher, which need not be ours: rebuild from inside each of ours.
        let ours: Vec<Dispatch> = {
            let mut weak = self
                .inner
                .dispatches
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            weak.retain(|w| w.upgrade().is_some());
            weak.iter().filter_map(WeakDispatch::upgrade).collect()
        };
        if ours.is_empty() {
            tracing::callsite::rebuild_interest_cache();
        }
        for d in &ours {
            tracing::dispatcher::with_default(d, tracing::callsite::rebuild_interest_cache);
        }
    }

    /// Remember a dispatcher this collector's layer was registered in.
    pub(crate) fn attach(&self, dispatch: &Dispatch) {
        let mut weak = self
            .inner
            .dispatches
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        weak.retain(|w| w.upgrade().is_some());
        weak.push(dispatch.downgrade());
    }

    /// Whether the collector is recording.
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.inner.recording.load(Ordering::Relaxed)
    }

    /// Everything recorded so far, sorted by start time; the buffer is left empty.
    pub fn take(&self) -> Vec<Timespan> {
        let mut out = std::mem::take(&mut *self.lock());
        out.sort_by_key(|t| (t.start_ns, t.finish_ns));
        out
    }

    /// Add timespans recorded elsewhere (e.g. shipped from a worker process), whether or
    /// not this collector is recording.
    pub fn ingest(&self, spans: Vec<Timespan>) {
        let mut events = self.lock();
        let room = self.inner.capacity.saturating_sub(events.len());
        let extra = spans.len().saturating_sub(room);
        events.extend(spans.into_iter().take(room));
        if extra > 0 {
            self.inner
                .dropped
                .fetch_add(extra as u64, Ordering::Relaxed);
        }
    }

    /// How many timespans were dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn push(&self, span: Timespan) {
        let mut events = self.lock();
        if events.len() < self.inner.capacity {
            events.push(span);
        } else {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether `other` is a handle to the same buffer.
    pub fn same_as(&self, other: &Collector) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Timespan>> {
        // A panic while holding the lock can only interrupt a Vec push; the data is intact.
        self.inner.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}
