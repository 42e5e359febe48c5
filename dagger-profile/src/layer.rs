//! [`ProfileLayer`]: turns `tracing` spans of target `"dagger"` into [`Timespan`]s.
//!
//! It is a `tracing_subscriber` [`Layer`], not a subscriber of its own, so a program can
//! stack it with `fmt` or any other layer, and turn it off with `Option<ProfileLayer>`.
//! Its per-layer [`RecordingFilter`] makes it invisible to the other layers and free
//! while its [`Collector`] is stopped: it then reports no interest in any callsite, so a
//! dagger span costs only tracing's cached callsite check (unless another layer wants it).
//!
//! # How a span becomes a timespan
//!
//! 1. `new_span`: the span's name is the category; its fields are read (see the crate
//!    docs for the convention); the time is noted.
//! 2. `enter` / `exit`: the first enter and the last exit are noted.
//! 3. `close`: start is the first enter (else the creation time), finish the last exit
//!    (else the close time); the timespan goes to the collector if it is still recording.

use crate::collector::Collector;
use crate::timespan::{now_ns, Timespan, TARGET};
use std::fmt;
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer [`Collector::layer`] returns: [`ProfileLayer`] behind its [`RecordingFilter`].
pub type FilteredProfileLayer<S> = Filtered<ProfileLayer, RecordingFilter, S>;

impl Collector {
    /// The `tracing_subscriber` layer that feeds this collector, with its per-layer filter:
    /// it sees only spans of target `"dagger"`, and only while recording, so stacking it
    /// with other layers (e.g. `fmt`) changes nothing they see.
    pub fn layer<S>(&self) -> FilteredProfileLayer<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        ProfileLayer::new(self.clone()).with_filter(RecordingFilter::new(self.clone()))
    }
}

/// Records closed dagger spans into a [`Collector`].
///
/// Prefer [`Collector::layer`], which adds the [`RecordingFilter`]; used bare, this layer
/// still records only dagger spans opened while recording, but every span of every target
/// then reaches it.
#[derive(Clone, Debug)]
pub struct ProfileLayer {
    collector: Collector,
}

impl ProfileLayer {
    /// A layer feeding `collector`.
    pub fn new(collector: Collector) -> Self {
        ProfileLayer { collector }
    }

    /// The collector this layer feeds.
    pub fn collector(&self) -> &Collector {
        &self.collector
    }
}

/// The per-layer filter of [`ProfileLayer`]: dagger spans, and only while recording.
#[derive(Clone, Debug)]
pub struct RecordingFilter {
    collector: Collector,
}

impl RecordingFilter {
    /// A filter that lets spans through while `collector` records.
    pub fn new(collector: Collector) -> Self {
        RecordingFilter { collector }
    }
}

fn is_dagger_span(meta: &Metadata<'_>) -> bool {
    meta.is_span() && meta.target() == TARGET
}

impl<S> Filter<S> for RecordingFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        // Callsites of other targets were turned off once in `callsite_enabled`; this is
        // the per-span cost: one relaxed load.
        self.collector.is_recording() && is_dagger_span(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        // Asked again whenever the collector starts or stops (it rebuilds the interest
        // cache), so while stopped dagger callsites cost nothing here. While recording,
        // "sometimes" keeps the per-span check, so `stop` takes effect at once.
        if is_dagger_span(meta) && self.collector.is_recording() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }
}

/// What is known about an open span; kept in the registry's span extensions.
#[derive(Debug)]
struct OpenSpan {
    category: &'static str,
    created_ns: u64,
    first_enter: Option<u64>,
    last_exit: Option<u64>,
    task: Option<u64>,
    name: Option<String>,
    timeline: Option<String>,
    worker: Option<u64>,
    bytes: u64,
    alloc: u64,
    from: Option<u64>,
    to: Option<u64>,
    thread: String,
    os_thread: Option<u64>,
}

impl OpenSpan {
    fn into_timespan(self, span_id: u64, closed_ns: u64) -> Timespan {
        let start = self.first_enter.unwrap_or(self.created_ns);
        let finish = self.last_exit.unwrap_or(closed_ns);
        let timeline = match (self.timeline, self.worker) {
            (Some(t), _) => t,
            (None, Some(w)) => format!("OSProc(w{w})"),
            (None, None) => self.thread,
        };
        let mut t = Timespan::new(
            self.category,
            self.task.unwrap_or(span_id),
            timeline,
            start,
            finish,
        );
        t.name = self.name;
        t.worker = self.worker;
        t.bytes = self.bytes;
        t.alloc_bytes = self.alloc;
        t.from = self.from;
        t.to = self.to;
        t.os_thread = self.os_thread;
        t
    }
}

impl Visit for OpenSpan {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "task" => self.task = Some(value),
            "worker" => self.worker = Some(value),
            "bytes" => self.bytes = value,
            "alloc" => self.alloc = value,
            "from" => self.from = Some(value),
            "to" => self.to = Some(value),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        // Integer literals without a suffix arrive as i64; negative ones mean nothing here.
        if let Ok(v) = u64::try_from(value) {
            self.record_u64(field, v);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "name" => self.name = Some(value.to_owned()),
            "timeline" => self.timeline = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%display` and `?debug` values: take the text for the string fields.
        match field.name() {
            "name" | "timeline" => self.record_str(field, &format!("{value:?}")),
            _ => {}
        }
    }
}

fn thread_label() -> String {
    let t = std::thread::current();
    match t.name() {
        Some(n) => format!("thread {n}"),
        None => format!("thread {:?}", t.id()),
    }
}

impl<S> Layer<S> for ProfileLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &tracing::Dispatch) {
        self.collector.attach(dispatch);
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if !self.collector.is_recording() || !is_dagger_span(meta) {
            return;
        }
        let mut open = OpenSpan {
            category: meta.name(),
            created_ns: now_ns(),
            first_enter: None,
            last_exit: None,
            task: None,
            name: None,
            timeline: None,
            worker: None,
            bytes: 0,
            alloc: 0,
            from: None,
            to: None,
            thread: String::new(),
            os_thread: crate::sampling::os_thread(),
        };
        attrs.record(&mut open);
        if open.timeline.is_none() && open.worker.is_none() {
            // Only needed as the fallback timeline; naming the thread allocates.
            open.thread = thread_label();
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(open);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(open) = span.extensions_mut().get_mut::<OpenSpan>() {
                values.record(open);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(open) = span.extensions_mut().get_mut::<OpenSpan>() {
                if open.first_enter.is_none() {
                    open.first_enter = Some(now_ns());
                }
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(open) = span.extensions_mut().get_mut::<OpenSpan>() {
                open.last_exit = Some(now_ns());
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let closed = now_ns();
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<OpenSpan>() else {
            return;
        };
        if self.collector.is_recording() {
            self.collector
                .push(open.into_timespan(id.into_u64(), closed));
        }
    }
}

/// The process-wide collector that [`install_global`] and [`record`](crate::record) use.
///
/// A program that installs its own global subscriber can still feed it by stacking
/// `dagger_profile::global().layer()` into that subscriber.
pub fn global() -> &'static Collector {
    static GLOBAL: OnceLock<Collector> = OnceLock::new();
    GLOBAL.get_or_init(Collector::new)
}

/// Install a global subscriber made of a registry and [`global()`]'s layer, once.
///
/// Returns `true` if that subscriber is the global one (installed now or by an earlier
/// call), `false` if some other global subscriber was there first; it never panics. After
/// `false`, stack `global().layer()` into that other subscriber to record.
///
/// ```
/// let first = dagger_profile::install_global();
/// assert_eq!(dagger_profile::install_global(), first); // idempotent
/// ```
pub fn install_global() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(global().layer());
        tracing::subscriber::set_global_default(subscriber).is_ok()
    })
}
