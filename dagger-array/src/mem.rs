//! Live block accounting: every block a task produces is held in a [`Held`], which counts its
//! bytes while it lives. [`live_bytes`] and [`peak_bytes`] tell how much block memory the
//! process holds now and at most since [`reset_peak`] — how benchmarks compare the memory of
//! fused and unfused computations, and how tests see intermediates released.
//!
//! A block task's value is a [`BlockValue`]: the block behind an `Arc` (task arguments are
//! cloned, so big blocks are shared, not copied) in a [`Held`] that counts its bytes, or the
//! error that stopped it, which then flows to every dependent.
//!
//! Large dense buffers are recycled: a kernel that writes a whole block of a size it asks for
//! often (the FFT of rows, the transpose between a 2-D FFT's passes) takes its output from
//! [`take_buffer`], and a dropped block of such a size goes back to a bounded pool instead of
//! to the allocator. Fresh large allocations are fresh pages, which the kernel clears and
//! maps one fault at a time; recycling them turns a pass that writes 64 MiB blocks from
//! fault-bound into memory-bound. Only sizes recently asked for are kept, so arrays whose
//! kernels never ask hold nothing in the pool.

use crate::block::Block;
use crate::scalar::Scalar;
use dagger_core::Result;
use std::any::{Any, TypeId};
use std::ops::Deref;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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
        if self.bytes as usize >= POOL_MIN_BYTES {
            let empty = Block::Dense(ndarray::ArrayD::zeros(vec![0]));
            if let Block::Dense(a) = std::mem::replace(&mut self.block, empty) {
                recycle(a.into_raw_vec_and_offset().0);
            }
        }
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

/// Buffers smaller than this are left to the allocator, which reuses small allocations
/// itself; the pool is for blocks whose fresh pages would each cost a fault.
const POOL_MIN_BYTES: usize = 1 << 20;

/// How many recently asked-for sizes the pool keeps buffers of.
const WANTED: usize = 8;

/// The most bytes the pool holds ([`set_pool_limit`]); 1 GiB by default.
static POOL_LIMIT: AtomicUsize = AtomicUsize::new(1 << 30);

/// A spare buffer: a `Vec<T>` of capacity `cap`, its type erased.
struct Spare {
    ty: TypeId,
    cap: usize,
    bytes: usize,
    buf: Box<dyn Any + Send>,
}

/// The spare buffers, their bytes, and the sizes (element type, length) asked for lately.
struct Pool {
    free: Vec<Spare>,
    bytes: usize,
    wanted: Vec<(TypeId, usize)>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    bytes: 0,
    wanted: Vec::new(),
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    // The pool's state is consistent between statements, so a panic elsewhere leaves it usable.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a buffer of capacity `cap` serves a request for `len` values (at most 1/8 more).
fn fits(cap: usize, len: usize) -> bool {
    cap >= len && cap - len <= len / 8
}

/// An empty buffer with room for `len` values of `T`, for a kernel that then writes all of
/// them: a recycled one when the pool holds one of the size, else a fresh allocation. Either
/// way nothing is zero-filled. Asking for a large size makes the pool keep dropped blocks of it.
///
/// ```
/// use dagger_array::mem::take_buffer;
/// let v = take_buffer::<f64>(1 << 18);
/// assert!(v.is_empty() && v.capacity() >= 1 << 18);
/// ```
pub fn take_buffer<T: Scalar>(len: usize) -> Vec<T> {
    if len.saturating_mul(std::mem::size_of::<T>()) < POOL_MIN_BYTES {
        return Vec::with_capacity(len);
    }
    let ty = TypeId::of::<T>();
    let spare = {
        let mut p = pool();
        if let Some(k) = p.wanted.iter().position(|&w| w == (ty, len)) {
            p.wanted.remove(k);
        } else if p.wanted.len() >= WANTED {
            p.wanted.remove(0);
        }
        p.wanted.push((ty, len));
        let at = p.free.iter().position(|s| s.ty == ty && fits(s.cap, len));
        at.map(|k| {
            let s = p.free.swap_remove(k);
            p.bytes -= s.bytes;
            s
        })
    };
    match spare.map(|s| s.buf.downcast::<Vec<T>>()) {
        Some(Ok(v)) => {
            let mut v = *v;
            v.clear();
            v
        }
        _ => huge_pages(Vec::with_capacity(len)),
    }
}

/// The size of a transparent huge page (x86-64, aarch64 with 4 KiB pages).
const HUGE_PAGE: usize = 2 << 20;

/// `v` (fresh, untouched) with its storage marked for transparent huge pages where it spans
/// whole 2 MiB pages. A pooled buffer is read in column strips by the transposes of a 2-D
/// FFT (and other permutes): with 4 KiB pages a row of 64 KiB is 16 pages, so every step
/// down a column is a TLB miss; 2 MiB pages make the whole block a few dozen TLB entries.
/// Where THP is `madvise` (the common default) nothing else asks for them; where it is off,
/// or on other systems, this does nothing.
fn huge_pages<T>(v: Vec<T>) -> Vec<T> {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    #[cfg(target_os = "linux")]
    if bytes >= 2 * HUGE_PAGE {
        let start = v.as_ptr() as usize;
        let (lo, hi) = (
            start.next_multiple_of(HUGE_PAGE),
            (start + bytes) / HUGE_PAGE * HUGE_PAGE,
        );
        if hi > lo {
            // SAFETY: [lo, hi) lies inside `v`'s allocation, which this function owns; the
            // advice changes how the kernel backs the pages, never their contents (none are
            // written yet), and a refusal (EINVAL where THP is absent) is harmless.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
    let _ = bytes;
    v
}

/// Keeps `v` for [`take_buffer`] when its size was asked for lately and the pool has room;
/// else it is freed (outside the pool's lock).
fn recycle<T: Scalar>(v: Vec<T>) {
    let (ty, cap) = (TypeId::of::<T>(), v.capacity());
    let bytes = cap * std::mem::size_of::<T>();
    let mut p = pool();
    let wanted = p.wanted.iter().any(|&(t, len)| t == ty && fits(cap, len));
    if wanted && p.bytes + bytes <= POOL_LIMIT.load(Ordering::Relaxed) {
        p.bytes += bytes;
        p.free.push(Spare {
            ty,
            cap,
            bytes,
            buf: Box::new(v),
        });
        return;
    }
    drop(p);
    drop(v);
}

/// Bytes of spare buffers the pool holds now (not counted in [`live_bytes`]).
pub fn pool_bytes() -> usize {
    pool().bytes
}

/// Sets the most bytes the pool holds (0 turns recycling off) and frees what is over it.
pub fn set_pool_limit(bytes: usize) {
    POOL_LIMIT.store(bytes, Ordering::Relaxed);
    let freed: Vec<Spare> = {
        let mut p = pool();
        let mut out = Vec::new();
        while p.bytes > bytes {
            match p.free.pop() {
                Some(s) => {
                    p.bytes -= s.bytes;
                    out.push(s);
                }
                None => break,
            }
        }
        out
    };
    drop(freed);
}

/// Frees every spare buffer of the pool (its limit stays).
pub fn trim_pool() {
    let freed = {
        let mut p = pool();
        p.bytes = 0;
        std::mem::take(&mut p.free)
    };
    drop(freed);
}

/// Spare buffers of `T` that would serve a request for `len` values (for the tests, through
/// `__private`).
pub(crate) fn spares<T: Scalar>(len: usize) -> usize {
    let ty = TypeId::of::<T>();
    pool()
        .free
        .iter()
        .filter(|s| s.ty == ty && fits(s.cap, len))
        .count()
}
