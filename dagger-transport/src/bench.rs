//! Loopback benchmarks of the transports, beside a raw tokio baseline from the same run.
//!
//! Two workloads, each measured for `dagger-tcp` (the [`Tcp`] transport), `dagger-inproc`
//! (the [`InProcess`] transport) and `tokio-raw` (a bare `tokio::net::TcpStream` with
//! `TCP_NODELAY` and hand-written length prefixes: the floor our framing sits on):
//!
//! - `transport_ping_pong`: one 16-byte frame each way, awaited, many times; the figure of
//!   merit is `round_trip_us`.
//! - `transport_stream_small_frames`: 24-byte frames streamed one way in batches
//!   (`send_many`); the figure of merit is `frames_per_s`.
//!
//! One JSON object per (workload, system), in the format of `cargo xtask bench`
//! (`workload`, `system`, `params`, `median_s`, `min_s`, `max_s`, `reps`, figure of merit).
//! `median_s` and friends time one repetition (all round trips, or all frames).

use crate::frame::encode_frame_into;
use crate::inproc::InProcess;
use crate::tcp::Tcp;
use bytes::{Bytes, BytesMut};
use dagger_core::{Connection, Error, Result, Transport};
use serde_json::{json, Value};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PING_BYTES: usize = 16;
const STREAM_FRAME_BYTES: usize = 24;
const STREAM_BATCH: usize = 1024;

/// Sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    round_trips: usize,
    frames: usize,
    reps: usize,
}

/// Runs the transport benchmarks and returns one JSON object per (workload, system).
///
/// `quick` shrinks the sizes for a smoke run. A system that fails to run (no loopback
/// networking, say) is reported as an object with an `error` field instead of figures.
///
/// ```
/// let rows = dagger_transport::bench::bench_transport(true);
/// assert!(rows.iter().any(|r| r["system"] == "tokio-raw"));
/// assert!(rows.iter().all(|r| r.get("median_s").is_some() || r.get("error").is_some()));
/// ```
pub fn bench_transport(quick: bool) -> Vec<Value> {
    let sizes = if quick {
        Sizes {
            round_trips: 200,
            frames: 50_000,
            reps: 2,
        }
    } else {
        Sizes {
            round_trips: 5_000,
            frames: 2_000_000,
            reps: 5,
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return vec![
                json!({ "workload": "transport", "error": format!("no tokio runtime: {e}") }),
            ]
        }
    };
    rt.block_on(async {
        let mut rows = Vec::new();
        let ping = |system: &str, r: Result<Vec<f64>>| row("transport_ping_pong", system, sizes, r);
        rows.push(ping("tokio-raw", raw_ping_pong(sizes).await));
        rows.push(ping("dagger-tcp", ping_pong(tcp_pair().await, sizes).await));
        rows.push(ping(
            "dagger-inproc",
            ping_pong(inproc_pair().await, sizes).await,
        ));
        let stream = |system: &str, r: Result<Vec<f64>>| {
            row("transport_stream_small_frames", system, sizes, r)
        };
        rows.push(stream("tokio-raw", raw_stream(sizes).await));
        rows.push(stream(
            "dagger-tcp",
            stream_frames(tcp_pair().await, sizes).await,
        ));
        rows.push(stream(
            "dagger-inproc",
            stream_frames(inproc_pair().await, sizes).await,
        ));
        rows
    })
}

fn row(workload: &str, system: &str, s: Sizes, times: Result<Vec<f64>>) -> Value {
    let (params, per) = if workload == "transport_ping_pong" {
        (
            json!({ "frame_bytes": PING_BYTES, "round_trips": s.round_trips }),
            s.round_trips,
        )
    } else {
        (
            json!({ "frame_bytes": STREAM_FRAME_BYTES, "frames": s.frames, "batch": STREAM_BATCH }),
            s.frames,
        )
    };
    let mut times = match times {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            return json!({ "workload": workload, "system": system, "params": params, "error": "no repetitions" })
        }
        Err(e) => {
            return json!({ "workload": workload, "system": system, "params": params, "error": e.to_string() })
        }
    };
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mut v = json!({
        "workload": workload,
        "system": system,
        "params": params,
        "median_s": median,
        "min_s": times[0],
        "max_s": times[times.len() - 1],
        "reps": times.len(),
    });
    if workload == "transport_ping_pong" {
        v["round_trip_us"] = json!(median / per as f64 * 1e6);
        v["round_trips_per_s"] = json!(per as f64 / median);
    } else {
        v["frames_per_s"] = json!(per as f64 / median);
        v["mb_per_s"] = json!((per * (STREAM_FRAME_BYTES + 4)) as f64 / median / 1e6);
    }
    v
}

async fn tcp_pair() -> Result<(Connection, Connection)> {
    let t = Tcp::new("bench-cookie");
    let mut l = t.listen("127.0.0.1:0").await?;
    let addr = l.local_addr();
    let (c, s) = tokio::join!(t.connect(&addr), l.accept());
    Ok((c?, s?))
}

async fn inproc_pair() -> Result<(Connection, Connection)> {
    let t = InProcess::new("bench-cookie");
    let mut l = t.listen("inproc://").await?;
    let addr = l.local_addr();
    let (c, s) = tokio::join!(t.connect(&addr), l.accept());
    Ok((c?, s?))
}

async fn ping_pong(pair: Result<(Connection, Connection)>, s: Sizes) -> Result<Vec<f64>> {
    let (mut c, mut srv) = pair?;
    let echo = tokio::spawn(async move {
        while let Some(f) = srv.receiver.recv().await? {
            srv.sender.send(f).await?;
        }
        Ok::<(), Error>(())
    });
    let msg = Bytes::from(vec![7u8; PING_BYTES]);
    let mut times = Vec::new();
    for rep in 0..=s.reps {
        let t0 = Instant::now();
        for _ in 0..s.round_trips {
            c.sender.send(msg.clone()).await?;
            c.receiver
                .recv()
                .await?
                .ok_or_else(|| Error::Transport("echo server hung up".into()))?;
        }
        // Repetition 0 is a warm-up.
        if rep > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    drop(c);
    echo.await.map_err(|e| Error::Transport(e.to_string()))??;
    Ok(times)
}

async fn stream_frames(pair: Result<(Connection, Connection)>, s: Sizes) -> Result<Vec<f64>> {
    let (mut c, mut srv) = pair?;
    // A static payload: cloning it costs no reference count, so the figure is the
    // transport's cost, not the benchmark's.
    static PAYLOAD: [u8; STREAM_FRAME_BYTES] = [3; STREAM_FRAME_BYTES];
    let frame = Bytes::from_static(&PAYLOAD);
    let mut times = Vec::new();
    for rep in 0..=s.reps {
        let t0 = Instant::now();
        let (frames, frame) = (s.frames, frame.clone());
        let sender = async {
            let mut left = frames;
            while left > 0 {
                let n = left.min(STREAM_BATCH);
                c.sender.send_many(vec![frame.clone(); n]).await?;
                left -= n;
            }
            Ok::<(), Error>(())
        };
        let receiver = async {
            for _ in 0..frames {
                srv.receiver
                    .recv()
                    .await?
                    .ok_or_else(|| Error::Transport("sender hung up".into()))?;
            }
            Ok::<(), Error>(())
        };
        let (a, b) = tokio::join!(sender, receiver);
        a?;
        b?;
        if rep > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    Ok(times)
}

async fn raw_pair() -> Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    let (c, s) = tokio::join!(TcpStream::connect(addr), l.accept());
    let (c, (s, _)) = (c?, s?);
    c.set_nodelay(true)?;
    s.set_nodelay(true)?;
    Ok((c, s))
}

async fn raw_ping_pong(s: Sizes) -> Result<Vec<f64>> {
    let (mut c, mut srv) = raw_pair().await?;
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 4 + PING_BYTES];
        while srv.read_exact(&mut buf).await.is_ok() {
            srv.write_all(&buf).await?;
        }
        std::io::Result::Ok(())
    });
    let mut msg = [7u8; 4 + PING_BYTES];
    msg[..4].copy_from_slice(&(PING_BYTES as u32).to_le_bytes());
    let mut back = [0u8; 4 + PING_BYTES];
    let mut times = Vec::new();
    for rep in 0..=s.reps {
        let t0 = Instant::now();
        for _ in 0..s.round_trips {
            c.write_all(&msg).await?;
            c.read_exact(&mut back).await?;
        }
        if rep > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    drop(c);
    echo.await.map_err(|e| Error::Transport(e.to_string()))??;
    Ok(times)
}

async fn raw_stream(s: Sizes) -> Result<Vec<f64>> {
    let (mut c, mut srv) = raw_pair().await?;
    // The baseline writes pre-encoded batches and only walks the length prefixes on the
    // way in: no per-frame objects at all.
    let mut batch = BytesMut::new();
    for _ in 0..STREAM_BATCH {
        encode_frame_into(&mut batch, &[3u8; STREAM_FRAME_BYTES], usize::MAX)?;
    }
    let batch = batch.freeze();
    let mut times = Vec::new();
    for rep in 0..=s.reps {
        let t0 = Instant::now();
        let frames = s.frames;
        let sender = async {
            let mut left = frames;
            while left > 0 {
                let n = left.min(STREAM_BATCH);
                c.write_all(&batch[..n * (4 + STREAM_FRAME_BYTES)]).await?;
                left -= n;
            }
            std::io::Result::Ok(())
        };
        let receiver = async {
            let mut buf = vec![0u8; 64 << 10];
            let (mut have, mut seen) = (0usize, 0usize);
            while seen < frames {
                let n = srv.read(&mut buf[have..]).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                have += n;
                let mut at = 0;
                while have - at >= 4 {
                    let len = u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
                        as usize;
                    if have - at < 4 + len {
                        break;
                    }
                    at += 4 + len;
                    seen += 1;
                }
                buf.copy_within(at..have, 0);
                have -= at;
            }
            std::io::Result::Ok(())
        };
        let (a, b) = tokio::join!(sender, receiver);
        a?;
        b?;
        if rep > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    Ok(times)
}
