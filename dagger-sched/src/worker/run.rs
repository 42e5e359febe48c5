//! Running the tasks the driver sends: at once, or, for a task sent ahead of an input this
//! worker is still computing (`RunTask::after`), as soon as that input is stored here, on
//! the thread that computed it, with no message to the driver in between (steps 3 to 5 of
//! the protocol in `cluster::forward`).

use super::state::WorkerState;
use crate::cluster::live::ArgValue;
use crate::cluster::pinned;
use crate::cluster::protocol::{Done, DoneOk, ErrorKind, RemoteError, RunTask};
use crate::cluster::registry::lookup_live;
use bytes::Bytes;
use dagger_core::{ChunkId, Error, LiveValue, Options, ProcessorId, Result, Scope, TaskId};
use std::sync::Arc;

impl WorkerState {
    /// A task from the driver: queued now, or kept until the chunks it waits for are here.
    pub(super) fn arrived(self: &Arc<Self>, t: RunTask) {
        let t = if t.after.is_empty() {
            Some(t)
        } else {
            self.waiting.park(t, |c| self.chunks.contains(c))
        };
        if let Some(t) = t {
            self.spawn_run(t);
        }
    }

    /// The driver gave up on task `id` (cancelled, or its input is being made elsewhere): if
    /// it still waits here it is dropped (and told as cancelled), and the tasks waiting for
    /// its result fail upstream.
    pub(super) fn cancel(&self, id: TaskId) {
        let (parked, settled) = self.waiting.cancel(id);
        if parked {
            self.finished(Done {
                task: id,
                outcome: Err(RemoteError::from(&Error::Cancelled { task: id })),
            });
        }
        self.upstream_failed(&settled.failed);
    }

    /// Queues `t` on this worker's executor, on the threads it may use.
    fn spawn_run(self: &Arc<Self>, t: RunTask) {
        let s = self.clone();
        if t.threads.is_empty() {
            drop(self.ctx.spawn(move |()| s.run(t), ()));
        } else {
            let pin = Scope::union(
                t.threads
                    .iter()
                    .map(|i| Scope::Exact(ProcessorId::thread(self.me, *i))),
            )
            .unwrap_or(Scope::Any);
            drop(
                self.ctx
                    .spawn_with(Options::new().scope(pin), move |()| s.run(t), ()),
            );
        }
    }

    /// Runs `t`, then, on this thread, each forwarded task whose last missing input it made
    /// (a chain runs link after link here; a task pinned to other threads, or a second
    /// one made ready at once, is queued instead).
    fn run(self: &Arc<Self>, t: RunTask) {
        let mut next = Some(t);
        while let Some(t) = next.take() {
            let ok = self.run_one(&t);
            let settled = self.waiting.finished(ChunkId(t.task.0), ok);
            self.upstream_failed(&settled.failed);
            let thread = crate::executor::current_processor().map_or(0, |p| p.index);
            for r in settled.ready {
                self.transfers.forwarded();
                let here = r.threads.is_empty() || r.threads.contains(&thread);
                if next.is_none() && here {
                    next = Some(r);
                } else {
                    self.spawn_run(r);
                }
            }
        }
    }

    /// Tells the driver these forwarded tasks cannot run here: an input they waited for
    /// failed or was abandoned (it decides whether that is their failure or a retry).
    fn upstream_failed(&self, ids: &[TaskId]) {
        for id in ids {
            self.finished(Done {
                task: *id,
                outcome: Err(RemoteError {
                    kind: ErrorKind::Upstream,
                    message: format!(
                        "an input of task {id} failed or was abandoned on worker {}",
                        self.me
                    ),
                    lost: None,
                }),
            });
        }
    }

    /// Runs one task's function and stores its result; `true` if it succeeded.
    fn run_one(self: &Arc<Self>, t: &RunTask) -> bool {
        pinned::begin_task();
        let thread = crate::executor::current_processor().map_or(0, |p| p.index);
        let outcome = (|| -> Result<LiveValue> {
            let parts: Vec<ArgValue> = t.args.iter().map(|a| self.arg(a)).collect::<Result<_>>()?;
            let f = lookup_live(&t.func)?;
            // The task's name, else the registered function's (module path included).
            let _span = tracing::trace_span!(target: "dagger", "compute", task = t.task.0,
                name = t.name.as_deref().unwrap_or(&t.func),
                timeline = %dagger_core::ProcessorId::thread(self.me, thread), worker = self.me.0)
            .entered();
            // Unwind safety: after a panic the arguments are dropped unread and the error
            // is all that is kept.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&parts))) {
                Ok(r) => r,
                Err(p) => Err(Error::User(crate::task::panic_message(p))),
            }
        })();
        let made = pinned::end_task();
        if !made.is_empty() {
            self.pinned.lock().insert(ChunkId(t.task.0), made);
        }
        let outcome = outcome
            .and_then(|v| {
                let size = v.size;
                let inline = inline_bytes(&v, t.inline_limit)?;
                inline
                    .iter()
                    .for_each(|b| self.transfers.to_driver(b.len()));
                // Stored before the waiting table hears of it (see `waiting`).
                self.chunks.put_value(ChunkId(t.task.0), v)?;
                Ok(DoneOk {
                    size,
                    thread,
                    inline,
                })
            })
            .map_err(|e| RemoteError::from(&e));
        let ok = outcome.is_ok();
        self.finished(Done {
            task: t.task,
            outcome,
        });
        ok
    }
}

/// The encoding of a result small enough to travel with its completion notice (`None` if it
/// is larger than `limit`). Only a value whose estimated size is within twice the limit is
/// encoded to find out (postcard's varints can make an encoding a little larger than the
/// value), so a large result is never encoded here.
fn inline_bytes(v: &LiveValue, limit: u32) -> Result<Option<Bytes>> {
    let limit = u64::from(limit);
    if v.size > limit.saturating_mul(2).max(64) {
        return Ok(None);
    }
    let b = v.encode()?;
    Ok((b.len() as u64 <= limit).then_some(b))
}
