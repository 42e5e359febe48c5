//! A way to wake a sleeping progress thread: one futex word per rank, in shared memory that
//! the job's ranks on one host map together.
//!
//! MPI gives a thread nothing to block on until a message arrives over shared memory, so an
//! idle progress thread can only sleep and poll, and a message waits for the next poll. With
//! the doorbell, a thread about to sleep *arms* its word (sets it to 1) and sleeps on it
//! with `FUTEX_WAIT`; whoever gives it work (a rank that just started a send to it, a tokio
//! task of its own process that queued a command) finds the word armed, clears it and wakes
//! it, as a socket would wake a thread in `epoll`. The timed sleep remains the fallback:
//! ranks on other hosts map another host's words, never see ours armed, and are picked up
//! by the next poll.
//!
//! Lost wake-ups are ruled out as in Dekker's algorithm: the sleeper arms, then (after a
//! full fence) looks for work once more; a waker publishes its work, then (after a full
//! fence) looks at the word. One of the two sees the other.

use std::ffi::{CStr, CString};
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

/// The job's futex words, one per rank, and which one is this rank's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doorbell {
    words: &'static [AtomicU32],
    me: usize,
    /// The shared-memory object's name, removed at exit (mappings outlive the name).
    name: &'static CStr,
}

const ARMED: u32 = 1;
const CLEAR: u32 = 0;

impl Doorbell {
    /// Maps the words of the job named `job` (shared by its ranks on this host), or `None`
    /// when there is no job name or shared memory cannot be had (then ranks only poll).
    pub(crate) fn open(job: &str, rank: i32, size: i32) -> Option<Doorbell> {
        let (me, size) = (usize::try_from(rank).ok()?, usize::try_from(size).ok()?);
        if job.is_empty() || me >= size {
            return None;
        }
        // One name per job and user; a name left by a crashed job only costs spurious
        // wake-ups if a later job gets the same id.
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let clean: String = job
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let name = CString::new(format!("/dagger-mpi-{uid}-{clean}")).ok()?;
        let bytes = size.checked_mul(std::mem::size_of::<AtomicU32>())?;
        // SAFETY: a valid NUL-terminated name; the descriptor is closed below.
        let fd = unsafe { libc::shm_open(name.as_ptr(), libc::O_CREAT | libc::O_RDWR, 0o600) };
        if fd < 0 {
            return None;
        }
        // Every rank sizes it the same; growing a fresh object zeroes it (every word clear).
        // SAFETY: fd is an open shared-memory object.
        let sized = unsafe { libc::ftruncate(fd, bytes as libc::off_t) } == 0;
        let ptr = if sized {
            // SAFETY: mapping `bytes` of an object at least that long, shared and writable.
            unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    0,
                )
            }
        } else {
            libc::MAP_FAILED
        };
        // SAFETY: fd is open; the mapping (if any) outlives it.
        unsafe { libc::close(fd) };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the mapping holds `size` u32s, page-aligned, and is never unmapped (it
        // lives as long as the process); other processes touch it through atomics only.
        let words = unsafe { std::slice::from_raw_parts(ptr.cast::<AtomicU32>(), size) };
        let name: &'static CStr = Box::leak(name.into_boxed_c_str());
        Some(Doorbell { words, me, name })
    }

    /// Before sleeping: arms this rank's word. The caller then looks for work once more, and
    /// sleeps with [`sleep`](Self::sleep) only if there is none.
    pub(crate) fn arm(&self) {
        self.words[self.me].store(ARMED, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Sleeps until woken or `timeout` passes (at once if no longer armed), then disarms.
    pub(crate) fn sleep(&self, timeout: Duration) {
        let word = &self.words[self.me];
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: FUTEX_WAIT on a live, aligned u32 of a shared mapping (not the private
        // variant: wakers are other processes), with a valid timeout.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                ARMED,
                &ts as *const libc::timespec,
            );
        }
        self.disarm();
    }

    /// Awake again (or found work before sleeping): wakers need not ring.
    pub(crate) fn disarm(&self) {
        self.words[self.me].store(CLEAR, Ordering::Relaxed);
    }

    /// After giving `rank` work (a send started to it, a command queued here): wakes its
    /// progress thread if it sleeps. One load when it does not.
    pub(crate) fn ring(&self, rank: i32) {
        let Some(word) = usize::try_from(rank).ok().and_then(|r| self.words.get(r)) else {
            return;
        };
        fence(Ordering::SeqCst);
        if word.load(Ordering::Relaxed) == ARMED && word.swap(CLEAR, Ordering::SeqCst) == ARMED {
            // SAFETY: FUTEX_WAKE on a live, aligned u32 of a shared mapping.
            unsafe {
                libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1);
            }
        }
    }

    /// At exit: removes the name, so no file is left behind in `/dev/shm`. Ranks still
    /// running keep their mappings; one that opened later would get fresh words and poll.
    pub(crate) fn unlink(&self) {
        // SAFETY: a valid NUL-terminated name; failure (already removed) is harmless.
        unsafe { libc::shm_unlink(self.name.as_ptr()) };
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_ring_wakes_the_sleeper_and_only_an_armed_word_sleeps() {
        let job = format!("unit-test-{}", std::process::id());
        let sleeper = Doorbell::open(&job, 0, 2).expect("shared memory"); // ok: test

        // Another rank's view of the same words (here: the same process, a second mapping).
        let waker = Doorbell::open(&job, 1, 2).expect("shared memory"); // ok: test
        sleeper.unlink();
        // Not armed: sleeping returns at once instead of waiting out the timeout.
        let t0 = Instant::now();
        sleeper.sleep(Duration::from_secs(30));
        assert!(t0.elapsed() < Duration::from_secs(20));
        // Armed: only the ring (from the other mapping) ends the sleep before its timeout.
        sleeper.arm();
        let h = std::thread::spawn(move || {
            let t0 = Instant::now();
            sleeper.sleep(Duration::from_secs(30));
            t0.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        waker.ring(0);
        let slept = h.join().expect("the sleeper thread"); // ok: test
        assert!(slept < Duration::from_secs(20), "slept {slept:?}");
        assert_eq!(waker.words[0].load(Ordering::SeqCst), CLEAR);
        // Ranks past the end are ignored.
        waker.ring(7);
        waker.ring(-1);
    }
}
