//! Checkpointed tasks (see [`crate::checkpoint`]): a spawn first asks the context's
//! checkpoint store for the task's lineage key and, when a usable result is there, returns a
//! finished task without running anything; otherwise the task runs, and a small task that
//! follows it writes its result to the store.

use super::state::Context;
use crate::args::{Arg, IntoArgs, ValuesOf};
use crate::checkpoint::io::{CheckpointStats, CheckpointWarning, Checkpoints};
use crate::cluster::lineage::RemoteArgs;
use crate::handle::DTask;
use crate::lineage_key::{KeyHasher, LineageKey};
use crate::observe::Observers;
use crate::task::{Dependency, Header, Outcome, Pin, Task};
use dagger_core::{Options, Result, Scope};
use serde::{de::DeserializeOwned, Serialize};
use std::borrow::Borrow;
use std::sync::Arc;

/// Whether and how one task is checkpointed: the context's checkpoints and the task's key.
pub(crate) type Plan = Option<(Arc<Checkpoints>, LineageKey)>;

/// An argument that waits for a task and hands over the handle itself, whatever its
/// outcome (the checkpoint writer reads the result in place, without cloning it).
struct After<T>(DTask<T>);

impl<T: Send + Sync + 'static> Arg for After<T> {
    type Value = DTask<T>;
    fn visit(&self, f: &mut dyn FnMut(Option<Dependency>, Option<&Scope>)) {
        f(Some(self.0.dependency()), None);
    }
    fn resolve(self) -> Result<DTask<T>> {
        Ok(self.0)
    }
}

impl Context {
    /// The checkpoint plan of a task of function `func` with these options and arguments:
    /// `None` unless the context checkpoints, the task asks for it (or the context's
    /// default does) and every argument has a key. `explicit`: a named closure, which is
    /// checkpointed unless its options say no.
    pub(crate) fn checkpoint_plan<A: RemoteArgs>(
        &self,
        opts: &Options,
        func: &str,
        args: &A,
        explicit: bool,
    ) -> Plan {
        let c = self.inner.checkpoints.as_ref()?;
        if !opts.checkpoint.unwrap_or(explicit || c.all) {
            return None;
        }
        let mut h = KeyHasher::new(func, &c.tag);
        if !args.lineage_key(&mut h) {
            c.keyless();
            return None;
        }
        Some((c.clone(), h.finish()))
    }

    /// Restores the task of `plan` if its checkpoint is usable; otherwise counts it as
    /// computed and gives it back to be spawned.
    pub(crate) fn try_restore<R>(&self, opts: &Options, plan: &Plan) -> Option<DTask<R>>
    where
        R: DeserializeOwned + Send + Sync + 'static,
    {
        let (c, key) = plan.as_ref()?;
        match c.restore::<R>(key) {
            Some(v) => {
                let id = super::spawn::next_task_id();
                let header = Header::new(id, opts.name.clone(), Pin::Any, true, Observers(None));
                let task = Arc::new(Task::<R, fn() -> Outcome<R>>::ready(header, Ok(v)));
                let mut t = self.handle(task);
                t.key = Some(Box::new(*key));
                Some(t)
            }
            None => {
                c.computing();
                None
            }
        }
    }

    /// Gives `task` its key and, once it succeeds, writes its result as a checkpoint.
    pub(crate) fn checkpoint_after<R>(&self, task: &mut DTask<R>, plan: Plan)
    where
        R: Serialize + Send + Sync + 'static,
    {
        let Some((c, key)) = plan else { return };
        task.key = Some(Box::new(key));
        let pending = c.begin_write();
        let opts = Options::new().name("checkpoint");
        let _writer = self.spawn_inner(&opts, (After(task.clone()),), move |(t,)| {
            if let Some(Ok(v)) = t.cell.result() {
                match postcard::to_allocvec(v) {
                    Ok(b) => pending.write(key, std::any::type_name::<R>(), &b),
                    Err(e) => {
                        tracing::warn!(target: "dagger", key = %key, "checkpoint not encoded: {e}")
                    }
                }
            }
            Ok(())
        });
    }

    /// Spawns a closure whose result is checkpointed under `name`: its stable identity in
    /// the key (with the code tag and its arguments' keys), so give every distinct closure
    /// its own name and change the code tag when the code changes. Without a checkpoint
    /// store on the context (or with `opts.checkpoint(false)`), it is a plain
    /// [`Context::spawn_with`]. Arguments must be serde values or handles, as for a
    /// registered function; the closure still runs only in this process.
    ///
    /// ```
    /// use dagger_sched::{Context, Options};
    /// let store = std::sync::Arc::new(dagger_sched::checkpoint::testing::MapStore::default());
    /// for run in 0..2 {
    ///     let ctx = Context::builder().threads(1).checkpoint(store.clone()).build();
    ///     let t = ctx.spawn_checkpointed(Options::new(), "answer", |(x,)| x + 1, (41u32,));
    ///     assert_eq!(t.fetch().unwrap(), 42);
    ///     ctx.checkpoint_flush();
    ///     assert_eq!(ctx.checkpoint_stats().restored, run); // the second run restores
    /// }
    /// ```
    pub fn spawn_checkpointed<A, F, R>(
        &self,
        opts: impl Borrow<Options>,
        name: &str,
        f: F,
        args: A,
    ) -> DTask<R>
    where
        A: IntoArgs,
        A::Args: RemoteArgs,
        F: FnOnce(ValuesOf<A>) -> R + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let opts = opts.borrow();
        let args = args.into_args();
        let plan = self.checkpoint_plan(opts, &format!("closure:{name}"), &args, true);
        if let Some(t) = self.try_restore(opts, &plan) {
            return t;
        }
        let mut t = self.spawn_inner(opts, args, move |v| Ok(f(v)));
        self.checkpoint_after(&mut t, plan);
        t
    }

    /// What this context's checkpoints did so far (all zero without a checkpoint store).
    pub fn checkpoint_stats(&self) -> CheckpointStats {
        self.inner
            .checkpoints
            .as_ref()
            .map(|c| c.stats())
            .unwrap_or_default()
    }

    /// The most recent checkpoints found and not used (damaged, truncated, foreign), each
    /// with its typed reason; the tasks were computed instead. Keeps the last 64.
    pub fn checkpoint_warnings(&self) -> Vec<CheckpointWarning> {
        self.inner
            .checkpoints
            .as_ref()
            .map(|c| c.warnings())
            .unwrap_or_default()
    }

    /// Where checkpoints go (`None`: this context does not checkpoint).
    pub fn checkpoint_location(&self) -> Option<String> {
        self.inner.checkpoints.as_ref().map(|c| c.location())
    }

    /// Waits until the checkpoint of every task spawned so far is written (or its task
    /// failed, or its write failed). Writes run in the background; dropping the context
    /// waits (up to 30 s) only for those already handed to the store, so call this first
    /// when tasks may still be running and their results should be kept.
    pub fn checkpoint_flush(&self) {
        if let Some(c) = &self.inner.checkpoints {
            c.flush();
        }
    }
}
