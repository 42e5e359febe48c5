//! Sends in flight on the progress thread: each `MPI_Isend` request, and what it must keep
//! alive (the frame's buffer, the sender's window permit) until MPI is done with it.

use bytes::Bytes;
use mpi::ffi;
use std::os::raw::c_int;
use tokio::sync::OwnedSemaphorePermit;

/// What a send in flight keeps alive until its request completes.
struct Held {
    _buf: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

/// Sends in flight: the requests in one array, so that one `MPI_Testsome` (one pass of
/// MPI's progress engine) tests them all, where an `MPI_Test` each would run the engine
/// once per send; beside each request, index for index, what it holds.
#[derive(Default)]
pub(crate) struct InFlight {
    reqs: Vec<ffi::MPI_Request>,
    held: Vec<Held>,
    /// Scratch for the indices `MPI_Testsome` returns.
    done: Vec<c_int>,
}

impl InFlight {
    /// Tracks a started send; `buf` and `permit` are dropped when it completes.
    pub(crate) fn push(
        &mut self,
        req: ffi::MPI_Request,
        buf: Bytes,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        self.reqs.push(req);
        self.held.push(Held {
            _buf: buf,
            _permit: permit,
        });
    }

    /// No send in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Drops finished sends (their buffers and window permits); true if any finished.
    pub(crate) fn complete(&mut self) -> bool {
        let Ok(count) = c_int::try_from(self.reqs.len()) else {
            return self.complete_one_by_one();
        };
        if count == 0 {
            return false;
        }
        self.done.resize(self.reqs.len(), 0);
        let mut outcount: c_int = 0;
        // SAFETY: `reqs` holds `count` live requests and `done` room for `count` indices;
        // MPI sets each completed request to MPI_REQUEST_NULL.
        let rc = unsafe {
            ffi::MPI_Testsome(
                count,
                self.reqs.as_mut_ptr(),
                &mut outcount,
                self.done.as_mut_ptr(),
                ffi::RSMPI_STATUSES_IGNORE,
            )
        };
        if rc != ffi::MPI_SUCCESS as c_int {
            // Which one failed is in statuses we did not ask for: test them one by one.
            return self.complete_one_by_one();
        }
        // MPI_UNDEFINED (negative): no active request is left.
        let Ok(n) = usize::try_from(outcount) else {
            self.reqs.clear();
            self.held.clear();
            return true;
        };
        let mut done: Vec<usize> = self.done[..n.min(self.done.len())]
            .iter()
            .filter_map(|&i| usize::try_from(i).ok())
            .collect();
        // Highest first, so each swap_remove leaves the lower indices where they were.
        done.sort_unstable_by(|a, b| b.cmp(a));
        for i in done {
            if i < self.reqs.len() {
                self.reqs.swap_remove(i);
                self.held.swap_remove(i);
            }
        }
        n > 0
    }

    /// [`complete`](Self::complete) after `MPI_Testsome` reported an error: each request
    /// tested alone, failed ones logged and dropped.
    fn complete_one_by_one(&mut self) -> bool {
        let before = self.reqs.len();
        let mut i = 0;
        while i < self.reqs.len() {
            let mut flag: c_int = 0;
            // SAFETY: a live request (or MPI_REQUEST_NULL, which tests as complete).
            let rc =
                unsafe { ffi::MPI_Test(&mut self.reqs[i], &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            let failed = rc != ffi::MPI_SUCCESS as c_int;
            if failed {
                tracing::warn!(code = rc, "an MPI send failed");
            }
            if failed || flag != 0 {
                self.reqs.swap_remove(i);
                self.held.swap_remove(i);
            } else {
                i += 1;
            }
        }
        self.reqs.len() != before
    }

    /// Cancels and frees every request still pending (requests left would make
    /// `MPI_Finalize` wait for ever), then drops what they held.
    pub(crate) fn cancel_all(&mut self) {
        for req in &mut self.reqs {
            // SAFETY: a live request; cancelling then freeing it is allowed.
            unsafe {
                ffi::MPI_Cancel(req);
                ffi::MPI_Request_free(req);
            }
        }
        self.reqs.clear();
        self.held.clear();
    }
}
