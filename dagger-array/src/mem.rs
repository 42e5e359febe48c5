//! Live block accounting: every block a task produces is held in a [`Held`], which counts its
//! bytes while it lives. [`live_bytes`] and [`peak_bytes`] tell how much block memory the
//! process holds now and at most since [`reset_peak`] — how benchmarks compare the memory of
//! fused and unfused computations, and how tests see intermediates released.
//!
//! A block task's value is a [`BlockValue`]: the block behind an `Arc` (task arguments are
//! cloned, so big blocks are shared, not copied) in a [`Held`] that counts its bytes, or the
//! error that stopped it, which then flows to every dependent.

use crate::block::Block;
use crate::scalar::Scalar;
use dagger_core::Result;
use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// What one block task produces.
pub type BlockValue<T> = Result<Arc<Held<T>>>;

/// Puts a block into the live-bytes accounting.
pub(crate) fn held<T: Scalar>(b: Block<T>) -> Arc<Held<T>> {
    Arc::new(Held::new(b))
}

static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

/// A block whose bytes count as live while it exists.
///
/// ```
/// use dagger_array::mem::{live_bytes, Held};
/// use dagger_array::Block;
/// let before = live_bytes();
/// let h = Held::new(Block::Dense(ndarray::ArrayD::<f64>::zeros(vec![10])));
/// assert!(live_bytes() >= before + 80 || live_bytes() != before); // other threads may allocate too
/// assert_eq!(h.shape(), vec![10]);
/// ```
#[derive(Debug)]
pub struct Held<T: Scalar> {
    block: Block<T>,
    bytes: i64,
}

impl<T: Scalar> Held<T> {
    /// Takes a block into the accounting.
    pub fn new(block: Block<T>) -> Self {
        let bytes = block.nbytes() as i64;
        let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(now, Ordering::Relaxed);
        Self { block, bytes }
    }

    /// The block, to write in place (its byte count is kept: a writer keeps the shape).
    pub(crate) fn block_mut(&mut self) -> &mut Block<T> {
        &mut self.block
    }

    /// The block (a copy when others still share it).
    pub fn into_block(self: std::sync::Arc<Self>) -> Block<T> {
        match std::sync::Arc::try_unwrap(self) {
            Ok(mut h) => {
                std::mem::replace(&mut h.block, Block::Dense(ndarray::ArrayD::zeros(vec![0])))
            }
            Err(shared) => shared.block.clone(),
        }
    }
}

impl<T: Scalar> Clone for Held<T> {
    fn clone(&self) -> Self {
        Self::new(self.block.clone())
    }
}

impl<T: Scalar> Deref for Held<T> {
    type Target = Block<T>;
    fn deref(&self) -> &Block<T> {
        &self.block
    }
}

impl<T: Scalar> Drop for Held<T> {
    fn drop(&mut self) {
        LIVE.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// Bytes of blocks alive now in this process.
pub fn live_bytes() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// The most bytes of blocks alive at once since the last [`reset_peak`].
pub fn peak_bytes() -> i64 {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement at the current live bytes.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}
