//! Timing and result helpers the array suites share.

use dagger_array::Blocks;
use std::time::Instant;

/// Times `f` `reps` times after `setup` (untimed) each time.
pub(crate) fn timed<S>(
    reps: usize,
    mut setup: impl FnMut() -> S,
    mut f: impl FnMut(S),
) -> Vec<f64> {
    (0..reps.max(1))
        .map(|_| {
            let s = setup();
            let t = Instant::now();
            f(s);
            t.elapsed().as_secs_f64()
        })
        .collect()
}

/// The value, or a panic naming `what` (a benchmark cannot go on without it).
pub(crate) fn ok<T>(r: dagger::Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

/// `Blocks::new(b)`, which the suites only call with valid sizes.
pub(crate) fn blocks(b: &[usize]) -> Blocks {
    ok(Blocks::new(b), "block sizes")
}
