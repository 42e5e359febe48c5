//! A streaming stage on a worker: a registered function called once per value of its
//! stream arguments, on a thread of its own, reading and writing edges of the hub, until an
//! input ends, the function ends the stream, its consumers have all gone, or the region is
//! torn down. What the function returns (`Returns`) is sent on, skipped, ends the stream,
//! or is a fold's accumulator, as in a stage of the driver. The driver is told how it ended
//! and what it measured.

use super::hub::{failed, Hub, InEdge, OutEdge};
use super::protocol::{Returns, SpecArg, StageEnd, StageSpec, StageStats, StreamMsg};
use super::registry::lookup;
use super::stream_batch::BatchBuf;
use super::stream_credits::{InMsg, POLL};
use bytes::Bytes;
use dagger_core::{Error, Result, WorkerId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Starts `spec` on a thread of its own.
pub(crate) fn launch(hub: Arc<Hub>, spec: StageSpec) {
    let flag = hub.region_flag(spec.region);
    let (region, stage) = (spec.region, spec.stage);
    hub.stage_started();
    let h2 = hub.clone();
    let thread = std::thread::Builder::new()
        .name(format!("stream-{}", spec.name))
        .spawn(move || {
            let mut stats = StageStats::default();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(&h2, &spec, &flag, &mut stats)
            }))
            .unwrap_or_else(|p| {
                Err(Error::User(format!(
                    "panicked: {}",
                    crate::task::panic_message(p)
                )))
            });
            let outcome = match outcome {
                Ok(Some(v)) => StageEnd::Done(Some(v)),
                Ok(None) if flag.load(Ordering::Acquire) => StageEnd::Cancelled,
                Ok(None) => StageEnd::Done(None),
                Err(Error::Cancelled { .. }) => StageEnd::Cancelled,
                Err(e) => failed(&e),
            };
            // Counted out before the driver hears of it: once every stage of a region has
            // ended there, none runs here.
            h2.stage_ended();
            let _ = h2.send(
                WorkerId::DRIVER,
                StreamMsg::Ended {
                    region,
                    stage,
                    outcome,
                    stats,
                },
            );
        });
    if let Err(e) = thread {
        hub.stage_ended();
        let outcome = failed(&Error::Scheduling(format!("starting a stage thread: {e}")));
        let _ = hub.send(
            WorkerId::DRIVER,
            StreamMsg::Ended {
                region,
                stage,
                outcome,
                stats: StageStats::default(),
            },
        );
    }
}

/// One argument as the loop takes it.
enum Arg {
    Const(Bytes),
    Stream {
        edge: InEdge,
        items: std::vec::IntoIter<Bytes>,
    },
}

/// The outputs: one batch being gathered per consumer.
struct Outs {
    edges: Vec<(OutEdge, BatchBuf)>,
    batch: u32,
}

impl Outs {
    fn flush(&mut self, flag: &AtomicBool) -> Result<()> {
        for (e, b) in &mut self.edges {
            if !b.is_empty() {
                let (bytes, n) = b.take();
                e.send(bytes, n, &|| flag.load(Ordering::Acquire))
                    .map_err(|_| cancelled())?;
            }
        }
        Ok(())
    }

    fn push(&mut self, item: &[u8], flag: &AtomicBool) -> Result<()> {
        for (e, b) in &mut self.edges {
            if e.is_open() {
                b.push(item);
            }
        }
        if self
            .edges
            .first()
            .is_some_and(|(_, b)| b.len() >= self.batch)
        {
            self.flush(flag)?;
        }
        Ok(())
    }

    fn all_closed(&self) -> bool {
        !self.edges.is_empty() && self.edges.iter().all(|(e, _)| !e.is_open())
    }

    /// The most items any one output edge has held.
    fn peak_held(&self) -> u64 {
        self.edges
            .iter()
            .map(|(e, _)| e.peak_held())
            .max()
            .unwrap_or(0)
    }
}

/// What one call asks for: the item to send (if any), and whether the stream ends.
type Call = (Option<Bytes>, bool);

/// Reads a `dagger_stream::Step<T>` as postcard encodes it: the variant's index (one byte:
/// `Emit` 0, `Skip` 1, `Finish` 2), then `Emit`'s value, or `Finish`'s `Option` (0, or 1
/// then the value). dagger-stream's tests pin this layout.
fn step(out: &Bytes, name: &str) -> Result<Call> {
    match (out.first(), out.get(1)) {
        (Some(0), _) => Ok((Some(out.slice(1..)), false)),
        (Some(1), None) => Ok((None, false)),
        (Some(2), Some(0)) if out.len() == 2 => Ok((None, true)),
        (Some(2), Some(1)) => Ok((Some(out.slice(2..)), true)),
        _ => Err(Error::Codec(format!(
            "stage {name} returned no Step ({} bytes)",
            out.len()
        ))),
    }
}

/// What the stage does with one call's result (a fold keeps it in `acc`).
fn outcome(returns: &Returns, out: Bytes, acc: &mut Option<Bytes>, name: &str) -> Result<Call> {
    match returns {
        Returns::Value => Ok((Some(out), false)),
        // An `Option`: 0 is `None` (the stream ends), 1 then the value.
        Returns::Option => match out.first() {
            Some(1) => Ok((Some(out.slice(1..)), false)),
            Some(0) => Ok((None, true)),
            _ => Err(Error::Codec(format!("stage {name} returned no Option"))),
        },
        Returns::Step => step(&out, name),
        Returns::Fold(_) => {
            *acc = Some(out);
            Ok((None, false))
        }
    }
}

fn cancelled() -> Error {
    Error::Cancelled {
        task: dagger_core::TaskId(0),
    }
}

/// The next item of a stream argument (`None`: it ended), flushing `outs` before waiting.
fn next_item(
    edge: &InEdge,
    items: &mut std::vec::IntoIter<Bytes>,
    outs: &mut Outs,
    flag: &AtomicBool,
) -> Result<Option<Bytes>> {
    loop {
        if let Some(v) = items.next() {
            return Ok(Some(v));
        }
        let m = match edge.recv(std::time::Duration::ZERO) {
            Some(m) => m,
            None => {
                outs.flush(flag)?;
                loop {
                    if flag.load(Ordering::Acquire) {
                        return Err(cancelled());
                    }
                    if let Some(m) = edge.recv(POLL) {
                        break m;
                    }
                }
            }
        };
        match m {
            InMsg::Items(v) => *items = v.into_iter(),
            InMsg::End => return Ok(None),
        }
    }
}

/// The loop; its result, encoded: its last value, or a fold's accumulator.
fn run(
    hub: &Arc<Hub>,
    spec: &StageSpec,
    flag: &AtomicBool,
    stats: &mut StageStats,
) -> Result<Option<Bytes>> {
    let f = lookup(&spec.func)?;
    let mut args: Vec<Arg> = spec
        .args
        .iter()
        .map(|a| match a {
            SpecArg::Const(b) => Arg::Const(b.clone()),
            SpecArg::Stream { edge, from } => Arg::Stream {
                edge: hub.open_in(spec.region, *edge, *from),
                items: Vec::new().into_iter(),
            },
        })
        .collect();
    let mut outs = Outs {
        edges: spec
            .outputs
            .iter()
            .map(|o| {
                (
                    hub.open_out(spec.region, o.edge, o.to, o.bound),
                    BatchBuf::default(),
                )
            })
            .collect(),
        batch: spec.batch.max(1),
    };
    let mut acc = match &spec.returns {
        Returns::Fold(init) => Some(init.clone()),
        _ => None,
    };
    let mut last = None;
    let mut parts = Vec::with_capacity(args.len() + 2);
    let ended = loop {
        if flag.load(Ordering::Acquire) {
            break Err(cancelled());
        }
        if spec.max_evals.is_some_and(|m| stats.evals >= m) {
            break Ok(());
        }
        parts.clear();
        if let Some(a) = &acc {
            parts.push(a.clone());
        }
        if spec.source {
            parts.push(Bytes::from(
                postcard::to_allocvec(&stats.evals).map_err(|e| Error::Codec(e.to_string()))?,
            ));
        }
        let mut end = false;
        for a in &mut args {
            match a {
                Arg::Const(b) => parts.push(b.clone()),
                Arg::Stream { edge, items } => match next_item(edge, items, &mut outs, flag) {
                    Ok(Some(v)) => parts.push(v),
                    Ok(None) => {
                        end = true;
                        break;
                    }
                    Err(e) => return finish(outs, Err(e), flag, stats),
                },
            }
        }
        if end {
            break Ok(());
        }
        stats.evals += 1;
        let (item, done) =
            match f(&parts).and_then(|out| outcome(&spec.returns, out, &mut acc, &spec.name)) {
                Ok(c) => c,
                Err(e) => break Err(e),
            };
        if let Some(item) = item {
            if let Err(e) = outs.push(&item, flag) {
                break Err(e);
            }
            last = Some(item);
        }
        if done || outs.all_closed() {
            break Ok(());
        }
    };
    drop(args);
    finish(outs, ended.map(|()| acc.or(last)), flag, stats)
}

/// Sends what is gathered (after a natural end), notes the outputs' peak, and ends every
/// output.
fn finish(
    mut outs: Outs,
    r: Result<Option<Bytes>>,
    flag: &AtomicBool,
    stats: &mut StageStats,
) -> Result<Option<Bytes>> {
    let r = match r {
        Ok(v) => outs.flush(flag).map(|()| v),
        e => e,
    };
    stats.peak_held = outs.peak_held();
    for (e, _) in &outs.edges {
        e.end();
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_read_from_its_postcard_bytes() {
        let b = |v: &[u8]| Bytes::copy_from_slice(v);
        let read = |v: &[u8]| step(&b(v), "s").map(|(x, done)| (x.map(|x| x.to_vec()), done));
        assert_eq!(read(&[0, 7]).unwrap(), (Some(vec![7]), false));
        assert_eq!(read(&[1]).unwrap(), (None, false));
        assert_eq!(read(&[2, 0]).unwrap(), (None, true));
        assert_eq!(
            read(&[2, 1, 0xac, 0x02]).unwrap(),
            (Some(vec![0xac, 0x02]), true)
        );
        for bad in [&[][..], &[3], &[1, 0], &[2], &[2, 0, 0], &[2, 2]] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_fold_keeps_each_result_as_its_accumulator_and_sends_nothing() {
        let mut acc = Some(Bytes::from_static(b"init"));
        let fold = Returns::Fold(Bytes::from_static(b"init"));
        let r = outcome(&fold, Bytes::from_static(b"next"), &mut acc, "f").unwrap();
        assert_eq!(r, (None, false));
        assert_eq!(acc.as_deref(), Some(&b"next"[..]));
    }
}
