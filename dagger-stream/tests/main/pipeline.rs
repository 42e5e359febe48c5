//! Streaming regions in one process: pipelines, fan-out, fan-in, ends, back-pressure.

use dagger_sched::{register, Context};
use dagger_stream::{finish, streaming, Step, StreamOptions, StreamingExt};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const N: u64 = 1_000_000;

#[test]
fn four_stage_pipeline_of_a_million_keeps_count_order_and_checksum() {
    let ctx = Context::local();
    let sink = ctx
        .streaming(|s| {
            let src = s.source(0..N);
            let a = s.spawn(|(x, k)| x + k, (&src, 1u64));
            let b = s.spawn(|(x,)| x * 3, (&a,));
            let c = s.spawn(|(x,)| x ^ 0x5a5a, (&b,));
            // The sink checks every value against its index: count, order and checksum.
            s.fold(&c, (0u64, 0u64, true), |(n, sum, ordered), x| {
                let want = ((n + 1) * 3) ^ 0x5a5a;
                (n + 1, sum.wrapping_add(x), ordered && x == want)
            })
        })
        .unwrap();
    let want: u64 = (0..N)
        .map(|i| ((i + 1) * 3) ^ 0x5a5a)
        .fold(0, u64::wrapping_add);
    assert_eq!(sink.fetch().unwrap(), (N, want, true));
}

#[test]
fn every_handle_resolves_to_its_last_value() {
    let (src, a, b) = streaming(|s| {
        let src = s.source(0..1000u64);
        let a = s.spawn(|(x,)| x + 1, (&src,));
        let b = s.spawn(|(x,)| x * 2, (&a,));
        (src, a, b)
    })
    .unwrap();
    assert_eq!(src.fetch().unwrap(), 999);
    assert_eq!(a.fetch().unwrap(), 1000);
    assert_eq!(b.fetch().unwrap(), 2000);
}

#[test]
fn fan_out_gives_every_value_to_every_consumer() {
    let (x, y, z) = streaming(|s| {
        let src = s.source(0..50_000u64);
        let x = s.fold(&src, Vec::new(), |mut v, i| {
            v.push(i);
            v
        });
        let y = s.fold(&src, 0u64, |acc, i| acc + i);
        let double = s.spawn(|(i,)| 2 * i, (&src,));
        let z = s.fold(&double, 0u64, |acc, i| acc + i);
        (x, y, z)
    })
    .unwrap();
    assert_eq!(x.fetch().unwrap(), (0..50_000u64).collect::<Vec<_>>());
    assert_eq!(y.fetch().unwrap(), (0..50_000u64).sum::<u64>());
    assert_eq!(z.fetch().unwrap(), 2 * (0..50_000u64).sum::<u64>());
}

#[test]
fn fan_in_takes_one_value_of_each_input_per_call() {
    let pairs = streaming(|s| {
        let a = s.source(0..10_000u64);
        let b = s.source((0..20_000u64).map(|i| i * 10)); // the longer one is cut short
        let zip = s.spawn(|(a, b)| (a, b), (&a, &b));
        s.fold(&zip, Vec::new(), |mut v, p| {
            v.push(p);
            v
        })
    })
    .unwrap()
    .fetch()
    .unwrap();
    assert_eq!(
        pairs,
        (0..10_000u64).map(|i| (i, i * 10)).collect::<Vec<_>>()
    );
}

#[test]
fn a_diamond_with_uneven_buffers_does_not_deadlock() {
    let small = StreamOptions::new()
        .input_buffer(1)
        .output_buffer(1)
        .batch(1);
    let big = StreamOptions::new()
        .input_buffer(500)
        .output_buffer(500)
        .batch(100);
    let sum = streaming(|s| {
        let src = s.source_with(&big, 0..100_000u64);
        let left = s.spawn_with(&small, |(x,)| x + 1, (&src,));
        let right = s.spawn_with(&big, |(x,)| x * 2, (&src,));
        let join = s.spawn_with(&small, |(l, r)| l + r, (&left, &right));
        s.fold(&join, 0u64, |acc, x| acc + x)
    })
    .unwrap();
    assert_eq!(
        sum.fetch().unwrap(),
        (0..100_000u64).map(|x| 3 * x + 1).sum::<u64>()
    );
}

#[test]
fn a_finish_marker_ends_the_stream_after_its_last_value() {
    let (src, sink) = streaming(|s| {
        let mut i = 0u64;
        let src = s.try_spawn(
            move |()| {
                i += 1;
                match i {
                    1..=9 => Step::Emit(i),
                    10 => Step::Finish(Some(100)),
                    _ => unreachable!("called after finishing"),
                }
            },
            (),
        );
        let sink = s.fold(&src, Vec::new(), |mut v, x| {
            v.push(x);
            v
        });
        (src, sink)
    })
    .unwrap();
    assert_eq!(src.fetch().unwrap(), 100);
    let mut want: Vec<u64> = (1..=9).collect();
    want.push(100);
    assert_eq!(sink.fetch().unwrap(), want);
}

#[test]
fn filters_skip_values_and_max_evals_bounds_the_calls() {
    let (evens, bounded) = streaming(|s| {
        let src = s.source(0..1000u64);
        let evens = s.try_spawn(
            |(x,)| {
                if x % 2 == 0 {
                    Step::Emit(x)
                } else {
                    Step::Skip
                }
            },
            (&src,),
        );
        let evens = s.fold(&evens, 0u64, |n, _| n + 1);
        let ticks = s.spawn_with(&StreamOptions::new().max_evals(7), |()| 1u64, ());
        (evens, s.fold(&ticks, 0u64, |n, x| n + x))
    })
    .unwrap();
    assert_eq!(evens.fetch().unwrap(), 500);
    assert_eq!(bounded.fetch().unwrap(), 7);
}

#[test]
fn a_consumer_that_finishes_stops_an_endless_source() {
    let (src, first) = streaming(|s| {
        let src = s.source(0u64..);
        let mut seen = Vec::new();
        let first = s.try_spawn(
            move |(x,)| {
                seen.push(x);
                if seen.len() == 10 {
                    Step::Finish(Some(seen.clone()))
                } else {
                    Step::Skip
                }
            },
            (&src,),
        );
        (src, first)
    })
    .unwrap();
    assert_eq!(first.fetch().unwrap(), (0..10).collect::<Vec<u64>>());
    assert!(src.fetch().unwrap() >= 9);
}

register! {
    fn add_k(x: u64, k: u64) -> u64 { x + k }
}

#[test]
fn registered_functions_are_stages_too() {
    let sum = streaming(|s| {
        let src = s.source(0..1000u64);
        let a = s.spawn_registered(ADD_K, (&src, 5u64));
        assert!(a.name().ends_with("add_k"));
        s.fold(&a, 0u64, |acc, x| acc + x)
    })
    .unwrap();
    assert_eq!(sum.fetch().unwrap(), (5..1005u64).sum::<u64>());
}

#[test]
fn a_stage_without_values_says_so_and_fetch_waits_for_the_end() {
    let empty = streaming(|s| {
        let src = s.source(std::iter::empty::<u64>());
        let e = s.spawn(|(x,)| x + 1, (&src,));
        assert!(e.fetch().unwrap_err().to_string().contains("has not ended"));
        e
    })
    .unwrap();
    let err = empty.fetch().unwrap_err();
    assert!(err.to_string().contains("without a value"), "{err}");
}

#[test]
fn bad_options_and_foreign_handles_are_argument_errors() {
    let err =
        streaming(|s| s.source_with(&StreamOptions::new().output_buffer(0), 0..3u64)).unwrap_err();
    assert!(
        err.to_string().contains("Output buffering is required"),
        "{err}"
    );
    let old = streaming(|s| s.source(0..3u64)).unwrap();
    let err = streaming(|s| s.spawn(|(x,)| x, (&old,))).unwrap_err();
    assert!(
        err.to_string().contains("another streaming region"),
        "{err}"
    );
}

/// A value that counts how many of it are alive.
#[derive(Debug)]
struct Counted {
    live: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Counted {
    fn new(live: &Arc<(AtomicUsize, AtomicUsize)>) -> Self {
        let now = live.0.fetch_add(1, Ordering::AcqRel) + 1;
        live.1.fetch_max(now, Ordering::AcqRel);
        Counted { live: live.clone() }
    }
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted::new(&self.live)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.live.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[test]
fn a_slow_consumer_keeps_the_producer_within_its_bound() {
    let live = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let opts = StreamOptions::new()
        .input_buffer(8)
        .output_buffer(8)
        .batch(4);
    let l = live.clone();
    let (src, sink) = streaming(|s| {
        let src = s.source_with(&opts, (0..3000u64).map(move |_| Counted::new(&l)));
        let sink = s.fold_with(&opts, &src, 0u64, |n, _c| {
            assert!(!dagger_stream::is_cancelled());
            std::thread::sleep(std::time::Duration::from_micros(20));
            n + 1
        });
        (src, sink)
    })
    .unwrap();
    assert_eq!(sink.fetch().unwrap(), 3000);
    let bound = src.buffer_bound();
    assert_eq!(bound, 16);
    // The producer ran far ahead of the consumer, and the edge stopped it at the bound.
    assert!(
        src.peak_buffered() <= bound,
        "{} > {bound}",
        src.peak_buffered()
    );
    assert!(
        src.peak_buffered() >= bound / 2,
        "never filled: {}",
        src.peak_buffered()
    );
    // Memory: the items alive at once are the edge's, one batch being gathered, and the
    // few held by the two stages (the producer's last value, the one being folded).
    let peak_live = live.1.load(Ordering::Acquire);
    assert!(
        peak_live <= bound + 4 + 3,
        "{peak_live} items alive at once"
    );
    drop(src);
    assert_eq!(live.0.load(Ordering::Acquire), 0, "every item dropped");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// A chain of maps with any buffers and batches gives what the plain iterator gives.
    #[test]
    fn any_buffers_give_the_plain_result(
        n in 0u64..3000,
        ks in proptest::collection::vec((1u64..5, 1usize..40, 1usize..40, 1usize..20), 1..4),
    ) {
        let got = streaming(|s| {
            let mut cur = s.source(0..n);
            for &(k, i, o, b) in &ks {
                let opts = StreamOptions::new().input_buffer(i).output_buffer(o).batch(b);
                cur = s.spawn_with(&opts, |(x, k)| x * k + 1, (&cur, k));
            }
            s.fold(&cur, Vec::new(), |mut v, x| { v.push(x); v })
        })
        .unwrap()
        .fetch()
        .unwrap();
        let want: Vec<u64> = (0..n)
            .map(|x| ks.iter().fold(x, |x, &(k, ..)| x * k + 1))
            .collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn finish_helper_is_a_bare_end() {
    assert_eq!(finish::<u8>(), Step::Finish(None));
}

#[test]
fn constants_of_every_plain_kind_reach_every_call() {
    let table = Arc::new(vec![10u64, 20, 30]);
    let out = streaming(|s| {
        let src = s.source(0..6u64);
        let looked = s.spawn(
            |(i, t, tag, v, w)| format!("{tag}{}:{}:{}", t[i as usize % 3], v.len(), w.0),
            (
                &src,
                table.clone(),
                String::from("#"),
                vec![1u8, 2],
                dagger_sched::Val((7u8,)),
            ),
        );
        s.fold(&looked, Vec::new(), |mut v, x| {
            v.push(x);
            v
        })
    })
    .unwrap()
    .fetch()
    .unwrap();
    assert_eq!(
        out,
        ["#10:2:7", "#20:2:7", "#30:2:7", "#10:2:7", "#20:2:7", "#30:2:7"]
    );
}
