//! A streaming stage on a worker: a registered function called once per value of its
//! stream arguments, on a thread of its own, reading and writing edges of the hub, until an
//! input ends, the function ends the stream, its consumers have all gone, or the region is
//! torn down. The driver is told how it ended.

use super::hub::{failed, BatchBuf, Hub, InEdge, InMsg, OutEdge, POLL};
use super::protocol::{SpecArg, StageEnd, StageSpec, StreamMsg};
use super::registry::lookup;
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
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&h2, &spec, &flag)))
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

/// The loop; its last value, encoded.
fn run(hub: &Arc<Hub>, spec: &StageSpec, flag: &AtomicBool) -> Result<Option<Bytes>> {
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
    let mut last = None;
    let mut evals = 0u64;
    let mut parts = Vec::with_capacity(args.len() + 1);
    let ended = loop {
        if flag.load(Ordering::Acquire) {
            break Err(cancelled());
        }
        if spec.max_evals.is_some_and(|m| evals >= m) {
            break Ok(());
        }
        parts.clear();
        if spec.source {
            parts.push(Bytes::from(
                postcard::to_allocvec(&evals).map_err(|e| Error::Codec(e.to_string()))?,
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
                    Err(e) => return finish(outs, Err(e), flag),
                },
            }
        }
        if end {
            break Ok(());
        }
        evals += 1;
        let out = match f(&parts) {
            Ok(b) => b,
            Err(e) => break Err(e),
        };
        let item = if spec.source {
            // An `Option`: 0 is `None` (the stream ends), 1 then the value.
            match out.first() {
                Some(1) => out.slice(1..),
                Some(0) => break Ok(()),
                _ => {
                    break Err(Error::Codec(format!(
                        "source {} returned no Option",
                        spec.name
                    )))
                }
            }
        } else {
            out
        };
        if let Err(e) = outs.push(&item, flag) {
            break Err(e);
        }
        last = Some(item);
        if outs.all_closed() {
            break Ok(());
        }
    };
    drop(args);
    finish(outs, ended.map(|()| last), flag)
}

/// Sends what is gathered (after a natural end) and ends every output.
fn finish(mut outs: Outs, r: Result<Option<Bytes>>, flag: &AtomicBool) -> Result<Option<Bytes>> {
    let r = match r {
        Ok(v) => outs.flush(flag).map(|()| v),
        e => e,
    };
    for (e, _) in &outs.edges {
        e.end();
    }
    r
}
