//! The hasher of maps keyed by the counters this crate hands out as ids (datadeps object
//! ids, thunk ids): SipHash was a measurable part of the cost per task in both.

use std::hash::Hasher;

/// Ids are counters, and a region (or a lazy graph) mostly names ids made one after another: the
/// hash keeps the id itself in the low bits (the table slot), so such ids take
/// neighbouring slots and a region of many new objects fills its table in order instead of
/// missing the cache on each; the top bits (the table's tag) are the id mixed, so that ids
/// sharing a slot group are still told apart without comparing keys.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        const TAG: u64 = 0x7F << 57;
        self.0 = (n & !TAG) | (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) & TAG);
    }
}
