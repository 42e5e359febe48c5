//! The task-graph panel's data: a bounded window of consecutive task ids, their names,
//! dependencies and states.
//!
//! The window opens at the first task spawned once it is *armed* (at start, and again when
//! every task in it has finished and someone looks), and holds the first [`CAP`] tasks whose
//! ids fall in the next `SLOTS` ids (task ids are process-wide, so other contexts' tasks may
//! be interleaved). An event outside the window costs one subtraction and one comparison.

use crate::names::UNNAMED;
use crate::state::{GraphView, NodeState, NodeView};
use dagger_core::TaskId;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::*};
use std::sync::Arc;

/// Most tasks the graph panel shows (more would not be readable).
pub const CAP: u64 = 256;
/// Task ids a window spans (one state byte each).
const SLOTS: u64 = 4096;

/// No window yet: a base that no task id (< 2^63) falls above within `SLOTS`.
const NO_BASE: u64 = 1 << 63;

/// A new window opens at the next task spawned outside the current one.
const ARMED: u8 = 1;
/// More tasks were spawned than the window holds.
const TRUNCATED: u8 = 2;

// States as bytes, ordered so that `fetch_max` never moves a task backwards.
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;
const FAILED: u8 = 4;

fn code(s: NodeState) -> u8 {
    match s {
        NodeState::Queued => QUEUED,
        NodeState::Running => RUNNING,
        NodeState::Done => DONE,
        NodeState::Failed => FAILED,
    }
}

fn state_of(c: u8) -> NodeState {
    match c {
        RUNNING => NodeState::Running,
        DONE => NodeState::Done,
        FAILED => NodeState::Failed,
        _ => NodeState::Queued,
    }
}

struct Node {
    id: u64,
    name: Option<Arc<str>>,
    deps: Vec<u64>,
}

struct Nodes {
    base: u64,
    list: Vec<Node>,
    /// One past the largest window index in `list`.
    end: u64,
}

/// The graph window.
pub(crate) struct Graph {
    base: AtomicU64,
    /// Task ids at or past this are not shown, so their states are not kept: a task started
    /// or finished after the window's costs one load and one comparison. Once the list is
    /// full this is one past its last task (a chain of ten thousand tasks would otherwise
    /// pay two atomic read-modify-writes for each of the window's first `SLOTS` ids).
    hi: AtomicU64,
    /// [`ARMED`] and [`TRUNCATED`] in one byte, so that a spawn while the window is full
    /// (nearly every spawn) costs one load.
    flags: AtomicU8,
    states: Box<[AtomicU8]>,
    nodes: Mutex<Nodes>,
}

impl Graph {
    pub(crate) fn new() -> Self {
        Graph {
            base: AtomicU64::new(NO_BASE),
            hi: AtomicU64::new(0),
            flags: AtomicU8::new(ARMED),
            states: (0..SLOTS).map(|_| AtomicU8::new(0)).collect(),
            nodes: Mutex::new(Nodes {
                base: NO_BASE,
                list: Vec::new(),
                end: 0,
            }),
        }
    }

    #[inline]
    pub(crate) fn spawned(&self, id: u64, name: &Option<Arc<str>>, deps: &[TaskId]) {
        if self.flags.load(Relaxed) != TRUNCATED {
            self.spawned_while_open(id, name, deps);
        }
    }

    /// [`Graph::spawned`] while the window takes tasks or a new one may open.
    #[inline(never)]
    fn spawned_while_open(&self, id: u64, name: &Option<Arc<str>>, deps: &[TaskId]) {
        let base = self.base.load(Acquire);
        let flags = self.flags.load(Relaxed);
        if id.wrapping_sub(base) < SLOTS {
            // A full window takes no lock.
            if flags & TRUNCATED == 0 {
                self.add(id, name, deps);
            }
        } else if flags & ARMED != 0 && self.flags.fetch_and(!ARMED, AcqRel) & ARMED != 0 {
            let mut nodes = self.nodes.lock();
            nodes.list.clear();
            nodes.base = id;
            nodes.end = 0;
            for s in self.states.iter() {
                s.store(0, Relaxed);
            }
            self.flags.fetch_and(!TRUNCATED, Relaxed);
            self.hi.store(id + SLOTS, Relaxed);
            self.base.store(id, Release);
            drop(nodes);
            self.add(id, name, deps);
        } else if id.wrapping_sub(base) < NO_BASE && flags & TRUNCATED == 0 {
            self.flags.fetch_or(TRUNCATED, Relaxed);
        }
    }

    fn add(&self, id: u64, name: &Option<Arc<str>>, deps: &[TaskId]) {
        let mut nodes = self.nodes.lock();
        let i = id.wrapping_sub(nodes.base);
        if i >= SLOTS {
            return; // the window moved meanwhile
        }
        if nodes.list.len() as u64 >= CAP {
            self.flags.fetch_or(TRUNCATED, Relaxed);
            self.hi.store(nodes.base + nodes.end, Relaxed);
            return;
        }
        nodes.end = nodes.end.max(i + 1);
        nodes.list.push(Node {
            id,
            name: name.clone(),
            deps: deps.iter().map(|d| d.0).collect(),
        });
        self.states[i as usize].fetch_max(QUEUED, AcqRel);
    }

    #[inline]
    pub(crate) fn set(&self, id: u64, state: NodeState) {
        if id >= self.hi.load(Relaxed) {
            return;
        }
        let i = id.wrapping_sub(self.base.load(Acquire));
        if i < SLOTS {
            self.states[i as usize].fetch_max(code(state), AcqRel);
        }
    }

    /// The window as shown; arms a new window if every task in this one has finished.
    pub(crate) fn view(&self) -> GraphView {
        let nodes = self.nodes.lock();
        let ids: HashSet<u64> = nodes.list.iter().map(|n| n.id).collect();
        let mut all_finished = true;
        let list: Vec<NodeView> = nodes
            .list
            .iter()
            .map(|n| {
                let s = self.states[(n.id.wrapping_sub(nodes.base) % SLOTS) as usize].load(Acquire);
                all_finished &= s >= DONE;
                NodeView {
                    id: n.id,
                    name: n.name.as_deref().unwrap_or(UNNAMED).to_string(),
                    state: state_of(s),
                    deps: n.deps.iter().copied().filter(|d| ids.contains(d)).collect(),
                }
            })
            .collect();
        if all_finished && !list.is_empty() {
            self.flags.fetch_or(ARMED, Release);
        }
        GraphView {
            nodes: list,
            truncated: self.flags.load(Relaxed) & TRUNCATED != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &GraphView) -> Vec<u64> {
        v.nodes.iter().map(|n| n.id).collect()
    }

    #[test]
    fn window_opens_at_first_spawn_and_tracks_states() {
        let g = Graph::new();
        g.spawned(1000, &Some("a".into()), &[]);
        g.spawned(1001, &None, &[TaskId(1000), TaskId(5)]);
        g.set(1000, NodeState::Running);
        let v = g.view();
        assert_eq!(ids(&v), vec![1000, 1001]);
        assert_eq!(v.nodes[0].state, NodeState::Running);
        assert_eq!(v.nodes[0].name, "a");
        assert_eq!(v.nodes[1].name, UNNAMED);
        // A dependency outside the window is not drawn.
        assert_eq!(v.nodes[1].deps, vec![1000]);
        // States never go backwards (a late "running" after "done").
        g.set(1000, NodeState::Done);
        g.set(1000, NodeState::Running);
        assert_eq!(g.view().nodes[0].state, NodeState::Done);
        assert!(!v.truncated);
    }

    #[test]
    fn tasks_past_the_window_mark_it_truncated_and_a_finished_window_rearms() {
        let g = Graph::new();
        for id in 10..10 + CAP + 5 {
            g.spawned(id, &None, &[]);
        }
        let v = g.view();
        assert_eq!(v.nodes.len() as u64, CAP);
        assert!(v.truncated);
        for id in 10..10 + CAP {
            g.set(id, NodeState::Done);
        }
        let _ = g.view(); // all finished: arms
        g.spawned(5000, &None, &[]);
        let v = g.view();
        assert_eq!(ids(&v), vec![5000]);
        assert!(!v.truncated);
    }

    #[test]
    fn a_full_window_keeps_no_state_for_tasks_it_does_not_show() {
        let g = Graph::new();
        // Ids interleaved with another context's: the window's tasks are the even ones.
        for id in (100..100 + 2 * (CAP + 10)).step_by(2) {
            g.spawned(id, &None, &[]);
        }
        let last_shown = 100 + 2 * (CAP - 1);
        g.set(last_shown, NodeState::Running);
        g.set(last_shown + 2, NodeState::Running);
        let state = |id: u64| g.states[(id - 100) as usize].load(Relaxed);
        assert_eq!(state(last_shown), RUNNING);
        assert_eq!(state(last_shown + 2), 0, "not shown, so not tracked");
        // A shown task's state still moves on.
        g.set(100, NodeState::Done);
        assert_eq!(g.view().nodes[0].state, NodeState::Done);
    }
}
