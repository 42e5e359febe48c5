//! Timespans cross processes as serde values: they round-trip, and garbage never panics.

use dagger_profile::{Sample, Timespan};
use proptest::prelude::*;

fn timespan() -> impl Strategy<Value = Timespan> {
    (
        ".{0,12}",
        any::<u64>(),
        ".{0,20}",
        any::<u64>(),
        any::<u64>(),
        (
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(".{0,8}"),
            proptest::option::of(any::<u64>()),
        ),
        proptest::collection::vec(
            (proptest::collection::vec(".{0,6}", 0..4), any::<u64>()),
            0..3,
        ),
    )
        .prop_map(
            |(cat, id, tl, s, f, (alloc, bytes, name, worker), samples)| {
                let mut t = Timespan::new(cat, id, tl, s, f);
                t.alloc_bytes = alloc;
                t.bytes = bytes;
                t.name = name;
                t.worker = worker;
                t.from = worker.map(|w| w / 2);
                t.samples = samples
                    .into_iter()
                    .map(|(stack, count)| Sample { stack, count })
                    .collect();
                t
            },
        )
}

proptest! {
    #[test]
    fn json_roundtrip(spans in proptest::collection::vec(timespan(), 0..5)) {
        let text = serde_json::to_string(&spans).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Vec<Timespan> = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, spans);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Vec<Timespan>>(&bytes);
    }

    #[test]
    fn finish_is_never_before_start(s in any::<u64>(), f in any::<u64>(), shift in any::<i64>()) {
        let t = Timespan::new("compute", 1, "x", s, f).shifted(shift);
        prop_assert!(t.start_ns <= t.finish_ns);
    }
}
