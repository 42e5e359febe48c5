//! A worker's table of forwarded tasks: tasks the driver sent ahead of an input that this
//! worker is still computing (`RunTask::after`), kept by the chunk they wait for, and run
//! the moment the last of those chunks is held here (see `forward` for the whole protocol).
//!
//! One lock guards the table. The worker stores a result *before* it tells the table the
//! chunk is finished, and a task arriving checks which of its chunks are held *under* the
//! lock, so a task either finds its chunk held or is found by the completion: never neither.

use super::protocol::RunTask;
use crate::id_hash::IdHasher;
use dagger_core::{ChunkId, TaskId};
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Keyed by task and chunk ids (counters): SipHash was a visible part of a chain's hop here.
type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A forwarded task, and how many of its chunks are not yet held.
struct Parked {
    run: RunTask,
    missing: usize,
}

#[derive(Default)]
struct Table {
    /// Chunk → the tasks waiting for it. An id whose task has left `tasks` (it failed or
    /// was cancelled) is skipped when the chunk finishes.
    by_chunk: IdMap<ChunkId, SmallVec<[TaskId; 1]>>,
    tasks: IdMap<TaskId, Parked>,
}

/// What a completion, a failure or a cancellation settled.
#[derive(Default)]
pub(crate) struct Settled {
    /// Tasks now able to run (every chunk they wait for is held).
    pub(crate) ready: Vec<RunTask>,
    /// Tasks that can no longer run here: an input failed or was abandoned. Each is told to
    /// the driver once, as an `Upstream` failure (or `Cancelled`, for the ones cancelled).
    pub(crate) failed: Vec<TaskId>,
}

/// The forwarded tasks of one worker.
#[derive(Default)]
pub(crate) struct Waiting {
    table: Mutex<Table>,
}

impl Waiting {
    /// Keeps `run` until every chunk of its `after` list that `held` does not find is
    /// finished here; returns it at once if none is missing.
    pub(crate) fn park(&self, run: RunTask, held: impl Fn(ChunkId) -> bool) -> Option<RunTask> {
        let mut t = self.table.lock();
        let missing: SmallVec<[ChunkId; 2]> =
            run.after.iter().copied().filter(|c| !held(*c)).collect();
        if missing.is_empty() {
            return Some(run);
        }
        for c in &missing {
            t.by_chunk.entry(*c).or_default().push(run.task);
        }
        t.tasks.insert(
            run.task,
            Parked {
                run,
                missing: missing.len(),
            },
        );
        None
    }

    /// Chunk `chunk` was stored here (`ok`), or will never be (its task failed): the tasks
    /// waiting for it run, or fail, and so do the tasks waiting for those that fail.
    pub(crate) fn finished(&self, chunk: ChunkId, ok: bool) -> Settled {
        let mut out = Settled::default();
        let mut t = self.table.lock();
        let Some(ids) = t.by_chunk.remove(&chunk) else {
            return out;
        };
        let mut failing: Vec<ChunkId> = Vec::new();
        for id in ids {
            if ok {
                let now_ready = match t.tasks.get_mut(&id) {
                    Some(p) => {
                        p.missing -= 1;
                        p.missing == 0
                    }
                    None => false,
                };
                if now_ready {
                    if let Some(p) = t.tasks.remove(&id) {
                        out.ready.push(p.run);
                    }
                }
            } else if t.tasks.remove(&id).is_some() {
                out.failed.push(id);
                failing.push(ChunkId(id.0));
            }
        }
        // A failed task's own waiters fail too (a worklist: a chain may be long).
        while let Some(c) = failing.pop() {
            for id in t.by_chunk.remove(&c).unwrap_or_default() {
                if t.tasks.remove(&id).is_some() {
                    out.failed.push(id);
                    failing.push(ChunkId(id.0));
                }
            }
        }
        out
    }

    /// The driver gave up on `task`: dropped if it is still waiting here (`true`), and the
    /// tasks waiting for its result fail (in `Settled::failed`).
    pub(crate) fn cancel(&self, task: TaskId) -> (bool, Settled) {
        let was_parked = self.table.lock().tasks.remove(&task).is_some();
        (was_parked, self.finished(ChunkId(task.0), false))
    }

    /// How many tasks wait here (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.lock().tasks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(task: u64, after: &[u64]) -> RunTask {
        RunTask {
            task: TaskId(task),
            func: "f".into(),
            args: Vec::new(),
            inline_limit: 0,
            threads: Vec::new(),
            name: None,
            after: after.iter().map(|c| ChunkId(*c)).collect(),
        }
    }

    #[test]
    fn a_chain_runs_link_by_link_and_a_failure_fails_the_rest() {
        let w = Waiting::default();
        assert!(w.park(run(2, &[1]), |_| false).is_none());
        assert!(w.park(run(3, &[2]), |_| false).is_none());
        assert!(w.park(run(4, &[3]), |_| false).is_none());
        // Held already: runs at once.
        assert!(w.park(run(9, &[1]), |c| c == ChunkId(1)).is_some());
        let s = w.finished(ChunkId(1), true);
        assert_eq!(
            s.ready.iter().map(|r| r.task).collect::<Vec<_>>(),
            [TaskId(2)]
        );
        assert!(s.failed.is_empty());
        let s = w.finished(ChunkId(2), false);
        assert!(s.ready.is_empty());
        assert_eq!(s.failed, [TaskId(3), TaskId(4)]);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn a_task_waiting_for_two_chunks_runs_after_both_and_cancel_drops_it() {
        let w = Waiting::default();
        assert!(w.park(run(5, &[1, 2]), |_| false).is_none());
        assert!(w.finished(ChunkId(1), true).ready.is_empty());
        assert_eq!(w.finished(ChunkId(2), true).ready.len(), 1);
        assert!(w.park(run(6, &[1, 2]), |c| c == ChunkId(1)).is_none());
        assert!(w.park(run(7, &[6]), |_| false).is_none());
        let (parked, s) = w.cancel(TaskId(6));
        assert!(parked);
        assert_eq!(s.failed, [TaskId(7)]);
        // Its stale entry under chunk 2 is skipped.
        let s = w.finished(ChunkId(2), true);
        assert!(s.ready.is_empty() && s.failed.is_empty());
        assert!(!w.cancel(TaskId(6)).0);
        assert_eq!(w.len(), 0);
    }
}
