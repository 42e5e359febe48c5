//! Bounds on what a block kernel may ask for. A [`Kernel`](crate::kernel::Kernel) can come
//! from another process as bytes; a creation kernel decoded from them names the shape to
//! allocate, a sort stage the number of parts. Before anything is allocated the request is
//! checked here, so a bad or hostile kernel is a typed [`Error::Argument`] naming what was
//! asked, never an allocation that aborts the process or exhausts its memory.
//!
//! A block may hold at most [`MAX_ELEMENTS`] elements and at most [`max_block_bytes`]
//! bytes: by default the machine's physical memory (a block larger than that cannot be
//! made, and asking the allocator for it would abort), changeable per process with
//! [`set_max_block_bytes`].
//!
//! ```
//! use dagger_array::limits::{check_shape, MAX_ELEMENTS};
//! assert_eq!(check_shape::<f64>("ones", &[3, 4]).unwrap(), 12);
//! assert!(check_shape::<f64>("ones", &[usize::MAX, 2]).is_err()); // overflows
//! assert!(check_shape::<u8>("ones", &[1 << 30, 1 << 11]).is_err()); // 2^41 > MAX_ELEMENTS
//! assert_eq!(MAX_ELEMENTS, 1 << 40);
//! ```

use crate::scalar::Scalar;
use dagger_core::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The most elements one block may hold (2^40).
pub const MAX_ELEMENTS: u64 = 1 << 40;

/// The most output parts a sort stage may be asked for.
pub const MAX_PARTS: usize = 1 << 20;

/// The most dimensions a block may have.
pub const MAX_DIMS: usize = 32;

/// The per-process byte limit set by [`set_max_block_bytes`]; 0: not set.
static MAX_BYTES: AtomicU64 = AtomicU64::new(0);

/// Sets the most bytes one block may hold in this process (0 restores the default: the
/// physical memory).
pub fn set_max_block_bytes(bytes: u64) {
    MAX_BYTES.store(bytes, Ordering::Relaxed);
}

/// The most bytes one block may hold in this process: what [`set_max_block_bytes`] set, or
/// the physical memory (read once), or `isize::MAX` where that is unknown.
pub fn max_block_bytes() -> u64 {
    match MAX_BYTES.load(Ordering::Relaxed) {
        0 => *PHYSICAL.get_or_init(|| physical_memory().unwrap_or(isize::MAX as u64)),
        n => n,
    }
}

static PHYSICAL: OnceLock<u64> = OnceLock::new();

/// `MemTotal` of `/proc/meminfo`, in bytes (Linux; `None` elsewhere or if unreadable).
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Checks that a dense block of `T` with `shape` may be made (by the kernel `what`): its
/// element count does not overflow, and neither it nor its bytes pass the limits. Returns
/// the element count.
pub fn check_shape<T: Scalar>(what: &str, shape: &[usize]) -> Result<usize> {
    let n = count(what, shape)?;
    check_bytes::<T>(what, shape, n.saturating_mul(T::BYTES as u64))?;
    // ok: n is at most the byte limit, which fits a usize on any platform that reached it.
    usize::try_from(n).map_err(|_| too_big(what, shape, "does not fit a usize".into()))
}

/// Checks that a sparse block of `T` with `shape` and non-zero probability `density` may
/// be made: its element count does not overflow or pass [`MAX_ELEMENTS`], and its expected
/// storage (non-zeros with their indices, plus one offset per column) fits the byte limit.
pub fn check_sparse_shape<T: Scalar>(what: &str, shape: &[usize], density: f64) -> Result<()> {
    let n = count(what, shape)?;
    let w = std::mem::size_of::<usize>() as f64;
    let nnz = n as f64 * density.clamp(0.0, 1.0);
    let cols = shape.get(1).copied().unwrap_or(1) as f64;
    let bytes = nnz * (T::BYTES as f64 + w) + (cols + 1.0) * w;
    // A float past u64::MAX saturates; the limit is far below that.
    check_bytes::<T>(what, shape, bytes as u64)
}

fn too_big(what: &str, shape: &[usize], why: String) -> Error {
    Error::Argument(format!("{what}: shape {shape:?} {why}"))
}

/// The element count of `shape`, checked against overflow, [`MAX_DIMS`] and
/// [`MAX_ELEMENTS`].
fn count(what: &str, shape: &[usize]) -> Result<u64> {
    if shape.len() > MAX_DIMS {
        return Err(Error::Argument(format!(
            "{what}: a block of {} dimensions (at most {MAX_DIMS})",
            shape.len()
        )));
    }
    let n = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| too_big(what, shape, "has more elements than a u64 counts".into()))?;
    // ndarray refuses (panics on) a shape whose non-zero lengths multiply past isize::MAX,
    // even when a zero length makes it empty.
    shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&p| p <= isize::MAX as u64)
        .ok_or_else(|| too_big(what, shape, "has lengths whose product overflows".into()))?;
    if n > MAX_ELEMENTS {
        return Err(too_big(
            what,
            shape,
            format!("has {n} elements, more than the limit of {MAX_ELEMENTS}"),
        ));
    }
    Ok(n)
}

fn check_bytes<T: Scalar>(what: &str, shape: &[usize], bytes: u64) -> Result<()> {
    let limit = max_block_bytes();
    if bytes > limit {
        return Err(too_big(
            what,
            shape,
            format!(
                "needs {bytes} bytes of {}, more than the block limit of {limit} \
                 (dagger_array::limits::set_max_block_bytes)",
                T::NAME
            ),
        ));
    }
    Ok(())
}

/// Checks a sort stage's number of output parts (at least 1, at most [`MAX_PARTS`]).
pub fn check_parts(what: &str, parts: usize) -> Result<()> {
    if parts == 0 || parts > MAX_PARTS {
        return Err(Error::Argument(format!(
            "{what}: {parts} output parts (1 to {MAX_PARTS})"
        )));
    }
    Ok(())
}
