//! One stage running: take a value from each input, call the function, send what it
//! returns to every consumer; until an input ends, the function finishes, its consumers
//! have all gone, or the region is torn down.

use crate::control::Control;
use crate::edge::Next;
use crate::input::Inputs;
use crate::output::Outputs;
use crate::wire::Tx;
use dagger_core::{Error, Result, TaskId};
use std::fmt::Display;

/// What one call of a stage's function asks for. A registered function may return it too
/// ([`Streaming::try_spawn_registered`](crate::Streaming::try_spawn_registered)): a stage
/// on a worker reads its `serde` (postcard) encoding, so the variants keep their order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Step<T> {
    /// Send this value to every consumer.
    Emit(T),
    /// Send nothing this time (a filter that drops the value).
    Skip,
    /// End the stream, after sending the value if there is one (Dagger.jl's
    /// `finish_stream`).
    Finish(Option<T>),
}

/// Ends the stream without a last value: `Step::Finish(None)`.
pub fn finish<T>() -> Step<T> {
    Step::Finish(None)
}

/// What a fallible stage function may return: a [`Step`], or a `Result` of one whose error
/// fails the stage (and, with teardown, the region).
pub trait IntoStep<T> {
    /// The step, or the stage's failure.
    fn into_step(self) -> Result<Step<T>>;
}

impl<T> IntoStep<T> for Step<T> {
    fn into_step(self) -> Result<Step<T>> {
        Ok(self)
    }
}

impl<T, E: Display> IntoStep<T> for std::result::Result<Step<T>, E> {
    fn into_step(self) -> Result<Step<T>> {
        self.map_err(|e| Error::User(e.to_string()))
    }
}

/// A stage's function and what the stage's result is at the end.
pub(crate) trait Body<V, T>: Send + 'static {
    fn call(&mut self, v: V) -> Result<Step<T>>;
    /// The stage's result from its last value.
    fn end(self, last: Option<T>) -> Option<T>;
}

/// A function whose result is its last value.
pub(crate) struct Map<F>(pub(crate) F);

impl<V, T, S: IntoStep<T>, F: FnMut(V) -> S + Send + 'static> Body<V, T> for Map<F> {
    fn call(&mut self, v: V) -> Result<Step<T>> {
        (self.0)(v).into_step()
    }
    fn end(self, last: Option<T>) -> Option<T> {
        last
    }
}

/// A fold: gathers every value into an accumulator, sends nothing, ends with it.
pub(crate) struct Fold<A, F> {
    pub(crate) acc: Option<A>,
    pub(crate) f: F,
}

impl<V, A: Send + 'static, F: FnMut(A, V) -> A + Send + 'static> Body<(V,), A> for Fold<A, F> {
    fn call(&mut self, (v,): (V,)) -> Result<Step<A>> {
        if let Some(acc) = self.acc.take() {
            self.acc = Some((self.f)(acc, v));
        }
        Ok(Step::Skip)
    }
    fn end(self, _: Option<A>) -> Option<A> {
        self.acc
    }
}

/// How a stage ended, before it is turned into its result.
enum Ended {
    Done,
    Cancelled,
    Failed(Error),
}

/// Runs one stage to its end on this thread; returns its result.
pub(crate) fn run<I, T, B>(
    index: usize,
    name: &str,
    mut inputs: I,
    edges: Vec<Tx<T>>,
    max_evals: Option<u64>,
    mut body: B,
    ctl: &Control,
) -> Result<T>
where
    I: Inputs,
    T: Clone,
    B: Body<I::Values, T>,
{
    let mut outputs = Outputs::new(edges);
    let mut last = None;
    let mut evals = 0u64;
    let ended = loop {
        if ctl.is_cancelled() {
            break Ended::Cancelled;
        }
        if max_evals.is_some_and(|m| evals >= m) {
            break Ended::Done;
        }
        let out = &mut outputs;
        let values = match inputs.next_values(&mut || drop(out.flush(ctl)), ctl) {
            Next::Item(v) => v,
            Next::End => break Ended::Done,
            Next::Cancelled => break Ended::Cancelled,
        };
        evals += 1;
        let (v, done) = match body.call(values) {
            Ok(Step::Emit(v)) => (Some(v), false),
            Ok(Step::Skip) => (None, false),
            Ok(Step::Finish(v)) => (v, true),
            Err(e) => break Ended::Failed(e),
        };
        if let Some(v) = v {
            if outputs.push(&v, ctl).is_err() {
                break Ended::Cancelled;
            }
            last = Some(v);
        }
        if done || outputs.all_closed() {
            break Ended::Done;
        }
    };
    // An input that ended because its producer was torn down is no natural end.
    let ended = match ended {
        Ended::Done if ctl.is_cancelled() => Ended::Cancelled,
        e => e,
    };
    match ended {
        Ended::Done => {
            if outputs.flush(ctl).is_err() {
                return Err(torn_down(index, ctl));
            }
            drop(outputs);
            body.end(last).ok_or_else(|| {
                Error::NotFound(format!("stream task {name:?} ended without a value"))
            })
        }
        Ended::Cancelled => Err(torn_down(index, ctl)),
        Ended::Failed(e) => Err(ctl.fail(index, name, e)),
    }
}

/// The result of a stage the region stopped: the region's root cause, as seen from it.
pub(crate) fn torn_down(index: usize, ctl: &Control) -> Error {
    match ctl.error() {
        Some(Error::TaskFailed { root, .. }) => Error::TaskFailed {
            task: TaskId(index as u64),
            root,
        },
        Some(e) => e,
        None => Error::Cancelled {
            task: TaskId(index as u64),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stage on a worker reads a registered function's `Step` from these bytes
    /// (dagger-sched's `stream_stage::step`): the variant's index, then its payload.
    #[test]
    fn the_wire_layout_of_a_step_is_what_workers_read() {
        let enc = |s: &Step<u64>| postcard::to_allocvec(s).unwrap();
        assert_eq!(enc(&Step::Emit(7)), [0, 7]);
        assert_eq!(enc(&Step::Skip), [1]);
        assert_eq!(enc(&Step::Finish(None)), [2, 0]);
        assert_eq!(enc(&Step::Finish(Some(300))), [2, 1, 0xac, 0x02]);
    }
}
