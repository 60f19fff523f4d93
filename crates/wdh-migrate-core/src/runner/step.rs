//! Executing one migration step.
//!
//! A transactional script runs in its own transaction, opened by a
//! prologue that pins the settings the migration runs with (`SET LOCAL`)
//! and reads the transaction's id, in a message before the migration's own:
//! `<sql>; <fence>; <ledger row>; COMMIT;`, so the migration and its ledger
//! row commit or roll back together. The fence fails unless the statement
//! runs in the prologue's transaction (the script did not end it) and this
//! run still holds the migration lock. On a failure the transaction's fate
//! is read back from the server (`txid_status`) rather than assumed.
//!
//! When the next migration of the run is transactional too, its prologue
//! goes at the end of this migration's message, after the `COMMIT`
//! ([`Ahead`]): one round trip per migration instead of two. The server
//! skips the rest of a message after an error, so the prologue runs only
//! after this migration committed; when the message fails and this
//! migration's transaction committed, the ledger tells whether the message's
//! `COMMIT` did it (the ledger row is there: the error is the next
//! migration's, whose prologue failed with nothing of it sent) or the
//! script's own (it is not).
//!
//! A no-transaction script runs one statement at a time, each sent alone in
//! the extended protocol (the server refuses a message holding two
//! statements there), its progress recorded after each; a failure is
//! recorded with how many statements took effect.
//!
//! Every message waits for its answer at most as long as it may take
//! ([`super::session`]): wdh-migrate's own statements a round trip, a
//! migration's the statement timeout per statement plus a round trip. A
//! connection that goes silent is given up, and the step says whether the
//! migration's SQL had been sent (then its outcome is unknown).
//!
//! Both run under the run's lock schedule ([`super::retry`]): a migration
//! that cannot get a lock within its attempt's `lock_timeout` is rolled
//! back (or, outside a transaction, cancelled by the lock watch,
//! [`super::watch`]) and runs again after a pause.

use std::time::{Duration, Instant};

use postgres::error::{DbError, ErrorPosition};

use crate::ledger::{self, statements, FailedRow, LedgerState};
use crate::migrations::Direction;
use crate::migrations::{Migration, Script};
use crate::sql::{ConcurrentIndex, Rerun, TransactionControl};

use super::error::{Fate, LockReport};
use super::retry::{human, Attempts};
use super::session::{CallError, Session, Silent};
use super::watch::{Backend, LockWatch, Seen};
use super::{Connected, Event, MigrationFailure, Runner};

/// SQLSTATE of a lock wait that ran out of `lock_timeout` (lock_not_available).
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE of a cancelled statement (query_canceled).
const QUERY_CANCELED: &str = "57014";

/// Why a step failed: a failure with what the server said, or a database
/// error (none: the migration has no script in that direction), or no
/// answer in time.
enum StepError {
    Failure(Box<MigrationFailure>),
    Db(Option<postgres::Error>),
    Silent(Silent, Sent),
}

/// Whether the migration's own SQL had reached the server when the
/// connection went silent, and whether its wait was bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sent {
    pub(super) migration: bool,
    pub(super) bounded: bool,
}

/// Why a step failed, for the run.
pub(super) enum StepFailure {
    /// It failed; the server says why and what became of it.
    Failed(Box<MigrationFailure>),
    /// The server sent no answer in time; the connection is given up.
    Silent {
        /// The host and the wait.
        silent: Silent,
        /// What had been sent.
        sent: Sent,
    },
}

impl StepError {
    fn from_call(e: CallError, sent: Sent) -> StepError {
        match e {
            CallError::Db(e) => StepError::Db(Some(e)),
            CallError::Silent(s) => StepError::Silent(s, sent),
        }
    }
}

/// Before the migration's SQL is sent.
const NOTHING_SENT: Sent = Sent {
    migration: false,
    bounded: true,
};

/// A transactional migration to run.
#[derive(Clone, Copy)]
struct Step<'a> {
    m: &'a Migration,
    script: &'a Script,
    direction: Direction,
    version: &'a str,
    /// The next migration's prologue, sent after this one's `COMMIT`.
    then: Option<&'a Then>,
}

/// The prologue of the next migration's first attempt.
struct Then {
    prologue: String,
    lock_timeout: Option<Duration>,
}

/// The next migration's transaction, opened at the end of the message that
/// committed the one before it.
pub(super) enum Ahead {
    /// Open, with its id and server process and the `lock_timeout` its
    /// prologue set.
    Open {
        xid: String,
        pid: Option<i32>,
        lock_timeout: Option<Duration>,
    },
    /// The migration before committed and then the prologue failed: what
    /// the server said. Nothing of the next migration was sent.
    Failed(postgres::Error),
}

/// The transaction id and server process of a prologue's row: the last row
/// of `messages` (a migration's message returns its script's rows first).
fn opened_by(messages: &[postgres::SimpleQueryMessage]) -> Option<(String, Option<i32>)> {
    messages.iter().rev().find_map(|msg| match msg {
        postgres::SimpleQueryMessage::Row(r) => Some((
            r.get(0).unwrap_or_default().to_string(),
            r.get(1).and_then(|p| p.parse::<i32>().ok()),
        )),
        _ => None,
    })
}

/// One statement of a no-transaction script.
struct Statement<'a> {
    /// The whole script.
    sql: &'a str,
    stmt: &'a crate::sql::Statement,
    /// Its index (0 is the first).
    index: usize,
    total: usize,
}

/// What a statement failed with before it runs again.
#[derive(Clone, Copy)]
enum Prior<'a> {
    /// The run that recorded it as failed.
    Run(&'a FailedRow),
    /// This run's attempt `statement` (1 is the first) of migration
    /// `name`, whose lock wait was cancelled.
    Attempt { statement: usize, name: &'a str },
}

impl Prior<'_> {
    fn error(&self) -> &str {
        match self {
            Prior::Run(f) => &f.error,
            Prior::Attempt { .. } => "",
        }
    }

    /// The note for a build that took effect although its client did not
    /// see it end.
    fn took_effect(&self, index: &str) -> String {
        match self {
            Prior::Run(f) => format!(
                "statement {} of {} took effect after its run ended (the index {index} exists and is valid): \
                 it is counted as done, not run again",
                f.statements_done + 1,
                f.name
            ),
            Prior::Attempt { statement, name } => format!(
                "statement {statement} of {name} took effect before its cancel arrived (the index {index} exists \
                 and is valid): it is counted as done, not run again"
            ),
        }
    }
}

/// What the leftovers of an interrupted statement say of it.
enum Leftover {
    /// Nothing that tells: the statement runs again.
    None,
    /// It took effect: it is not run again.
    TookEffect,
    /// Dropping its INVALID index waited too long for a lock and was
    /// cancelled: the attempt timed out.
    Blocked(postgres::Error, Seen),
    /// The server sent no answer to the drop in time.
    Silent(Silent),
}

/// The rows of a query whose rows are a name and a `t`/`f` (empty when it
/// fails), within `limit`.
fn rows_of(c: &mut Connected, limit: Option<Duration>, sql: &str) -> Vec<(String, bool)> {
    c.client
        .simple_query(limit, sql)
        .map(|m| {
            m.into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => {
                        Some((r.get(0)?.to_string(), r.get(1) == Some("t")))
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The lock report of attempts that ran out of their budget.
/// The lock wait to report: the latest one seen, unless it names no holder
/// and an earlier one did (the last look may come before the holders are
/// read).
fn most_told(latest: Option<String>, earlier: Option<String>) -> Option<String> {
    match (latest, earlier) {
        (Some(l), Some(e)) if !l.contains(" behind ") && e.contains(" behind ") => Some(e),
        (Some(l), _) => Some(l),
        (None, e) => e,
    }
}

fn lock_report(attempts: &Attempts, waited_for: Option<String>, cancelled: bool) -> LockReport {
    LockReport {
        attempts: attempts.n,
        elapsed_ms: attempts.elapsed().as_millis(),
        schedule: attempts.schedule().to_string(),
        waited_for,
        cancelled,
    }
}

/// What stands for the transaction's id and the lock's token in a dry run:
/// both are known only when the migration runs.
pub(super) const DRY_RUN_XID: &str = ":xid";
/// See [`DRY_RUN_XID`].
pub(super) const DRY_RUN_TOKEN: &str = ":lock";

/// The script `m` runs in `direction` (none for a down that is not a script).
pub(super) fn script_for(m: &Migration, direction: Direction) -> Option<&Script> {
    match direction {
        Direction::Up => Some(&m.up),
        Direction::Down => m.down.script(),
    }
}

/// The message that runs a transactional migration with its fence and
/// ledger row, in the transaction `xid` opened by the prologue.
pub(super) fn transactional_message(
    m: &Migration,
    script: &Script,
    direction: Direction,
    version: &str,
    clear_failed: bool,
    xid: &str,
    token: Option<&str>,
) -> String {
    let record = statements::record_done(
        direction,
        version,
        &m.name,
        &m.up.checksum_hex(),
        false,
        None,
    );
    // Only a version recorded as failed has a failure record to clear.
    let clear = if clear_failed {
        statements::clear_failed(version)
    } else {
        String::new()
    };
    let fence = statements::step_fence(xid, token);
    format!(
        "{}\n;\n{fence}\n{record}\n{clear}COMMIT;",
        script.executable_sql()
    )
}

impl Runner<'_> {
    /// Runs `m` in `direction` with its ledger bookkeeping; `state` tells the
    /// version as the ledger records it and whether it is recorded as failed.
    /// `next`, the migration the run goes on with, has its transaction
    /// opened by this one's message when both are transactional.
    pub(super) fn run_step(
        &self,
        c: &mut Connected,
        state: &LedgerState,
        m: &Migration,
        next: Option<&Migration>,
        direction: Direction,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), StepFailure> {
        let version = state.recorded_version(m);
        let outcome = match script_for(m, direction) {
            Some(script) if script.no_transaction => {
                self.end_ahead(c);
                let retried = state
                    .failed
                    .iter()
                    .find(|f| f.is_version(&m.version) && f.direction == direction);
                self.run_no_transaction(c, m, script, direction, &version, retried, on)
            }
            Some(script) => {
                let then = next
                    .and_then(|n| script_for(n, direction))
                    .filter(|s| !s.no_transaction)
                    .map(|_| {
                        let lock_timeout = self.options.lock_timeout.map(|s| s.timeout(1));
                        Then {
                            prologue: statements::transaction_prologue(
                                c.identity.server_version,
                                lock_timeout,
                                self.options.statement_timeout,
                            ),
                            lock_timeout,
                        }
                    });
                let step = Step {
                    m,
                    script,
                    direction,
                    version: &version,
                    then: then.as_ref(),
                };
                self.run_in_transaction(c, &step, state.is_failed(m), on)
            }
            None => Err(StepError::Db(None)),
        };
        outcome.map_err(|e| match e {
            StepError::Failure(f) => StepFailure::Failed(f),
            StepError::Db(e) => {
                StepFailure::Failed(Box::new(failure_from(m, direction, e.as_ref(), None, None)))
            }
            StepError::Silent(silent, sent) => StepFailure::Silent { silent, sent },
        })
    }

    /// Ends the next migration's transaction if one was opened ahead and is
    /// not used (none is, on any path the run takes: this only makes sure
    /// no transaction outlives the steps).
    pub(super) fn end_ahead(&self, c: &mut Connected) {
        if let Some(Ahead::Open { .. }) = c.ahead.take() {
            c.client.rollback(self.quick());
        }
    }

    /// The transaction this attempt runs in when the message before opened
    /// it with this attempt's `lock_timeout`: its id and server process, or
    /// the error its prologue failed with. None when there is none (one
    /// opened with another `lock_timeout` is rolled back).
    fn take_ahead(
        &self,
        c: &mut Connected,
        lock_timeout: Option<Duration>,
    ) -> Option<Result<(String, Option<i32>), postgres::Error>> {
        match c.ahead.take()? {
            Ahead::Open {
                xid,
                pid,
                lock_timeout: opened_with,
            } if opened_with == lock_timeout => Some(Ok((xid, pid))),
            Ahead::Open { .. } => {
                c.client.rollback(self.quick());
                None
            }
            Ahead::Failed(e) => Some(Err(e)),
        }
    }

    /// The limit of a message that runs `script`'s statements. They are
    /// counted (the script parsed) only when a statement timeout makes the
    /// limit depend on how many there are.
    fn script_limit(&self, script: &Script) -> (Option<Duration>, Sent) {
        let limit = self
            .options
            .statement_timeout
            .and_then(|_| self.migration_limit(script.statements().len()));
        (
            limit,
            Sent {
                migration: true,
                bounded: limit.is_some(),
            },
        )
    }

    /// The limit of one statement of a no-transaction migration, and what
    /// a silence then means.
    fn statement_limit(&self) -> (Option<Duration>, Sent) {
        let limit = self.migration_limit(1);
        (
            limit,
            Sent {
                migration: true,
                bounded: limit.is_some(),
            },
        )
    }

    /// Runs a transactional migration under the run's lock schedule: when
    /// an attempt cannot get a lock within its `lock_timeout` and the
    /// server confirms it rolled back, it pauses and runs again with the
    /// next timeout, until the budget is spent. From the second attempt on
    /// (or in the only one), a watch reads what it waits for.
    fn run_in_transaction(
        &self,
        c: &mut Connected,
        step: &Step<'_>,
        clear_failed: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), StepError> {
        let Some(schedule) = self.options.lock_timeout else {
            return self
                .attempt_in_transaction(c, step, clear_failed, None, None)
                .0;
        };
        let mut attempts = Attempts::start(schedule);
        // The first attempt is watched only when it is the last: a
        // migration that gets its locks opens no other connection.
        let mut watch: Option<LockWatch> = schedule
            .budget
            .is_zero()
            .then(|| LockWatch::start(self, c.index, c.identity.server_version));
        let mut waited_for: Option<String> = None;
        loop {
            let timeout = attempts.timeout();
            let (outcome, seen) =
                self.attempt_in_transaction(c, step, clear_failed, Some(timeout), watch.as_ref());
            waited_for = most_told(seen.waited_for, waited_for);
            let mut failure = match outcome {
                Err(StepError::Failure(f))
                    if f.code == LOCK_NOT_AVAILABLE && f.fate == Some(Fate::RolledBack) =>
                {
                    f
                }
                other => return other,
            };
            let Some(retry) = attempts.next() else {
                failure.lock = Some(lock_report(&attempts, waited_for, false));
                return Err(StepError::Failure(failure));
            };
            on(Event::Retrying {
                migration: step.m,
                direction: step.direction,
                statement: None,
                attempt: attempts.n - 1,
                timeout,
                waited_for: waited_for.as_deref(),
                pause: retry.pause,
                next_timeout: retry.timeout,
            });
            std::thread::sleep(retry.pause);
            if watch.is_none() {
                watch = Some(LockWatch::start(self, c.index, c.identity.server_version));
            }
        }
    }

    /// One attempt of a transactional migration, with `lock_timeout`: the
    /// prologue, then the script with its fence and ledger row; on failure,
    /// the position the server gives is mapped back into the file and the
    /// transaction's fate is read back. With a `watch`, what the script
    /// waited for is seen.
    fn attempt_in_transaction(
        &self,
        c: &mut Connected,
        step: &Step<'_>,
        clear_failed: bool,
        lock_timeout: Option<Duration>,
        watch: Option<&LockWatch>,
    ) -> (Result<(), StepError>, Seen) {
        let Step {
            m,
            script,
            direction,
            version,
            then,
        } = *step;
        let (xid, pid) = match self.take_ahead(c, lock_timeout) {
            Some(Ok(opened)) => opened,
            // The message before committed its migration, then this
            // prologue failed (and was rolled back): as if sent alone.
            Some(Err(e)) => {
                return (
                    Err(StepError::from_call(CallError::Db(e), NOTHING_SENT)),
                    Seen::default(),
                )
            }
            None => {
                let prologue = statements::transaction_prologue(
                    c.identity.server_version,
                    lock_timeout,
                    self.options.statement_timeout,
                );
                match c.client.simple_query(self.quick(), &prologue) {
                    Ok(opened) => opened_by(&opened).unwrap_or_default(),
                    Err(e) => {
                        c.client.rollback(self.quick());
                        return (Err(StepError::from_call(e, NOTHING_SENT)), Seen::default());
                    }
                }
            }
        };
        if let Some(pid) = pid {
            c.saw_pid(pid);
        }
        let token = c.held.as_ref().map(|h| h.token.clone());
        let message = transactional_message(
            m,
            script,
            direction,
            version,
            clear_failed,
            &xid,
            token.as_deref(),
        );
        let watched = match (watch, pid, lock_timeout) {
            (Some(w), Some(pid), Some(t)) => {
                w.begin(Backend::Pid(pid), t / 2, None);
                Some(w)
            }
            _ => None,
        };
        let (limit, sent) = self.script_limit(script);
        let answer = match then {
            // The next prologue's own round trip is added to the limit. The
            // script's rows, if it returns any, are read too (the prologue's
            // row comes last).
            Some(then) => c
                .client
                .simple_query(
                    limit.map(|l| l + self.round_trip()),
                    &format!("{message}\n{}", then.prologue),
                )
                .map(|rows| match opened_by(&rows) {
                    Some((xid, pid)) => {
                        c.ahead = Some(Ahead::Open {
                            xid,
                            pid,
                            lock_timeout: then.lock_timeout,
                        });
                    }
                    // No row: no transaction to go on with (the next
                    // attempt opens its own).
                    None => c.client.rollback(self.quick()),
                }),
            None => c.client.batch_execute(limit, &message),
        };
        let seen = watched.map(LockWatch::end).unwrap_or_default();
        let e = match answer {
            Ok(()) => {
                if let Some(held) = &c.held {
                    held.renewed();
                }
                return (Ok(()), seen);
            }
            Err(CallError::Silent(s)) => return (Err(StepError::Silent(s, sent)), seen),
            Err(CallError::Db(e)) => e,
        };
        c.client.rollback(self.quick());
        let recorded = then.map(|_| statements::step_recorded(direction, version));
        let (mut fate, committed_here) = self.fate_of(c, &xid, recorded.as_deref());
        if then.is_some() && fate == Fate::ScriptCommitted {
            match committed_here {
                // The message's COMMIT committed the migration; the error
                // is the next prologue's, for the next migration to report.
                Some(true) => {
                    c.ahead = Some(Ahead::Failed(e));
                    if let Some(held) = &c.held {
                        held.renewed();
                    }
                    return (Ok(()), seen);
                }
                Some(false) => {}
                None => fate = Fate::Unknown,
            }
        }
        let sql = script.executable_sql();
        let line_col = e.as_db_error().and_then(position).and_then(|p| {
            (p >= 1 && p <= sql.chars().count()).then(|| crate::sql::line_col(&sql, p))
        });
        let mut failure = failure_from(m, direction, Some(&e), line_col, None);
        failure.fate = Some(fate);
        if fate == Fate::ScriptCommitted {
            // Part of it committed, without its ledger row: say so in the
            // ledger, so `status` shows it and no run goes on as if not.
            let error = format!(
                "{}: the script ended the migration's transaction itself; the statements before that committed \
                 without the ledger row, the rest was rolled back ({}; SQLSTATE {})",
                failure.file, failure.message, failure.code
            );
            let recorded = c.client.batch_execute(
                self.quick(),
                &statements::record_partial(
                    version,
                    &m.name,
                    direction.as_str(),
                    script.statements().len(),
                    &self.target.scrub(&error),
                ),
            );
            if let Err(e) = recorded {
                tracing::warn!(error = %crate::causes::describe(&e), "recording the partial migration failed");
            }
        }
        (Err(StepError::Failure(Box::new(failure))), seen)
    }

    /// What became of transaction `xid` after a failure: asked on the run's
    /// connection, or on a new one to the same host (the transaction's
    /// server) when that one is gone. A transaction
    /// the script prepared (`PREPARE TRANSACTION`) is neither committed
    /// nor rolled back and would keep the migration's changes and their
    /// locks: it is rolled back (`ROLLBACK PREPARED`), and said. When it
    /// committed, `recorded` ([`statements::step_recorded`]) is asked too,
    /// on the same connection: its answer comes second (none when it was
    /// not asked or could not be read).
    fn fate_of(
        &self,
        c: &mut Connected,
        xid: &str,
        recorded: Option<&str>,
    ) -> (Fate, Option<bool>) {
        let Ok(xid) = xid.parse::<i64>() else {
            return (Fate::Unknown, None);
        };
        let quick = self.quick();
        let ask = |client: &mut Session, sql: &str| {
            client
                .simple_query(quick, sql)
                .ok()
                .and_then(|m| ledger::single(&m))
        };
        let mut fresh;
        let client = if c.client.is_closed() {
            let Ok(new) = self.dialer().reopen(c.index) else {
                return (Fate::Unknown, None);
            };
            fresh = new;
            &mut fresh
        } else {
            &mut c.client
        };
        let mut status = ask(client, &statements::transaction_status(xid));
        let mut note = None;
        if status.as_deref() == Some("in progress") {
            if let Some(gid) = ask(client, &statements::prepared_transaction(xid)) {
                let rollback = statements::rollback_prepared(&gid);
                let gid = crate::sql::quote_literal(&gid);
                note = Some(match client.batch_execute(quick, &rollback) {
                    Ok(()) => format!(
                        "the script prepared the migration's transaction (PREPARE TRANSACTION {gid}); it was rolled back ({rollback})"
                    ),
                    Err(e) => format!(
                        "the script prepared the migration's transaction (PREPARE TRANSACTION {gid}) and rolling it back failed: {}; \
                         run `{rollback}` to roll it back",
                        self.target.scrub(&crate::causes::describe(&e))
                    ),
                });
                status = ask(client, &statements::transaction_status(xid));
            }
        }
        let fate = match status.as_deref() {
            Some("aborted") => Fate::RolledBack,
            Some("committed") => Fate::ScriptCommitted,
            _ => Fate::Unknown,
        };
        let recorded = recorded
            .filter(|_| fate == Fate::ScriptCommitted)
            .and_then(|sql| ask(client, sql))
            .map(|v| v == "t");
        if let Some(note) = note {
            tracing::warn!("{note}");
            c.notes.push(note);
        }
        (fate, recorded)
    }

    /// Runs a no-transaction script one statement at a time; it is recorded
    /// as running first, its progress after each statement, and applied
    /// only after the last one succeeds. A `retried` one resumes after the
    /// statements that took effect in the run that failed, once the
    /// leftovers of the statement that failed are dealt with. Each
    /// statement runs under the lock schedule ([`Runner::run_statement`]).
    #[allow(clippy::too_many_arguments)]
    fn run_no_transaction(
        &self,
        c: &mut Connected,
        m: &Migration,
        script: &Script,
        direction: Direction,
        version: &str,
        retried: Option<&crate::ledger::FailedRow>,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), StepError> {
        let sql = script.executable_sql();
        let parsed = script.statements();
        let total = parsed.len();
        let resume = retried
            .map_or(0, |f| usize::try_from(f.statements_done).unwrap_or(0))
            .min(total);
        let token = c.held.as_ref().map(|h| h.token.clone());
        let t = Instant::now();
        c.client
            .batch_execute(
                self.quick(),
                &format!(
                    "{};{}",
                    statements::NO_TRANSACTION_SESSION,
                    statements::record_started(version, &m.name, direction.as_str(), total, resume)
                ),
            )
            .map_err(|e| StepError::from_call(e, NOTHING_SENT))?;
        let (_, sent) = self.statement_limit();
        let watch = self
            .options
            .lock_timeout
            .map(|_| LockWatch::start(self, c.index, c.identity.server_version));
        // Inside a transaction the script opens itself, a cancelled
        // statement would abort it: such statements are not watched.
        let mut in_transaction = false;
        for (i, stmt) in parsed.iter().enumerate().skip(resume) {
            let prior = if i == resume {
                retried.map(Prior::Run)
            } else {
                None
            };
            let control = stmt.transaction_control();
            let watch = watch
                .as_ref()
                .filter(|_| !in_transaction && control.is_none());
            let at = Statement {
                sql: &sql,
                stmt,
                index: i,
                total,
            };
            match self.run_statement(c, m, direction, &at, prior, watch, on) {
                Ok(()) => {}
                Err(StepError::Failure(failure)) => {
                    return Err(self.no_transaction_failed(c, version, *failure, total))
                }
                Err(e) => return Err(e),
            }
            match control {
                Some(TransactionControl::Begin) => in_transaction = true,
                Some(
                    TransactionControl::Commit
                    | TransactionControl::Rollback
                    | TransactionControl::PrepareTransaction,
                ) => in_transaction = false,
                _ => {}
            }
            // The progress, and the lease renewed: a run that lost the
            // lock stops before its next statement.
            let mut progress = statements::record_progress(version, i + 1);
            if let Some(token) = &token {
                progress.push_str(&statements::renew_lock(token));
            }
            let still_held = match c.client.simple_query(self.quick(), &progress) {
                Ok(rows) => rows,
                Err(CallError::Silent(s)) => return Err(StepError::Silent(s, sent)),
                Err(CallError::Db(e)) => {
                    let failure = failure_from(m, direction, Some(&e), None, Some((i + 1, total)));
                    return Err(self.no_transaction_failed(c, version, failure, total));
                }
            };
            if token.is_some() {
                if ledger::single(&still_held).is_none() {
                    let mut failure = failure_from(m, direction, None, None, Some((i + 1, total)));
                    failure.code = statements::LOCK_LOST.into();
                    failure.message = "this run no longer holds the migration lock (its lease expired and another run may have taken it); it stops before the next statement".into();
                    return Err(self.no_transaction_failed(c, version, failure, total));
                }
                if let Some(held) = &c.held {
                    held.renewed();
                }
            }
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let record = statements::record_done(
            direction,
            version,
            &m.name,
            &m.up.checksum_hex(),
            true,
            Some(ms),
        );
        match c.client.batch_execute(
            self.quick(),
            &statements::finish_no_transaction(&record, version),
        ) {
            Ok(()) => Ok(()),
            Err(CallError::Silent(s)) => Err(StepError::Silent(s, sent)),
            Err(CallError::Db(e)) => {
                // Every statement ran; only the ledger update failed.
                let failure = failure_from(m, direction, Some(&e), None, Some((total, total)));
                Err(self.no_transaction_failed(c, version, failure, total))
            }
        }
    }

    /// Runs one statement of a no-transaction script, alone, in the
    /// extended protocol (the server runs exactly one statement of it or
    /// none), after the leftovers of its `prior` failure are dealt with.
    ///
    /// With a `watch` (the run has a lock schedule and the statement runs
    /// outside any transaction the script opened), a statement that can
    /// run again ([`crate::sql::rerun`]) is cancelled once it has waited
    /// its attempt's `lock_timeout` for a lock, and runs again after a
    /// pause, until its own budget is spent; a concurrent index build's
    /// INVALID index is dropped first (that drop is watched too: it waits
    /// for the same transactions).
    #[allow(clippy::too_many_arguments)]
    fn run_statement<'a>(
        &self,
        c: &mut Connected,
        m: &'a Migration,
        direction: Direction,
        at: &Statement<'_>,
        mut prior: Option<Prior<'a>>,
        watch: Option<&LockWatch>,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), StepError> {
        let (limit, sent) = self.statement_limit();
        let rerun = match watch {
            Some(_) => crate::sql::rerun(&at.stmt.sql),
            None => Rerun::Unsafe("it is not watched"),
        };
        let schedule = match rerun {
            Rerun::Unsafe(why) => {
                if watch.is_some() {
                    tracing::debug!(
                        statement = at.index + 1,
                        why,
                        "not cancelled on a lock wait"
                    );
                }
                None
            }
            _ => self.options.lock_timeout,
        };
        // What an unnamed index build's leftover would be told apart from.
        let before = match &rerun {
            Rerun::IndexBuild(ConcurrentIndex::Create {
                schema,
                table,
                index: None,
            }) if schedule.is_some() => Some(
                self.indexes_of(c, schema.as_deref(), table)
                    .into_iter()
                    .map(|(name, _)| name)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        };
        let mut attempts = schedule.map(Attempts::start);
        let mut waited_for: Option<String> = None;
        loop {
            let timeout = attempts.as_ref().map(Attempts::timeout);
            let watched = watch.zip(timeout);
            let mut outcome = Ok(());
            let mut seen = Seen::default();
            let mut ran = true;
            if let Some(p) = prior.take() {
                match self.repair_leftovers(c, &at.stmt.sql, &p, watched, before.as_deref()) {
                    Leftover::TookEffect => return Ok(()),
                    Leftover::None => {}
                    Leftover::Blocked(e, s) => {
                        outcome = Err(CallError::Db(e));
                        seen = s;
                        ran = false;
                        // Dropped on the next attempt.
                        prior = Some(p);
                    }
                    Leftover::Silent(s) => return Err(StepError::Silent(s, sent)),
                }
            }
            if ran {
                // One statement, in the extended protocol: the server runs
                // exactly one statement of it or none. An explicit statement
                // (a block the file keeps whole) goes as one simple-protocol
                // message, which the server runs as one implicit transaction.
                let explicit = at.stmt.explicit;
                let text = at.stmt.sql.clone();
                (outcome, seen) = self.watched(c, watched, limit, &at.stmt.sql, move |client| {
                    if explicit {
                        client.batch_execute(&text)
                    } else {
                        client.query_typed(&text, &[]).map(drop)
                    }
                });
            }
            let e = match outcome {
                Ok(()) => return Ok(()),
                Err(CallError::Silent(s)) => return Err(StepError::Silent(s, sent)),
                Err(CallError::Db(e)) => e,
            };
            let code = e.as_db_error().map(|d| d.code().code().to_string());
            let cancelled = seen.cancelled && code.as_deref() == Some(QUERY_CANCELED);
            let timed_out = cancelled || code.as_deref() == Some(LOCK_NOT_AVAILABLE);
            waited_for = most_told(seen.waited_for, waited_for);
            let db = e.as_db_error();
            // Without a server position, the statement's own start is still exact.
            let line_col = Some(at.stmt.line_col(at.sql, db.and_then(position).unwrap_or(1)));
            let mut failure =
                failure_from(m, direction, Some(&e), line_col, Some((at.index, at.total)));
            if cancelled {
                failure.message = format!(
                    "canceling statement due to lock timeout (sent by this run: it waited longer than {} for a lock)",
                    human(timeout.unwrap_or_default())
                );
            }
            let Some(attempts) = attempts.as_mut().filter(|_| timed_out) else {
                return Err(StepError::Failure(Box::new(failure)));
            };
            let Some(retry) = attempts.next() else {
                failure.lock = Some(lock_report(attempts, waited_for, cancelled));
                return Err(StepError::Failure(Box::new(failure)));
            };
            on(Event::Retrying {
                migration: m,
                direction,
                statement: Some((at.index + 1, at.total)),
                attempt: attempts.n - 1,
                timeout: timeout.unwrap_or_default(),
                waited_for: waited_for.as_deref(),
                pause: retry.pause,
                next_timeout: retry.timeout,
            });
            std::thread::sleep(retry.pause);
            if matches!(rerun, Rerun::IndexBuild(_)) && prior.is_none() {
                prior = Some(Prior::Attempt {
                    statement: at.index + 1,
                    name: &m.name,
                });
            }
        }
    }

    /// Runs `sql` with `run`, waiting at most `limit` for it, watched with
    /// its `lock_timeout` when given.
    fn watched<T: Send + 'static>(
        &self,
        c: &mut Connected,
        watch: Option<(&LockWatch, Duration)>,
        limit: Option<Duration>,
        sql: &str,
        run: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> (Result<T, CallError>, Seen) {
        if let Some((w, timeout)) = watch {
            let hint = c.pids.last().copied().unwrap_or(c.identity.backend_pid);
            w.begin(
                Backend::Running {
                    hint,
                    sql: sql.to_string(),
                },
                timeout / 2,
                Some(timeout),
            );
        }
        let outcome = c.client.with(limit, run);
        let seen = watch.map(|(w, _)| w.end()).unwrap_or_default();
        (outcome, seen)
    }

    /// Every index of a table, as `schema.index` and whether it is valid.
    fn indexes_of(
        &self,
        c: &mut Connected,
        schema: Option<&str>,
        table: &str,
    ) -> Vec<(String, bool)> {
        rows_of(c, self.quick(), &statements::table_indexes(schema, table))
    }

    /// Before an index build runs again after its `prior` failure (or
    /// attempt): an index that an interrupted `CREATE INDEX CONCURRENTLY`
    /// or `REINDEX CONCURRENTLY` left INVALID is dropped (`DROP INDEX
    /// CONCURRENTLY IF EXISTS`), so the statement builds it again instead
    /// of failing with "already exists". A `CREATE INDEX CONCURRENTLY`
    /// whose index now exists and is valid took effect (its server process
    /// finished after its client was gone, or before the cancel arrived),
    /// unless it failed because the index already existed. An unnamed
    /// index's leftovers are those not `before` its first attempt. Each is
    /// said. A drop the `watch` cancels leaves it for the next attempt.
    fn repair_leftovers(
        &self,
        c: &mut Connected,
        statement: &str,
        prior: &Prior<'_>,
        watch: Option<(&LockWatch, Duration)>,
        before: Option<&[String]>,
    ) -> Leftover {
        let build = crate::sql::concurrent_index(statement);
        let found: Vec<(String, bool)> = match (statements::index_leftovers(statement), &build) {
            (Some(find), _) => rows_of(c, self.quick(), &find),
            (
                None,
                Some(ConcurrentIndex::Create {
                    schema,
                    table,
                    index: None,
                }),
            ) => match before {
                Some(before) => self
                    .indexes_of(c, schema.as_deref(), table)
                    .into_iter()
                    .filter(|(name, _)| !before.contains(name))
                    .collect(),
                None => return Leftover::None,
            },
            (None, _) => return Leftover::None,
        };
        let creates = matches!(build, Some(ConcurrentIndex::Create { .. }));
        let mut outcome = Leftover::None;
        for (index, valid) in found {
            if valid {
                if creates && !prior.error().contains("SQLSTATE 42P07") {
                    let note = prior.took_effect(&index);
                    tracing::info!("{note}");
                    c.notes.push(note);
                    outcome = Leftover::TookEffect;
                }
                continue;
            }
            let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {index}");
            let sql = drop.clone();
            let (dropped, seen) =
                self.watched(c, watch, self.migration_limit(1), &drop, move |client| {
                    client.batch_execute(&sql)
                });
            let note = match dropped {
                Ok(()) => format!(
                    "dropped the INVALID index {index} that the interrupted statement left behind; the statement builds it again"
                ),
                Err(CallError::Silent(s)) => return Leftover::Silent(s),
                Err(CallError::Db(e)) if seen.cancelled => return Leftover::Blocked(e, seen),
                Err(CallError::Db(e)) => format!(
                    "could not drop the INVALID index {index} left behind: {}",
                    self.target.scrub(&crate::causes::describe(&e))
                ),
            };
            tracing::info!("{note}");
            c.notes.push(note);
        }
        outcome
    }

    /// Records a no-transaction migration's failure: ends any transaction the
    /// script (or the final ledger message) left open, reads back how many
    /// statements really took effect (progress written inside a transaction
    /// the script opened was rolled back with it), and marks it failed.
    fn no_transaction_failed(
        &self,
        c: &mut Connected,
        version: &str,
        mut failure: MigrationFailure,
        total: usize,
    ) -> StepError {
        let quick = self.quick();
        c.client.rollback(quick);
        let v = version.to_owned();
        let done = c
            .client
            .with(quick, move |client| {
                Ok(crate::ledger::statements_done(client, &v))
            })
            .ok()
            .flatten();
        if let (Some(done), Some((ran, _))) = (done, failure.partial) {
            // All ran but the ledger update: keep "all"; otherwise trust the ledger.
            if ran < total {
                failure.partial = Some((done, total));
            }
        }
        failure.invalid_indexes = c
            .client
            .with(quick, |client| Ok(crate::ledger::invalid_indexes(client)))
            .unwrap_or_default();
        // Only what the server said: the repair steps are added where shown.
        let place = match failure.line_col {
            Some((l, col)) => format!("{}:{l}:{col}", failure.file),
            None => failure.file.clone(),
        };
        let error = format!("{place}: {} (SQLSTATE {})", failure.message, failure.code);
        let _ = c.client.batch_execute(
            quick,
            &statements::record_failed(version, &self.target.scrub(&error)),
        );
        StepError::Failure(Box::new(failure))
    }
}

/// The position the server gave in the message it received, if any.
fn position(db: &DbError) -> Option<usize> {
    match db.position()? {
        ErrorPosition::Original(p) => usize::try_from(*p).ok(),
        ErrorPosition::Internal { .. } => None,
    }
}

/// A failure of `m`, with everything the server said.
fn failure_from(
    m: &Migration,
    direction: Direction,
    e: Option<&postgres::Error>,
    line_col: Option<(usize, usize)>,
    partial: Option<(usize, usize)>,
) -> MigrationFailure {
    let file = script_for(m, direction)
        .map(|s| s.path.display().to_string())
        .unwrap_or_default();
    let db = e.and_then(|e| e.as_db_error());
    MigrationFailure {
        version: m.version.to_string(),
        name: m.name.clone(),
        file,
        direction,
        line_col,
        code: db
            .map(|d| d.code().code().to_string())
            .unwrap_or_else(|| "-".into()),
        message: match (db, e) {
            (Some(d), _) => d.message().to_string(),
            (None, Some(e)) => e.to_string(),
            (None, None) => "no script to run".into(),
        },
        detail: db.and_then(|d| d.detail().map(str::to_string)),
        hint: db.and_then(|d| d.hint().map(str::to_string)),
        partial,
        fate: None,
        invalid_indexes: Vec::new(),
        completed_before: Vec::new(),
        lock: None,
    }
}
