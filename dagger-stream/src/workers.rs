//! Registered stages, here or on worker processes: a stage whose options carry a scope
//! runs on the matching worker with the fewest stages of the region; its edges to stages on
//! other workers go worker to worker, and those to stages here through the driver's hub.

use crate::handle::{Node, RemoteNode, StreamTask};
use crate::input::{decoder, RemoteStreamArgs, StreamArgs, Wiring};
use crate::options::StreamOptions;
use crate::region::{RemoteBox, Streaming};
use crate::stage::{torn_down, Map, Step};
use dagger_core::{Error, NodeId, ProcessorId, ProcessorInfo, Result, Scope, WorkerId};
use dagger_sched::stream_wire::{SpecArg, StageSpec};
use dagger_sched::{Context, Registered};
use parking_lot::Mutex;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::Arc;

/// The number of streaming stages running on `worker` now (the driver's own:
/// [`running_stages`](crate::running_stages)); 0 on every worker once each region has
/// returned.
pub fn running_stages_on(ctx: &Context, worker: WorkerId) -> Result<usize> {
    if worker == ctx.worker_id() {
        return Ok(crate::control::running_stages());
    }
    ctx.stream_hub()?.running_on(worker)
}

impl Streaming {
    /// Where a stage with `scope` goes: the matching live process with the fewest stages
    /// of this region so far.
    fn place(&mut self, scope: &Scope) -> Result<WorkerId> {
        let ctx = self.ctx.as_ref().ok_or_else(|| {
            Error::Argument(
                "a stage with a scope needs a region opened by ctx.streaming (a context)".into(),
            )
        })?;
        let fits = |w: &WorkerId| {
            scope.matches(&ProcessorInfo {
                id: ProcessorId::thread(*w, 0),
                node: NodeId(0),
            })
        };
        let mut ws: Vec<WorkerId> = ctx.live_workers();
        if !ws.contains(&ctx.worker_id()) {
            ws.push(ctx.worker_id());
        }
        ws.into_iter()
            .filter(fits)
            .min_by_key(|w| (self.placed.get(w).copied().unwrap_or(0), w.0))
            .ok_or_else(|| {
                Error::Scheduling(format!(
                    "no live process matches the stage's scope {scope:?}"
                ))
            })
    }

    /// Where a stage with `opts` runs: here (`None`) or on a worker.
    fn worker_for(&mut self, opts: &StreamOptions) -> Option<WorkerId> {
        let scope = opts.scope.clone()?;
        match self.place(&scope) {
            Ok(w) if self.ctx.as_ref().is_some_and(|c| c.worker_id() == w) => None,
            Ok(w) => Some(w),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// A stage calling a registered function (made by `register!`) per value, as
    /// [`Streaming::spawn`] calls a closure (in this process: see
    /// [`Streaming::spawn_registered_with`] to place it on a worker).
    pub fn spawn_registered<A, V, R>(&mut self, f: Registered<V, R>, args: A) -> StreamTask<R>
    where
        A: StreamArgs<Values = V> + RemoteStreamArgs,
        V: 'static,
        R: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let opts = StreamOptions::new().name(f.name);
        self.spawn_registered_with(&opts, f, args)
    }

    /// [`Streaming::spawn_registered`] with options; with a scope
    /// ([`StreamOptions::scope`], [`StreamOptions::worker`]) the stage runs on a worker
    /// process, and its stream arguments must carry `serde` items.
    pub fn spawn_registered_with<A, V, R>(
        &mut self,
        opts: &StreamOptions,
        f: Registered<V, R>,
        args: A,
    ) -> StreamTask<R>
    where
        A: StreamArgs<Values = V> + RemoteStreamArgs,
        V: 'static,
        R: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        match self.worker_for(opts) {
            Some(w) => self.remote(opts, w, f.name, false, |wiring| args.into_specs(wiring)),
            None => {
                let local = f.local;
                self.spawn_with(opts, local, args)
            }
        }
    }

    /// A source calling a registered function `f(i, arg)` for i = 0, 1, 2, …: `Some(v)`
    /// sends `v`, `None` ends the stream.
    ///
    /// ```
    /// use dagger_stream::streaming;
    /// dagger_sched::register! {
    ///     fn below(i: u64, n: u64) -> Option<u64> { (i < n).then_some(i) }
    /// }
    /// let sum = streaming(|s| {
    ///     let src = s.source_registered(BELOW, 5u64);
    ///     s.fold(&src, 0u64, |a, x| a + x)
    /// })
    /// .unwrap();
    /// assert_eq!(sum.fetch().unwrap(), 10);
    /// ```
    pub fn source_registered<C, T>(
        &mut self,
        f: Registered<(u64, C), Option<T>>,
        arg: C,
    ) -> StreamTask<T>
    where
        C: Clone + Send + Serialize + 'static,
        T: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let opts = StreamOptions::new().name(f.name);
        self.source_registered_with(&opts, f, arg)
    }

    /// [`Streaming::source_registered`] with options (a scope places it on a worker).
    pub fn source_registered_with<C, T>(
        &mut self,
        opts: &StreamOptions,
        f: Registered<(u64, C), Option<T>>,
        arg: C,
    ) -> StreamTask<T>
    where
        C: Clone + Send + Serialize + 'static,
        T: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        if let Some(w) = self.worker_for(opts) {
            return self.remote(
                opts,
                w,
                f.name,
                true,
                move |wiring| match crate::wire::encode(&arg) {
                    Ok(b) => vec![SpecArg::Const(b.into())],
                    Err(e) => {
                        wiring.error.get_or_insert(e);
                        Vec::new()
                    }
                },
            );
        }
        let (local, mut i) = (f.local, 0u64);
        let body = Map(move |()| {
            let v = local((i, arg.clone()));
            i += 1;
            v.map_or(Step::Finish(None), Step::Emit)
        });
        self.add(opts, (), body)
    }

    /// A stage of registered function `func` on worker `w`.
    fn remote<R>(
        &mut self,
        opts: &StreamOptions,
        w: WorkerId,
        func: &'static str,
        source: bool,
        args: impl FnOnce(&mut Wiring<'_>) -> Vec<SpecArg>,
    ) -> StreamTask<R>
    where
        R: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        self.stages += 1;
        let index = self.stages;
        *self.placed.entry(w).or_default() += 1;
        if let Err(e) = opts.validate() {
            self.error.get_or_insert(e);
        }
        let name = opts
            .name
            .clone()
            .unwrap_or_else(|| format!("stage-{index}"));
        let hub = self.hub();
        let specs: Vec<SpecArg> = args(&mut Wiring {
            opts,
            region: self.id,
            error: &mut self.error,
            hub,
            to: w,
        });
        let node = Arc::new(Node {
            index,
            region: self.id,
            name,
            opts: opts.clone(),
            outputs: Mutex::new(Vec::new()),
            stats: Mutex::new(Vec::new()),
            result: Mutex::new(None),
            remote: Some(RemoteNode {
                worker: w,
                decode: decoder::<R>(),
                outs: Mutex::new(Vec::new()),
            }),
        });
        let (n, ctl, region) = (node.clone(), self.ctl.clone(), self.id);
        let launch = Box::new(
            move |hub: &Arc<dagger_sched::stream_wire::Hub>,
                  waiting: &Arc<crate::region::Waiting>| {
                let outputs = n
                    .remote
                    .as_ref()
                    .map(|r| r.outs.lock().clone())
                    .unwrap_or_default();
                let least = outputs
                    .iter()
                    .map(|o| (o.bound / 2).max(1))
                    .min()
                    .unwrap_or(1);
                let spec = StageSpec {
                    region,
                    stage: n.index as u32,
                    name: n.name.clone(),
                    func: func.to_string(),
                    source,
                    args: specs,
                    outputs,
                    batch: (n.opts.batch as u32).min(least).max(1),
                    max_evals: n.opts.max_evals,
                };
                waiting.add();
                let (n2, w2) = (n.clone(), waiting.clone());
                let decode = decoder::<R>();
                let on_end = Box::new(move |r: Result<Option<bytes::Bytes>>| {
                    let (i, name) = (n2.index, n2.name.as_str());
                    let res = match r {
                        Ok(Some(b)) => decode(&b).map_err(|e| ctl.fail(i, name, e)),
                        Ok(None) if ctl.is_cancelled() => Err(torn_down(i, &ctl)),
                        Ok(None) => Err(Error::NotFound(format!(
                            "stream task {name:?} ended without a value"
                        ))),
                        Err(Error::Cancelled { .. }) => Err(torn_down(i, &ctl)),
                        Err(e) => Err(ctl.fail(i, name, e)),
                    };
                    *n2.result.lock() = Some(res);
                    w2.done();
                });
                let _ = hub.start_stage(w, spec, on_end);
            },
        );
        self.remotes.push(RemoteBox(w, launch));
        StreamTask { node }
    }
}
