//! The lock schedule: how long each attempt of a migration may wait for a
//! lock, how long it pauses before the next attempt, and when it gives up.
//!
//! A statement that waits for a lock makes every later query on that table
//! wait behind it, whatever their own locks. So a migration waits only a
//! short time (`lock_timeout`); when that runs out it is rolled back,
//! pauses, and runs again with a longer timeout, doubling up to a maximum,
//! until its budget is spent. Application queries then wait at most the
//! longest timeout of one attempt behind it, and the table is free during
//! the pauses (on average as long as the attempt before), so a migration
//! stuck behind a long transaction neither blocks the table for as long as
//! that transaction nor fails: it gets its lock in the first attempt after
//! the transaction ends.
//!
//! Pure: the clock and the randomness are the caller's.

use std::time::Duration;

/// How a migration waits for its locks: the `lock_timeout` of its first
/// attempt, doubling with each attempt up to `max`, retried while `budget`
/// lasts (counted from the start of the first attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockSchedule {
    /// The first attempt's `lock_timeout`.
    pub first: Duration,
    /// The longest `lock_timeout` of an attempt: no application query
    /// waits longer than this behind one of the migration's lock requests.
    pub max: Duration,
    /// How long after its first attempt started a migration may still
    /// start another one; zero: one attempt, no retries.
    pub budget: Duration,
}

impl LockSchedule {
    /// `lock_timeout` 100 ms doubling to 1 s, retried for 60 s.
    ///
    /// 100 ms is long enough for a migration to get its lock behind the
    /// short queries of a busy table, and short enough that queueing them
    /// behind it goes unnoticed; 1 s caps what any application query waits
    /// behind one attempt; 60 s (as long as a run waits for another run's
    /// lock) outlasts most long transactions a deploy meets, and a deploy
    /// blocked for longer fails with what it waited for rather than hang.
    pub const DEFAULT: LockSchedule = LockSchedule {
        first: Duration::from_millis(100),
        max: Duration::from_secs(1),
        budget: Duration::from_secs(60),
    };

    /// The `lock_timeout` of attempt `n` (1 is the first).
    pub fn timeout(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }

    /// The pause after an attempt that had `timeout` and timed out:
    /// between half and one and a half times it, `jitter` in `[0, 1)`
    /// choosing where (so runs blocked by the same transaction do not all
    /// come back at once).
    pub fn pause(timeout: Duration, jitter: f64) -> Duration {
        timeout.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
    }

    /// Whether another attempt may start after a pause of `pause`, when
    /// `elapsed` has passed since the first attempt started.
    pub fn retries(&self, elapsed: Duration, pause: Duration) -> bool {
        elapsed + pause < self.budget
    }
}

impl Default for LockSchedule {
    fn default() -> Self {
        LockSchedule::DEFAULT
    }
}

impl std::fmt::Display for LockSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.max {
            write!(f, "lock_timeout {}", human(self.first))?;
        } else {
            write!(
                f,
                "lock_timeout {} doubling to {}",
                human(self.first),
                human(self.max)
            )?;
        }
        if self.budget.is_zero() {
            write!(f, ", no retries")
        } else {
            write!(f, ", retried for up to {}", human(self.budget))
        }
    }
}

/// A duration as a person reads it: `100 ms`, `1 s`, `1.5 s`, `2 min`.
pub(crate) fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 || ms % 60_000.0 != 0.0 {
        format!("{} s", trim(ms / 1000.0))
    } else {
        format!("{} min", trim(ms / 60_000.0))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The attempts of one migration (or of one no-transaction statement)
/// against its schedule.
#[derive(Debug)]
pub(super) struct Attempts {
    schedule: LockSchedule,
    started: std::time::Instant,
    /// The attempt now running (1 is the first).
    pub(super) n: u32,
}

/// What to do after an attempt timed out: pause, then run again with this
/// `lock_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Retry {
    pub(super) pause: Duration,
    pub(super) timeout: Duration,
}

impl Attempts {
    pub(super) fn start(schedule: LockSchedule) -> Attempts {
        Attempts {
            schedule,
            started: std::time::Instant::now(),
            n: 1,
        }
    }

    /// The running attempt's `lock_timeout`.
    pub(super) fn timeout(&self) -> Duration {
        self.schedule.timeout(self.n)
    }

    /// The running attempt timed out: the next one, unless the budget is
    /// spent.
    pub(super) fn next(&mut self) -> Option<Retry> {
        let pause = LockSchedule::pause(self.timeout(), fastrand::f64());
        if !self.schedule.retries(self.started.elapsed(), pause) {
            return None;
        }
        self.n += 1;
        Some(Retry {
            pause,
            timeout: self.timeout(),
        })
    }

    /// Since the first attempt started.
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub(super) fn schedule(&self) -> LockSchedule {
        self.schedule
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn timeouts_double_up_to_the_maximum() {
        let s = LockSchedule::DEFAULT;
        let got: Vec<u128> = (1..=7).map(|n| s.timeout(n).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(s.timeout(1_000_000), ms(1000), "no overflow");
        let fixed = LockSchedule {
            first: ms(2000),
            max: ms(2000),
            budget: ms(0),
        };
        assert_eq!(fixed.timeout(1), ms(2000));
        assert_eq!(fixed.timeout(9), ms(2000));
    }

    #[test]
    fn pauses_lie_around_the_timeout() {
        assert_eq!(LockSchedule::pause(ms(200), 0.0), ms(100));
        assert_eq!(LockSchedule::pause(ms(200), 0.5), ms(200));
        assert!(LockSchedule::pause(ms(200), 0.999_999) < ms(300));
        assert_eq!(LockSchedule::pause(ms(200), 7.0), ms(300), "clamped");
    }

    #[test]
    fn the_budget_bounds_when_an_attempt_may_start() {
        let s = LockSchedule::DEFAULT;
        assert!(s.retries(ms(59_000), ms(900)));
        assert!(!s.retries(ms(59_500), ms(500)));
        let off = LockSchedule {
            budget: Duration::ZERO,
            ..s
        };
        assert!(!off.retries(Duration::ZERO, Duration::ZERO));
        let mut a = Attempts::start(off);
        assert_eq!(a.timeout(), ms(100));
        assert_eq!(a.next(), None, "a zero budget makes one attempt");
    }

    #[test]
    fn with_the_defaults_a_blocked_migration_makes_a_few_dozen_attempts() {
        // Worst case, every pause at its longest: the attempts that fit.
        let s = LockSchedule::DEFAULT;
        let mut elapsed = Duration::ZERO;
        let mut n = 1;
        loop {
            let t = s.timeout(n);
            elapsed += t;
            let pause = LockSchedule::pause(t, 1.0);
            if !s.retries(elapsed, pause) {
                break;
            }
            elapsed += pause;
            n += 1;
        }
        assert!((20..=40).contains(&n), "{n} attempts");
    }

    #[test]
    fn schedules_describe_themselves() {
        assert_eq!(
            LockSchedule::DEFAULT.to_string(),
            "lock_timeout 100 ms doubling to 1 s, retried for up to 60 s"
        );
        let fixed = LockSchedule {
            first: ms(2000),
            max: ms(2000),
            budget: ms(0),
        };
        assert_eq!(fixed.to_string(), "lock_timeout 2 s, no retries");
        assert_eq!(human(ms(1500)), "1.5 s");
        assert_eq!(human(ms(300_000)), "5 min");
        assert_eq!(human(ms(90_000)), "90 s");
    }
}
