//! Registered stages, here or on worker processes: a stage whose options carry a scope
//! runs on the matching worker with the fewest stages of the region; its edges to stages on
//! other workers go worker to worker, and those to stages here through the driver's hub.

use crate::handle::{RemoteNode, StreamTask};
use crate::input::{decoder, RemoteStreamArg, RemoteStreamArgs, StreamArg, StreamArgs, Wiring};
use crate::options::StreamOptions;
use crate::region::{RemoteBox, Streaming, Waiting};
use crate::stage::{torn_down, Map, Step};
use dagger_core::{Error, NodeId, ProcessorId, ProcessorInfo, Result, Scope, WorkerId};
use dagger_sched::stream_wire::{Hub, Returns, SpecArg, StageSpec, StageStats};
use dagger_sched::{Context, Registered};
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
            Some(w) => self.remote(opts, w, f.name, (false, Returns::Value), |wiring| {
                args.into_specs(wiring)
            }),
            None => {
                let local = f.local;
                self.spawn_with(opts, local, args)
            }
        }
    }

    /// A stage calling a registered function that says what to do with each call: a
    /// [`Step`] (emit, skip, or finish the stream), as [`Streaming::try_spawn`] calls a
    /// closure; with a scope in its options it runs on a worker, with the same meaning.
    ///
    /// ```
    /// use dagger_stream::{streaming, Step};
    /// dagger_sched::register! {
    ///     fn odd_below(x: u64, n: u64) -> dagger_stream::Step<u64> {
    ///         if x >= n { Step::Finish(None) } else if x % 2 == 1 { Step::Emit(x) } else { Step::Skip }
    ///     }
    /// }
    /// let (odd, sum) = streaming(|s| {
    ///     let src = s.source(0..100u64);
    ///     let odd = s.try_spawn_registered(ODD_BELOW, (&src, 10u64));
    ///     let sum = s.fold(&odd, 0u64, |a, x| a + x);
    ///     (odd, sum)
    /// })
    /// .unwrap();
    /// assert_eq!((odd.fetch().unwrap(), sum.fetch().unwrap()), (9, 1 + 3 + 5 + 7 + 9));
    /// ```
    pub fn try_spawn_registered<A, V, R>(
        &mut self,
        f: Registered<V, Step<R>>,
        args: A,
    ) -> StreamTask<R>
    where
        A: StreamArgs<Values = V> + RemoteStreamArgs,
        V: 'static,
        R: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let opts = StreamOptions::new().name(f.name);
        self.try_spawn_registered_with(&opts, f, args)
    }

    /// [`Streaming::try_spawn_registered`] with options (a scope places it on a worker).
    pub fn try_spawn_registered_with<A, V, R>(
        &mut self,
        opts: &StreamOptions,
        f: Registered<V, Step<R>>,
        args: A,
    ) -> StreamTask<R>
    where
        A: StreamArgs<Values = V> + RemoteStreamArgs,
        V: 'static,
        R: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        match self.worker_for(opts) {
            Some(w) => self.remote(opts, w, f.name, (false, Returns::Step), |wiring| {
                args.into_specs(wiring)
            }),
            None => self.try_spawn_with(opts, f.local, args),
        }
    }

    /// A sink folding every value of `input` into an accumulator with a registered function
    /// `f(acc, x)`, as [`Streaming::fold`] does with a closure; with a scope in its options
    /// it runs on a worker, and its handle gives the accumulator there at the end.
    ///
    /// ```
    /// use dagger_stream::streaming;
    /// dagger_sched::register! {
    ///     fn count_sum(acc: (u64, u64), x: u64) -> (u64, u64) { (acc.0 + 1, acc.1 + x) }
    /// }
    /// let both = streaming(|s| {
    ///     let src = s.source(1..=100u64);
    ///     s.fold_registered(COUNT_SUM, &src, (0, 0))
    /// })
    /// .unwrap();
    /// assert_eq!(both.fetch().unwrap(), (100, 5050));
    /// ```
    pub fn fold_registered<A, Acc>(
        &mut self,
        f: Registered<(Acc, A::Value), Acc>,
        input: A,
        init: Acc,
    ) -> StreamTask<Acc>
    where
        A: StreamArg + RemoteStreamArg,
        A::Input: Send + 'static,
        A::Value: 'static,
        Acc: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let opts = StreamOptions::new().name(f.name);
        self.fold_registered_with(&opts, f, input, init)
    }

    /// [`Streaming::fold_registered`] with options (a scope places it on a worker).
    pub fn fold_registered_with<A, Acc>(
        &mut self,
        opts: &StreamOptions,
        f: Registered<(Acc, A::Value), Acc>,
        input: A,
        init: Acc,
    ) -> StreamTask<Acc>
    where
        A: StreamArg + RemoteStreamArg,
        A::Input: Send + 'static,
        A::Value: 'static,
        Acc: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let Some(w) = self.worker_for(opts) else {
            let local = f.local;
            return self.fold_with(opts, input, init, move |acc, x| local((acc, x)));
        };
        let init = crate::wire::encode(&init).unwrap_or_else(|e| {
            self.error.get_or_insert(e);
            Vec::new()
        });
        let returns = Returns::Fold(init.into());
        self.remote(opts, w, f.name, (false, returns), |wiring| {
            vec![input.into_spec(wiring)]
        })
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
            return self.remote(opts, w, f.name, (true, Returns::Option), move |wiring| {
                match crate::wire::encode(&arg) {
                    Ok(b) => vec![SpecArg::Const(b.into())],
                    Err(e) => {
                        wiring.error.get_or_insert(e);
                        Vec::new()
                    }
                }
            });
        }
        let (local, mut i) = (f.local, 0u64);
        let body = Map(move |()| {
            let v = local((i, arg.clone()));
            i += 1;
            v.map_or(Step::Finish(None), Step::Emit)
        });
        self.add(opts, (), body)
    }

    /// A stage of registered function `func` on worker `w`: a source (its function takes
    /// the call's index first) or not, returning what `returns` says.
    fn remote<R>(
        &mut self,
        opts: &StreamOptions,
        w: WorkerId,
        func: &'static str,
        (source, returns): (bool, Returns),
        args: impl FnOnce(&mut Wiring<'_>) -> Vec<SpecArg>,
    ) -> StreamTask<R>
    where
        R: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let remote = RemoteNode::new(w, decoder::<R>());
        let (node, specs) = self.new_stage(opts, Some(remote), args);
        let (n, ctl, region) = (node.clone(), self.ctl.clone(), self.id);
        let launch = Box::new(move |hub: &Arc<Hub>, waiting: &Arc<Waiting>| {
            let Some(remote) = n.remote.as_ref() else {
                return;
            };
            let outputs = remote.outs.lock().clone();
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
                returns,
                args: specs,
                outputs,
                batch: (n.opts.batch as u32).min(least).max(1),
                max_evals: n.opts.max_evals,
            };
            waiting.add();
            let (n2, w2) = (n.clone(), waiting.clone());
            let decode = remote.decode;
            let on_end = Box::new(move |r: Result<Option<bytes::Bytes>>, stats: StageStats| {
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
                if let Some(r) = &n2.remote {
                    *r.stats.lock() = stats;
                }
                *n2.result.lock() = Some(res);
                w2.done();
            });
            let _ = hub.start_stage(w, spec, on_end);
        });
        self.remotes.push(RemoteBox(w, launch));
        StreamTask { node }
    }
}
