//! Stack sampling for `record_with(profile: true)`.
//!
//! With the `sampling` feature on Linux, a `pprof` profiler (SIGPROF, about 1000 Hz) runs
//! for the whole recording. pprof merges identical stacks of one thread into one entry
//! stamped with the time of its first sample, so each entry goes to the innermost span
//! that was open on that thread at that time: totals over a thread's spans are exact,
//! the split between spans whose stacks are identical is approximate. Without the feature
//! this is a no-op and every span's samples stay empty.

#[cfg(all(feature = "sampling", target_os = "linux"))]
mod imp {
    use crate::timespan::{epoch_unix_ns, Sample, Timespan};
    use std::time::UNIX_EPOCH;

    /// A running sampler; attaches its samples to spans when done.
    pub(crate) struct Sampler {
        guard: pprof::ProfilerGuard<'static>,
    }

    impl std::fmt::Debug for Sampler {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Sampler")
        }
    }

    impl Sampler {
        /// Start sampling the process; `None` if a profiler is already running.
        pub(crate) fn start() -> Option<Self> {
            pprof::ProfilerGuardBuilder::default()
                .frequency(1000)
                // Unwinding through these from a signal handler can deadlock or crash.
                .blocklist(&["libc", "libgcc", "pthread", "vdso"])
                .build()
                .ok()
                .map(|guard| Sampler { guard })
        }

        /// Stop sampling and add each sample to the innermost span open at its time on its
        /// thread.
        pub(crate) fn attach(self, spans: &mut [Timespan]) {
            let Ok(report) = self.guard.report().build() else {
                return;
            };
            drop(self.guard);
            let epoch = epoch_unix_ns();
            for (frames, count) in report.data {
                let Ok(count) = u64::try_from(count) else {
                    continue;
                };
                let Ok(since) = frames.sample_timestamp.duration_since(UNIX_EPOCH) else {
                    continue;
                };
                let at = u64::try_from(since.as_nanos())
                    .unwrap_or(u64::MAX)
                    .saturating_sub(epoch);
                let owner = spans
                    .iter_mut()
                    .filter(|t| {
                        t.os_thread == Some(frames.thread_id)
                            && t.start_ns <= at
                            && at <= t.finish_ns
                    })
                    .min_by_key(|t| t.duration_ns());
                let Some(owner) = owner else { continue };
                // pprof lists the leaf first; a Sample lists the root first.
                let mut stack: Vec<String> = frames
                    .frames
                    .iter()
                    .rev()
                    .flat_map(|f| f.iter().rev().map(|s| s.name()))
                    .collect();
                // Frames of the sampler itself (the unwinder in the signal handler) are noise.
                if let Some(cut) = stack
                    .iter()
                    .position(|n| n.contains("pprof::") || n.starts_with("backtrace::"))
                {
                    stack.truncate(cut);
                }
                match owner.samples.iter_mut().find(|s| s.stack == stack) {
                    Some(s) => s.count += count,
                    None => owner.samples.push(Sample { stack, count }),
                }
            }
        }
    }

    /// The calling thread's pthread id, as pprof records it.
    pub(crate) fn os_thread() -> Option<u64> {
        // SAFETY: pthread_self has no preconditions and always succeeds.
        Some(unsafe { libc::pthread_self() } as u64)
    }
}

#[cfg(not(all(feature = "sampling", target_os = "linux")))]
mod imp {
    use crate::timespan::Timespan;

    /// Sampling is not built in: nothing runs, nothing is attached.
    #[derive(Debug)]
    pub(crate) struct Sampler;

    impl Sampler {
        pub(crate) fn start() -> Option<Self> {
            None
        }

        pub(crate) fn attach(self, _spans: &mut [Timespan]) {}
    }

    pub(crate) fn os_thread() -> Option<u64> {
        None
    }
}

pub(crate) use imp::{os_thread, Sampler};
