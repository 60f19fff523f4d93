//! The run lock: a session-level advisory lock held for the whole run,
//! waited for at most `lock_wait`, and released on every path (and by the
//! server when the session ends).

use std::ops::{Deref, DerefMut};
use std::time::Instant;

use crate::ledger::{self, statements};

use super::{Connected, RunError, Runner};

/// The run lock, held on a connection until dropped.
struct RunLock<'c> {
    c: &'c mut Connected,
}

impl<'c> RunLock<'c> {
    /// Takes the lock on `c`, waiting at most the run's `lock_wait`; when it
    /// times out, the error names the server process holding it.
    fn acquire(runner: &Runner<'_>, c: &'c mut Connected) -> Result<RunLock<'c>, RunError> {
        let started = Instant::now();
        let acquired = c
            .client
            .batch_execute(&statements::acquire_lock(runner.options.lock_wait));
        if let Err(e) = acquired {
            let database = c.identity.database.clone();
            let timed_out = e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE);
            if !timed_out {
                return Err(RunError::db(&database, "taking the migration lock")(e));
            }
            let holder = c
                .client
                .simple_query(&statements::lock_holder())
                .ok()
                .and_then(|m| ledger::single(&m))
                .and_then(|p| p.parse().ok());
            return Err(RunError::Locked {
                database,
                holder_pid: holder,
                waited_ms: started.elapsed().as_millis(),
            });
        }
        Ok(RunLock { c })
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
        if !self.c.client.is_closed() {
            let _ = self.c.client.batch_execute(&statements::release_lock());
        }
        tracing::debug!(database = %self.c.identity.database, "migration lock released");
    }
}

impl Runner<'_> {
    /// Runs `f` holding the run lock, in a session with the run's timeouts;
    /// the lock is released on every path.
    pub(super) fn locked<T>(
        &self,
        c: &mut Connected,
        f: impl FnOnce(&Self, &mut Connected) -> Result<T, RunError>,
    ) -> Result<T, RunError> {
        let mut lock = RunLock::acquire(self, c)?;
        let session = statements::run_session(
            lock.identity.server_version,
            self.options.lock_timeout,
            self.options.statement_timeout,
        );
        let database = lock.identity.database.clone();
        lock.client
            .batch_execute(&session)
            .map_err(RunError::db(&database, "setting the session's timeouts"))
            .and_then(|()| f(self, &mut lock))
    }
}
