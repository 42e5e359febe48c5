//! Stage arguments: a [`StreamTask`] of the same region is a stream (one value per call),
//! anything else a constant (cloned into every call).

use crate::control::Control;
use crate::edge::{edge, EdgeRx, Next};
use crate::handle::StreamTask;
use crate::options::StreamOptions;
use crate::wire::{decode, encode, RemoteRx, RemoteTx, Tx};
use dagger_core::{Error, WorkerId};
use dagger_sched::stream_wire::{Hub, OutSpec, SpecArg};
use dagger_sched::{IntoArg, Val};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Edge ids of edges that cross processes (unique in this driver).
static EDGES: AtomicU64 = AtomicU64::new(1);

/// What a consumer being spawned tells its arguments: its options, its region, and where it
/// runs.
#[derive(Debug)]
pub struct Wiring<'a> {
    pub(crate) opts: &'a StreamOptions,
    pub(crate) region: u64,
    pub(crate) error: &'a mut Option<Error>,
    /// The driver's streaming hub, when the region has a cluster.
    pub(crate) hub: Option<Arc<Hub>>,
    /// The consumer's process.
    pub(crate) to: WorkerId,
}

impl Wiring<'_> {
    fn hub(&mut self) -> Option<Arc<Hub>> {
        if self.hub.is_none() {
            self.error.get_or_insert_with(|| {
                Error::Argument("a stage on a worker needs a region opened by ctx.streaming on a context with workers".into())
            });
        }
        self.hub.clone()
    }

    fn same_region<T>(&mut self, node: &crate::handle::Node<T>) -> bool {
        if node.region != self.region {
            self.error.get_or_insert_with(|| {
                Error::Argument(format!(
                    "stream task {:?} belongs to another streaming region",
                    node.name
                ))
            });
            return false;
        }
        true
    }
}

/// One argument of a stage, as it is called: a value per call.
pub trait Input: Send + 'static {
    /// The value the stage's function gets.
    type Item;
    /// The value for the next call, or the end of the input.
    #[doc(hidden)]
    fn next_item(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<Self::Item>;
}

/// What can be an argument of a stage: a [`StreamTask`] (by reference) of the same region,
/// a plain value (numbers, `bool`, `char`, strings, `Vec`, `Arc`), or any `Clone` value in
/// [`Val`].
pub trait StreamArg {
    /// What the stage's function gets per call.
    type Value;
    /// How it is taken.
    type Input: Input<Item = Self::Value>;
    /// Hangs the argument on its consumer.
    #[doc(hidden)]
    fn into_input(self, w: &mut Wiring<'_>) -> Self::Input;
}

/// A constant argument.
#[derive(Debug)]
pub struct Const<T>(T);

impl<T: Clone + Send + 'static> Input for Const<T> {
    type Item = T;
    fn next_item(&mut self, _: &mut dyn FnMut(), _: &Control) -> Next<T> {
        Next::Item(self.0.clone())
    }
}

impl<T: Send + 'static> Input for EdgeRx<T> {
    type Item = T;
    fn next_item(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<T> {
        self.next(before_wait, ctl)
    }
}

/// A stream input that could not be wired (its error is in the region already).
#[derive(Debug)]
pub struct Unwired<T>(std::marker::PhantomData<fn() -> T>);

impl<T: 'static> Input for Unwired<T> {
    type Item = T;
    fn next_item(&mut self, _: &mut dyn FnMut(), _: &Control) -> Next<T> {
        Next::End
    }
}

/// A stream argument: either wired to its producer or not (when the producer is of another
/// region).
#[derive(Debug)]
pub enum StreamIn<T> {
    /// The consumer's end of the edge.
    Wired(EdgeRx<T>),
    /// The consumer's end of an edge from a stage on a worker.
    Remote(RemoteRx<T>),
    /// Not wired; never yields.
    Unwired(Unwired<T>),
}

impl<T: Send + 'static> Input for StreamIn<T> {
    type Item = T;
    fn next_item(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<T> {
        match self {
            StreamIn::Wired(rx) => rx.next_item(before_wait, ctl),
            StreamIn::Remote(rx) => rx.next(before_wait, ctl),
            StreamIn::Unwired(u) => u.next_item(before_wait, ctl),
        }
    }
}

impl<T: Clone + Send + 'static> StreamArg for &StreamTask<T> {
    type Value = T;
    type Input = StreamIn<T>;
    fn into_input(self, w: &mut Wiring<'_>) -> StreamIn<T> {
        let node = &self.node;
        let unwired = || StreamIn::Unwired(Unwired(std::marker::PhantomData));
        if !w.same_region(node) {
            return unwired();
        }
        let bound = node.opts.edge_bound(w.opts);
        if let Some(r) = &node.remote {
            let Some(hub) = w.hub() else { return unwired() };
            let edge = EDGES.fetch_add(1, Ordering::Relaxed);
            r.outs.lock().push(OutSpec {
                edge,
                to: WorkerId::DRIVER,
                bound: bound as u32,
            });
            return StreamIn::Remote(RemoteRx {
                edge: hub.open_in(w.region, edge, r.worker),
                items: Vec::new().into_iter(),
                decode: r.decode,
            });
        }
        let (tx, rx) = edge(bound, node.opts.batch);
        node.stats.lock().push(tx.stats.clone());
        node.outputs.lock().push(Tx::Local(tx));
        StreamIn::Wired(rx)
    }
}

/// What can be an argument of a stage on a worker: a [`StreamTask`] (by reference) of the
/// same region whose items are `serde` types, or a constant of a `serde` type.
pub trait RemoteStreamArg {
    /// The argument as the worker gets it.
    #[doc(hidden)]
    fn into_spec(self, w: &mut Wiring<'_>) -> SpecArg;
}

impl<T: Clone + Send + Serialize + 'static> RemoteStreamArg for &StreamTask<T> {
    fn into_spec(self, w: &mut Wiring<'_>) -> SpecArg {
        let node = &self.node;
        let none = || SpecArg::Const(bytes::Bytes::new());
        if !w.same_region(node) {
            return none();
        }
        let Some(hub) = w.hub() else { return none() };
        let bound = node.opts.edge_bound(w.opts);
        let edge = EDGES.fetch_add(1, Ordering::Relaxed);
        if let Some(r) = &node.remote {
            r.outs.lock().push(OutSpec {
                edge,
                to: w.to,
                bound: bound as u32,
            });
            return SpecArg::Stream {
                edge,
                from: r.worker,
            };
        }
        let out = hub.open_out(w.region, edge, w.to, bound as u32);
        node.outputs.lock().push(Tx::Remote(RemoteTx {
            out,
            encode: encode::<T>,
            batch: node.opts.batch.min(bound / 2).max(1),
        }));
        SpecArg::Stream {
            edge,
            from: WorkerId::DRIVER,
        }
    }
}

impl<T, V> RemoteStreamArg for T
where
    T: IntoArg<Arg = Val<V>>,
    V: Serialize,
{
    fn into_spec(self, w: &mut Wiring<'_>) -> SpecArg {
        match encode(&self.into_arg().0) {
            Ok(b) => SpecArg::Const(b.into()),
            Err(e) => {
                w.error.get_or_insert(e);
                SpecArg::Const(bytes::Bytes::new())
            }
        }
    }
}

/// The arguments of a stage on a worker: a tuple of [`RemoteStreamArg`]s (up to 6).
pub trait RemoteStreamArgs {
    /// The arguments as the worker gets them.
    #[doc(hidden)]
    fn into_specs(self, w: &mut Wiring<'_>) -> Vec<SpecArg>;
}

/// Decodes the items of a stage on a worker (the driver's end of its edges).
pub(crate) fn decoder<T: serde::de::DeserializeOwned>() -> crate::wire::Decode<T> {
    decode::<T>
}

/// Every value dagger-sched passes to a task as a plain value (numbers, `bool`, `char`,
/// strings, `Vec`, `Arc`, anything in [`Val`]) is a constant of a stage.
impl<T, V> StreamArg for T
where
    T: IntoArg<Arg = Val<V>>,
    V: Clone + Send + 'static,
{
    type Value = V;
    type Input = Const<V>;
    fn into_input(self, _: &mut Wiring<'_>) -> Const<V> {
        Const(self.into_arg().0)
    }
}

/// The arguments of a stage: a tuple of [`StreamArg`]s (up to 6).
pub trait StreamArgs {
    /// The tuple the stage's function gets per call.
    type Values;
    /// How they are taken.
    type Inputs: Inputs<Values = Self::Values>;
    /// Hangs the arguments on their consumer.
    #[doc(hidden)]
    fn into_inputs(self, w: &mut Wiring<'_>) -> Self::Inputs;
}

/// The inputs of a stage, taken together: a call gets one value of each; the first input
/// to end ends the stage.
pub trait Inputs: Send + 'static {
    /// The tuple of values of one call.
    type Values;
    /// The values for the next call, or the end.
    #[doc(hidden)]
    fn next_values(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<Self::Values>;
}

macro_rules! tuple_args {
    ($($n:ident),*) => {
        impl<$($n: RemoteStreamArg),*> RemoteStreamArgs for ($($n,)*) {
            #[allow(unused_variables)]
            fn into_specs(self, w: &mut Wiring<'_>) -> Vec<SpecArg> {
                #[allow(non_snake_case)]
                let ($($n,)*) = self;
                vec![$($n.into_spec(w),)*]
            }
        }
        impl<$($n: StreamArg),*> StreamArgs for ($($n,)*) {
            type Values = ($($n::Value,)*);
            type Inputs = ($($n::Input,)*);
            #[allow(unused_variables, clippy::unused_unit)]
            fn into_inputs(self, w: &mut Wiring<'_>) -> Self::Inputs {
                #[allow(non_snake_case)]
                let ($($n,)*) = self;
                ($($n.into_input(w),)*)
            }
        }
        impl<$($n: Input),*> Inputs for ($($n,)*) {
            type Values = ($($n::Item,)*);
            #[allow(unused_variables, clippy::unused_unit)]
            fn next_values(&mut self, before_wait: &mut dyn FnMut(), ctl: &Control) -> Next<Self::Values> {
                #[allow(non_snake_case)]
                let ($($n,)*) = self;
                Next::Item(($(match $n.next_item(before_wait, ctl) {
                    Next::Item(v) => v,
                    Next::End => return Next::End,
                    Next::Cancelled => return Next::Cancelled,
                },)*))
            }
        }
    };
}
tuple_args!();
tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
