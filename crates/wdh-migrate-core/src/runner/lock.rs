//! The run lock: a row of the ledger (`wdh_migrate.lock`) that a run takes
//! in a short transaction and holds with a lease. It depends on no server
//! session, so it holds behind a transaction pooler, where each
//! transaction may run on another server session and a session-level
//! advisory lock would be taken on one and left on another.
//!
//! - Taken: an `UPDATE` of the row that succeeds only when it is free or
//!   its lease expired, retried until the run's `lock_wait` runs out.
//! - Held: every migration's transaction renews the lease and fails unless
//!   this run still holds the lock (a fence: a run whose lease expired never
//!   commits a migration); a heartbeat thread renews it, on a connection of
//!   its own, while a step runs longer than a fifth of the lease.
//! - Released on every path (drop); a killed run's lock is free once its
//!   lease expires, and `status` names the holder and its last heartbeat.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::ledger::{self, statements};

use super::{Connected, RunError, Runner};

/// The run lock, held on a connection until dropped.
struct RunLock<'c> {
    c: &'c mut Connected,
    token: String,
    heartbeat: Heartbeat,
    /// The limit of the release's round trip.
    round_trip: Duration,
}

/// What a connection knows of the lock its run holds: the token its fences
/// name, and the heartbeat to tell when a migration renewed the lease.
pub(super) struct Held {
    pub(super) token: String,
    beat: Arc<Beat>,
}

impl Held {
    /// A migration's fence renewed the lease.
    pub(super) fn renewed(&self) {
        if let Ok(mut s) = self.beat.state.lock() {
            s.renewed = Instant::now();
        }
    }
}

/// A token no other run has: random bits, this process and the time.
fn new_token() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    let a = h.finish();
    let b = RandomState::new().build_hasher().finish();
    format!("{a:016x}{b:016x}")
}

impl<'c> RunLock<'c> {
    /// Takes the lock, waiting at most the run's `lock_wait`; when it times
    /// out, the error names the run holding it and its last heartbeat.
    fn acquire(
        runner: &Runner<'_>,
        c: &'c mut Connected,
        operation: &str,
    ) -> Result<RunLock<'c>, RunError> {
        let started = Instant::now();
        let database = c.identity.database.clone();
        let token = new_token();
        let lease = runner.options.lock_lease;
        let mut pause = Duration::from_millis(5);
        loop {
            // A row lock held by another run's migration (its fence) is
            // waited for at most what is left of `lock_wait`.
            let left = runner.options.lock_wait.saturating_sub(started.elapsed());
            let sql = statements::acquire_lock(
                &token,
                operation,
                &runner.options.client,
                lease,
                left.max(Duration::from_millis(1)),
            );
            let taken = c
                .client
                .simple_query(Some(left + runner.round_trip()), &sql);
            let rows = match taken {
                Ok(rows) => rows,
                Err(e)
                    if e.db().and_then(postgres::Error::code)
                        == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) =>
                {
                    c.client.rollback(runner.quick());
                    Vec::new()
                }
                Err(e) => {
                    c.client.rollback(runner.quick());
                    return Err(RunError::db(&database, "taking the migration lock")(e));
                }
            };
            let row = rows.iter().find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => Some((
                    r.get(0).map(str::to_string),
                    r.get(1).map(str::to_string),
                    r.get(2).and_then(|v| v.parse::<f64>().ok()),
                )),
                _ => None,
            });
            if let Some((Some(_), previous, age)) = row {
                if let (Some(previous), Some(age)) = (previous, age) {
                    c.notes.push(format!(
                        "took over the migration lock from {previous}, whose last heartbeat was {age:.1} s ago \
                         (its lease had expired: that run ended without releasing it)"
                    ));
                }
                tracing::debug!(database = %database, waited_ms = started.elapsed().as_millis() as u64, "migration lock taken");
                let heartbeat = Heartbeat::start(runner, c.index, &token, lease);
                c.held = Some(Held {
                    token: token.clone(),
                    beat: Arc::clone(&heartbeat.beat),
                });
                return Ok(RunLock {
                    c,
                    token,
                    heartbeat,
                    round_trip: runner.round_trip(),
                });
            }
            let waited = started.elapsed();
            if waited >= runner.options.lock_wait {
                let holder = c
                    .client
                    .with(runner.quick(), ledger::read_lock)
                    .ok()
                    .flatten();
                return Err(RunError::Locked {
                    database,
                    holder: holder.filter(|h| h.held).map(|h| h.describe()),
                    waited_ms: waited.as_millis(),
                });
            }
            let left = runner.options.lock_wait - waited;
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

impl Deref for RunLock<'_> {
    type Target = Connected;

    fn deref(&self) -> &Connected {
        self.c
    }
}

impl DerefMut for RunLock<'_> {
    fn deref_mut(&mut self) -> &mut Connected {
        self.c
    }
}

impl Drop for RunLock<'_> {
    fn drop(&mut self) {
        self.heartbeat.stop();
        if !self.c.client.is_closed() {
            let _ = self.c.client.batch_execute(
                Some(self.round_trip),
                &statements::release_lock(&self.token),
            );
        }
        self.c.held = None;
        tracing::debug!(database = %self.c.identity.database, "migration lock released");
    }
}

/// What the heartbeat thread and the run share.
struct Beat {
    state: Mutex<BeatState>,
    wake: Condvar,
}

struct BeatState {
    /// When the lease was last renewed (by a migration's fence or here).
    renewed: Instant,
    stop: bool,
}

/// Renews the lease from a thread of its own while a step runs long; it
/// connects only then, so a short run opens no second connection.
struct Heartbeat {
    beat: Arc<Beat>,
}

impl Heartbeat {
    fn start(runner: &Runner<'_>, host: usize, token: &str, lease: Duration) -> Heartbeat {
        let beat = Arc::new(Beat {
            state: Mutex::new(BeatState {
                renewed: Instant::now(),
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let every = (lease / 5).max(Duration::from_millis(50));
        // The host the run reached: the lock lives in its database.
        let dialer = runner.dialer();
        let round_trip = runner.quick();
        let renew = statements::renew_lock(token);
        let shared = Arc::clone(&beat);
        let spawned = std::thread::Builder::new()
            .name("wdh-migrate-heartbeat".into())
            .spawn(move || {
                let mut client: Option<super::session::Session> = None;
                loop {
                    {
                        let Ok(guard) = shared.state.lock() else {
                            return;
                        };
                        let Ok((guard, _)) = shared.wake.wait_timeout_while(guard, every, |s| {
                            !s.stop && s.renewed.elapsed() < every
                        }) else {
                            return;
                        };
                        if guard.stop {
                            return;
                        }
                        // Renewed by the run meanwhile: nothing to do yet.
                        if guard.renewed.elapsed() < every {
                            continue;
                        }
                    }
                    if client
                        .as_ref()
                        .is_none_or(super::session::Session::is_closed)
                    {
                        client = dialer.reopen(host).ok();
                    }
                    let renewed = client
                        .as_mut()
                        .and_then(|c| c.simple_query(round_trip, &renew).ok())
                        .and_then(|m| ledger::single(&m));
                    match renewed {
                        Some(_) => {
                            if let Ok(mut s) = shared.state.lock() {
                                s.renewed = Instant::now();
                            }
                        }
                        None => {
                            tracing::warn!("renewing the migration lock's lease failed; retrying");
                            std::thread::sleep(every.min(Duration::from_secs(1)));
                        }
                    }
                }
            });
        if spawned.is_err() {
            tracing::warn!("could not start the lock's heartbeat thread; the lease is renewed between migrations only");
        }
        Heartbeat { beat }
    }

    fn stop(&self) {
        if let Ok(mut s) = self.beat.state.lock() {
            s.stop = true;
        }
        self.beat.wake.notify_all();
    }
}

impl Runner<'_> {
    /// Runs `f` holding the run lock (the ledger created or upgraded
    /// first); the lock is released on every path.
    pub(super) fn locked<T>(
        &self,
        c: &mut Connected,
        operation: &str,
        f: impl FnOnce(&Self, &mut Connected) -> Result<T, RunError>,
    ) -> Result<T, RunError> {
        c.ensure_ledger(self.options.lock_wait, self.round_trip())?;
        let mut lock = RunLock::acquire(self, c, operation)?;
        f(self, &mut lock)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_differ() {
        let a = super::new_token();
        let b = super::new_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
