//! Where a registered-function task runs: the worker with the least estimated completion
//! time (bytes of input that would move, plus that worker's queue), within its scope; and
//! running one on the driver's own threads.
//!
//! Which processes (and threads) a scope allows is worked out once per scope and set of
//! workers, not once per task: matching a union of W process scopes against every thread of
//! W workers cost each task O(W²) scope tests, the driver's largest cost at 16 workers.

use super::driver::{Cluster, Fit};
use crate::observe::Observers;
use crate::site::Site;
use crate::task::{Header, Job, Outcome, Pin, Ready, Task};
use dagger_core::{Error, NodeId, ProcessorId, ProcessorInfo, Result, Scope, TaskId, WorkerId};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Scopes whose fit is kept (a program uses few scopes; more are worked out again).
const FITS: usize = 8;

/// The threads among `1..=threads` of `worker` on `node` that `scope` allows, empty when it
/// allows them all, `None` when it allows none.
fn fitting_threads(
    scope: &Scope,
    worker: WorkerId,
    threads: u32,
    node: NodeId,
) -> Option<Vec<u32>> {
    let ok: Vec<u32> = (1..=threads)
        .filter(|t| {
            scope.matches(&ProcessorInfo {
                id: ProcessorId::thread(worker, *t),
                node,
            })
        })
        .collect();
    match ok.len() {
        0 => None,
        n if n == threads as usize => Some(Vec::new()),
        _ => Some(ok),
    }
}

impl Cluster {
    /// Picks the worker with the least estimated completion time for a task (bytes of input
    /// that would move, plus that worker's queue), optionally never the driver.
    pub(crate) fn choose_excluding(
        &self,
        scope: &Scope,
        sites: &[Site],
        func: &str,
        remote_only: bool,
    ) -> Result<WorkerId> {
        let est = *self.est_task_s.lock();
        const RATE: f64 = 1e8; // bytes/s between processes
        const HOP: f64 = 50e-6; // one cross-process fetch
        let move_cost = |w: WorkerId| {
            sites
                .iter()
                .filter(|s| s.owner != w)
                .map(|s| HOP + s.size as f64 / RATE)
                .sum::<f64>()
        };
        let allowed = |w: WorkerId, threads: u32, node: NodeId| {
            fitting_threads(scope, w, threads, node).is_some()
        };
        let mut best: Option<(f64, WorkerId)> = None;
        let mut consider = |cost: f64, w: WorkerId| {
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, w));
            }
        };
        let fit = self.fit(scope);
        if !remote_only && fit.driver.is_some() {
            let q = self.local_running.load(Ordering::Relaxed) as f64;
            consider(
                move_cost(self.driver) + (q + 1.0) / self.driver_threads as f64 * est,
                self.driver,
            );
        }
        for (w, _) in &fit.workers {
            if w.alive.load(Ordering::Acquire) {
                let q = w.inflight.load(Ordering::Relaxed) as f64;
                consider(
                    move_cost(w.id) + (q + 1.0) / w.threads.max(1) as f64 * est,
                    w.id,
                );
            }
        }
        best.map(|(_, w)| w).ok_or_else(|| {
            // Only lost workers would have fit: the task's data (or pin) died with them.
            let lost = self
                .workers
                .read()
                .iter()
                .find(|w| !w.alive.load(Ordering::Acquire) && allowed(w.id, w.threads, w.node))
                .map(|w| w.id);
            match lost {
                Some(worker) => Error::WorkerLost {
                    worker,
                    chunk: None,
                },
                None => Error::Scheduling(format!(
                    "No processors available, try widening scope (scope {scope}, function {func})"
                )),
            }
        })
    }

    /// What `scope` allows among the current workers: kept from an earlier task with the
    /// same scope unless a worker joined since.
    fn fit(&self, scope: &Scope) -> Arc<Fit> {
        let generation = self.generation.load(Ordering::Acquire);
        {
            let fits = self.fits.lock();
            if let Some(f) = fits
                .iter()
                .find(|f| f.generation == generation && f.scope == *scope)
            {
                return f.clone();
            }
        }
        let workers = self
            .workers
            .read()
            .iter()
            .filter_map(|w| fitting_threads(scope, w.id, w.threads, w.node).map(|t| (w.clone(), t)))
            .collect();
        let f = Arc::new(Fit {
            scope: scope.clone(),
            generation,
            driver: fitting_threads(scope, self.driver, self.driver_threads, NodeId(0)),
            workers,
        });
        let mut fits = self.fits.lock();
        fits.retain(|f| f.generation == generation);
        if fits.len() >= FITS {
            fits.remove(0);
        }
        fits.push(f.clone());
        f
    }

    /// Whether `scope` allows `worker` (a worker process, not the driver), and then its
    /// allowed threads (empty: all).
    pub(crate) fn fits(&self, worker: WorkerId, scope: &Scope) -> Option<Vec<u32>> {
        let fit = self.fit(scope);
        fit.workers
            .binary_search_by_key(&worker, |(w, _)| w.id)
            .ok()
            .map(|i| fit.workers[i].1.clone())
    }

    /// The threads of `worker` that `scope` allows, or empty when it allows them all.
    pub(crate) fn allowed_threads(&self, worker: WorkerId, scope: &Scope) -> Vec<u32> {
        let fit = self.fit(scope);
        if worker == self.driver {
            return fit.driver.clone().unwrap_or_default();
        }
        match fit.workers.binary_search_by_key(&worker, |(w, _)| w.id) {
            Ok(i) => fit.workers[i].1.clone(),
            // Not allowed (or not known): as before, no restriction to pass on.
            Err(_) => Vec::new(),
        }
    }

    pub(crate) fn local_started(&self) {
        self.local_running.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn local_finished(&self) {
        self.local_running.fetch_sub(1, Ordering::Relaxed);
    }

    /// Runs `f` on a driver pool thread among `threads` (1-based; empty: any); `f` gets the
    /// thread index.
    pub(crate) fn run_locally(
        &self,
        threads: Vec<u32>,
        f: impl FnOnce(u32) -> Ready + Send + 'static,
    ) {
        let pool = self.pool.clone();
        let body = move || -> Outcome<()> {
            let thread = crate::executor::current_processor().map_or(1, |p| p.index);
            crate::executor::schedule_all(&pool, f(thread));
            Ok(())
        };
        let pin = if threads.is_empty() {
            Pin::Any
        } else {
            Pin::Threads(threads.iter().map(|t| *t as usize - 1).collect())
        };
        let job: Arc<dyn Job> = Arc::new(Task::new(
            Header::new(TaskId(0), None, pin, false, Observers(None)),
            body,
        ));
        self.pool.schedule(job);
    }
}
