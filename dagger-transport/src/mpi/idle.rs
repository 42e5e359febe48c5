//! How the progress thread waits when it has nothing to do (a pure policy, tested alone).

use std::time::Duration;

/// How the progress thread waits when there is nothing to do. Only commands wake it (MPI
/// offers nothing to block on for shared memory), so received messages wait until the next
/// poll: a few yields first (a reply often follows at once), then sleeps on the command
/// queue that double from `min` to `max`. A thread that yields or wakes often takes CPU
/// from the rest of the machine: on 2 cores an MPI worker spinning on `sched_yield` spent as
/// much CPU as a worker thread, CPU the driver then lacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    /// Idle rounds that yield before the first sleep.
    spins: u32,
    /// The first sleep.
    min: Duration,
    /// The longest sleep.
    max: Duration,
    /// The longest sleep while sends are in flight (large ones progress only when polled).
    max_sending: Duration,
}

impl Backoff {
    const DEFAULT: Backoff = Backoff {
        spins: 8,
        min: Duration::from_micros(16),
        max: Duration::from_micros(1000),
        max_sending: Duration::from_micros(64),
    };

    /// The default, with `DAGGER_MPI_SPINS`, `DAGGER_MPI_IDLE_MIN_US` and
    /// `DAGGER_MPI_IDLE_MAX_US` overriding its parts (for tuning a machine; benchmarks).
    pub(crate) fn from_env() -> Backoff {
        let num = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut b = Backoff::DEFAULT;
        if let Some(n) = num("DAGGER_MPI_SPINS") {
            b.spins = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(us) = num("DAGGER_MPI_IDLE_MIN_US") {
            b.min = Duration::from_micros(us.max(1));
        }
        if let Some(us) = num("DAGGER_MPI_IDLE_MAX_US") {
            b.max = Duration::from_micros(us.max(1));
        }
        b.min = b.min.min(b.max);
        b.max_sending = b.max_sending.min(b.max);
        b
    }

    /// After `idle` rounds with nothing done: `None` to yield and poll again, else how long
    /// to wait for a command before polling.
    pub(crate) fn wait(&self, idle: u32, sending: bool) -> Option<Duration> {
        let slept = idle.checked_sub(self.spins)?.checked_sub(1)?;
        let cap = if sending { self.max_sending } else { self.max };
        let doubled = self.min.saturating_mul(1u32 << slept.min(16));
        Some(doubled.min(cap).max(self.min.min(cap)))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn idle_polling_yields_then_sleeps_doubling_up_to_a_cap() {
        let b = Backoff::DEFAULT;
        for idle in 1..=b.spins {
            assert_eq!(b.wait(idle, false), None, "round {idle} yields");
        }
        let us = |idle| b.wait(idle, false).map(|d| d.as_micros());
        assert_eq!(us(b.spins + 1), Some(16));
        assert_eq!(us(b.spins + 2), Some(32));
        assert_eq!(us(b.spins + 3), Some(64));
        assert_eq!(us(b.spins + 40), Some(1000));
        assert_eq!(us(u32::MAX), Some(1000));
        // Sends in flight need polling to progress: shorter sleeps.
        assert_eq!(b.wait(b.spins + 40, true), Some(Duration::from_micros(64)));
    }
}
