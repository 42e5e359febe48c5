//! A context's checkpoints: where they are stored, under which code tag, and what happened
//! to them (restored, computed, written, unusable).
//!
//! Writes are fire-and-forget on a small process-wide runtime (a task's dependents never wait
//! for its checkpoint); [`Checkpoints::flush`] waits for every write begun so far. A `put`
//! of a [`ChunkStore`] replaces the value whole (the disk store writes a temporary file and
//! renames it, object stores put atomically), so a crash mid-write leaves the old file or
//! none, and two drivers writing the same key write the same bytes.

use super::file::{check_file, encode_file, CheckpointError};
use crate::lineage_key::LineageKey;
use bytes::Bytes;
use dagger_core::{ChunkStore, Error, StoreKey};
use parking_lot::{Condvar, Mutex};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The prefix every checkpoint key is stored under in its store.
pub const PREFIX: &str = "checkpoints";
/// How many recent warnings a context keeps for [`crate::Context::checkpoint_warnings`].
const KEEP_WARNINGS: usize = 64;

/// What a context's checkpoints did so far (see [`crate::Context::checkpoint_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointStats {
    /// Tasks whose result was read back from a checkpoint instead of being computed.
    pub restored: u64,
    /// Checkpointed tasks that found no usable checkpoint and were computed.
    pub computed: u64,
    /// Checkpoints written (durably in the store: its `put` returned).
    pub written: u64,
    /// Checkpoint files found but not used (damaged, truncated, foreign): each also a warning.
    pub unusable: u64,
    /// Checkpoints that could not be written (the task's result stands; a warning each).
    pub write_errors: u64,
    /// Tasks asked to checkpoint that have no stable key (an argument from an unnamed
    /// closure or a `tochunk` value): computed, never checkpointed.
    pub keyless: u64,
}

/// A checkpoint that was found and not used: the task was computed again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointWarning {
    /// The task's lineage key.
    pub key: LineageKey,
    /// The store key of the file.
    pub store_key: String,
    /// Why it was not used.
    pub error: CheckpointError,
}

#[derive(Default)]
struct Counters {
    restored: AtomicU64,
    computed: AtomicU64,
    written: AtomicU64,
    unusable: AtomicU64,
    write_errors: AtomicU64,
    keyless: AtomicU64,
}

/// The checkpoint settings and state of one context.
pub(crate) struct Checkpoints {
    store: Arc<dyn ChunkStore>,
    pub(crate) tag: Arc<str>,
    /// The default for tasks whose options do not say.
    pub(crate) all: bool,
    counts: Counters,
    warnings: Mutex<Vec<CheckpointWarning>>,
    pending: Mutex<Pending>,
    /// Notified whenever a count in `pending` falls to zero.
    drained: Condvar,
}

/// The writes of one context not yet finished.
#[derive(Default)]
struct Pending {
    /// Begun at spawn: the task has not finished, or its write has not.
    begun: u64,
    /// Handed to the store and not yet answered.
    putting: u64,
}

/// The runtime checkpoint I/O runs on (store methods are async; the scheduler's threads are
/// not). One small runtime per process, shared by every context.
fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(4)
            .thread_name("dagger-checkpoint")
            .enable_all()
            .build()
            .ok()
    })
    .as_ref()
}

/// Runs `fut` on the checkpoint runtime and waits for it (from any thread, also from inside
/// another runtime: the wait is on a channel, not a nested `block_on`).
fn wait<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().ok()
}

/// The store key of a lineage key: fanned out by its first byte, so no directory holds
/// more than a few hundredths of a large run.
pub fn store_key(key: &LineageKey) -> StoreKey {
    let hex = key.to_hex();
    // Hex digits and `/` only: always a valid store key.
    StoreKey::new(format!("{PREFIX}/{}/{hex}", &hex[..2]))
        .unwrap_or_else(|_| unreachable!("hex store keys are valid"))
}

impl Checkpoints {
    pub(crate) fn new(store: Arc<dyn ChunkStore>, tag: Arc<str>, all: bool) -> Self {
        Checkpoints {
            store,
            tag,
            all,
            counts: Counters::default(),
            warnings: Mutex::new(Vec::new()),
            pending: Mutex::new(Pending::default()),
            drained: Condvar::new(),
        }
    }

    pub(crate) fn stats(&self) -> CheckpointStats {
        let c = &self.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Acquire);
        CheckpointStats {
            restored: get(&c.restored),
            computed: get(&c.computed),
            written: get(&c.written),
            unusable: get(&c.unusable),
            write_errors: get(&c.write_errors),
            keyless: get(&c.keyless),
        }
    }

    pub(crate) fn warnings(&self) -> Vec<CheckpointWarning> {
        self.warnings.lock().clone()
    }

    pub(crate) fn location(&self) -> String {
        self.store.location()
    }

    /// Counts a task that will be computed (no usable checkpoint).
    pub(crate) fn computing(&self) {
        self.counts.computed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a task that asked for a checkpoint and has no key.
    pub(crate) fn keyless(&self) {
        self.counts.keyless.fetch_add(1, Ordering::Relaxed);
    }

    fn warn(&self, key: &LineageKey, store_key: &StoreKey, error: CheckpointError) {
        tracing::warn!(target: "dagger", key = %key, file = %store_key, location = %self.store.location(),
            "checkpoint not used, recomputing: {error}");
        self.counts.unusable.fetch_add(1, Ordering::Relaxed);
        let mut w = self.warnings.lock();
        if w.len() == KEEP_WARNINGS {
            w.remove(0);
        }
        w.push(CheckpointWarning {
            key: *key,
            store_key: store_key.to_string(),
            error,
        });
    }

    /// The result stored for `key`, if there is a usable one: same key, code tag and type,
    /// intact. An unusable file is a warning (and `None`); an absent one is just `None`.
    pub(crate) fn restore<R: DeserializeOwned>(&self, key: &LineageKey) -> Option<R> {
        let sk = store_key(key);
        let (store, k) = (self.store.clone(), sk.clone());
        let got = wait(async move { store.get(&k).await }).unwrap_or_else(|| {
            Err(Error::Storage(
                "the checkpoint runtime is not running".into(),
            ))
        });
        let bytes = match got {
            Ok(b) => b,
            Err(Error::NotFound(_)) => return None,
            Err(e) => {
                self.warn(key, &sk, CheckpointError::Store(e.to_string()));
                return None;
            }
        };
        let ty = std::any::type_name::<R>();
        let value = check_file(&bytes, key, &self.tag, ty).and_then(|p| {
            postcard::from_bytes::<R>(p).map_err(|e| CheckpointError::Decode(e.to_string()))
        });
        match value {
            Ok(v) => {
                self.counts.restored.fetch_add(1, Ordering::Relaxed);
                Some(v)
            }
            Err(e) => {
                self.warn(key, &sk, e);
                None
            }
        }
    }

    /// Counts a write about to begin; the returned guard finishes it (also when dropped
    /// unused: a task that failed writes nothing).
    pub(crate) fn begin_write(self: &Arc<Self>) -> PendingWrite {
        self.pending.lock().begun += 1;
        PendingWrite(self.clone())
    }

    /// Waits until every write begun so far has finished.
    pub(crate) fn flush(&self) {
        let mut p = self.pending.lock();
        while p.begun > 0 {
            self.drained.wait(&mut p);
        }
    }

    /// Waits, for at most `limit`, until every write already handed to the store has been
    /// answered; whether they all were. What the context's drop calls: the results computed
    /// by then become durable even when the process exits right after (the store's runtime
    /// is killed with the process). Writes of tasks that never ran are not waited for.
    pub(crate) fn flush_puts(&self, limit: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut p = self.pending.lock();
        while p.putting > 0 {
            if self.drained.wait_until(&mut p, deadline).timed_out() {
                return p.putting == 0;
            }
        }
        true
    }

    /// Counts one more write handed to the store.
    fn put_started(&self) {
        self.pending.lock().putting += 1;
    }

    /// The store answered a write.
    fn put_ended(&self) {
        let mut p = self.pending.lock();
        p.putting = p.putting.saturating_sub(1);
        if p.putting == 0 {
            self.drained.notify_all();
        }
    }

    fn end_write(&self) {
        let mut p = self.pending.lock();
        p.begun = p.begun.saturating_sub(1);
        if p.begun == 0 {
            self.drained.notify_all();
        }
    }
}

/// One checkpoint write in flight (see [`Checkpoints::begin_write`]).
pub(crate) struct PendingWrite(Arc<Checkpoints>);

impl PendingWrite {
    /// Writes `payload`, the encoded result (of type `type_name`) of the task with `key`.
    pub(crate) fn write(self, key: LineageKey, type_name: &str, payload: &[u8]) {
        let c = self.0.clone();
        let file = Bytes::from(encode_file(&key, &c.tag, type_name, payload));
        let sk = store_key(&key);
        let Some(rt) = runtime() else {
            c.counts.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        c.put_started();
        rt.spawn(async move {
            match c.store.put(&sk, file).await {
                Ok(()) => c.counts.written.fetch_add(1, Ordering::Release),
                Err(e) => {
                    tracing::warn!(target: "dagger", key = %key, "checkpoint not written: {e}");
                    c.counts.write_errors.fetch_add(1, Ordering::Relaxed)
                }
            };
            c.put_ended();
            // The guard ends the write once the store has answered.
            drop(self);
        });
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        self.0.end_write();
    }
}
