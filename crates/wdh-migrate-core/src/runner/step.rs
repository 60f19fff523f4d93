//! Executing one migration step.
//!
//! A transactional script runs in two messages. The first, the
//! prologue, opens the transaction, pins the settings the migration runs
//! with (`SET LOCAL`) and reads the transaction's id. The second is
//! `<sql>; <fence>; <ledger row>; COMMIT;`, so the migration and its ledger
//! row commit or roll back together. The fence fails unless the statement
//! runs in the prologue's transaction (the script did not end it) and this
//! run still holds the migration lock. On a failure the transaction's fate
//! is read back from the server (`txid_status`) rather than assumed.
//!
//! A no-transaction script runs one statement at a time, each sent alone in
//! the extended protocol (the server refuses a message holding two
//! statements there), its progress recorded after each; a failure is
//! recorded with how many statements took effect.

use std::time::{Duration, Instant};

use postgres::error::{DbError, ErrorPosition};

use crate::ledger::{self, statements, LedgerState};
use crate::migrations::Direction;
use crate::migrations::{Migration, Script};

use super::error::Fate;
use super::session::{CallError, Silent};
use super::{Connected, MigrationFailure, Runner};

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

/// What the leftovers of an interrupted statement say of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leftover {
    /// Nothing that tells: the statement runs again.
    None,
    /// It took effect: it is not run again.
    TookEffect,
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
    pub(super) fn run_step(
        &self,
        c: &mut Connected,
        state: &LedgerState,
        m: &Migration,
        direction: Direction,
    ) -> Result<(), StepFailure> {
        let version = state.recorded_version(m);
        let outcome = match script_for(m, direction) {
            Some(script) if script.no_transaction => {
                let retried = state
                    .failed
                    .iter()
                    .find(|f| f.is_version(&m.version) && f.direction == direction);
                self.run_no_transaction(c, m, script, direction, &version, retried)
            }
            Some(script) => {
                self.run_in_transaction(c, m, script, direction, &version, state.is_failed(m))
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

    /// The limit of a message that runs `script`'s statements.
    fn script_limit(&self, script: &Script) -> (Option<Duration>, Sent) {
        let limit = match self.options.statement_timeout {
            Some(_) => self.migration_limit(script.statements().len()),
            None => None,
        };
        (
            limit,
            Sent {
                migration: true,
                bounded: limit.is_some(),
            },
        )
    }

    /// Runs a transactional migration: the prologue, then the script with
    /// its fence and ledger row; on failure, the position the server gives
    /// is mapped back into the file and the transaction's fate is read
    /// back.
    fn run_in_transaction(
        &self,
        c: &mut Connected,
        m: &Migration,
        script: &Script,
        direction: Direction,
        version: &str,
        clear_failed: bool,
    ) -> Result<(), StepError> {
        let prologue = statements::transaction_prologue(
            c.identity.server_version,
            self.options.lock_timeout,
            self.options.statement_timeout,
        );
        let opened = c
            .client
            .simple_query(self.quick(), &prologue)
            .map_err(|e| {
                c.client.rollback(self.quick());
                StepError::from_call(e, NOTHING_SENT)
            })?;
        let (xid, pid) = opened
            .iter()
            .find_map(|msg| match msg {
                postgres::SimpleQueryMessage::Row(r) => Some((
                    r.get(0).unwrap_or_default().to_string(),
                    r.get(1).and_then(|p| p.parse::<i32>().ok()),
                )),
                _ => None,
            })
            .unwrap_or_default();
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
        let (limit, sent) = self.script_limit(script);
        let e = match c.client.batch_execute(limit, &message) {
            Ok(()) => {
                if let Some(held) = &c.held {
                    held.renewed();
                }
                return Ok(());
            }
            Err(CallError::Silent(s)) => return Err(StepError::Silent(s, sent)),
            Err(CallError::Db(e)) => e,
        };
        c.client.rollback(self.quick());
        let fate = self.fate_of(c, &xid);
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
        Err(StepError::Failure(Box::new(failure)))
    }

    /// What became of transaction `xid` after a failure: asked on the run's
    /// connection, or on a new one when that one is gone.
    fn fate_of(&self, c: &mut Connected, xid: &str) -> Fate {
        let Ok(xid) = xid.parse::<i64>() else {
            return Fate::Unknown;
        };
        let quick = self.quick();
        let ask = |client: &mut super::session::Session| {
            client
                .simple_query(quick, &statements::transaction_status(xid))
                .ok()
                .and_then(|m| ledger::single(&m))
        };
        // On the run's connection, or a new one to the same host: the
        // transaction's server.
        let status = if c.client.is_closed() {
            self.dialer()
                .reopen(c.index)
                .ok()
                .and_then(|mut client| ask(&mut client))
        } else {
            ask(&mut c.client)
        };
        match status.as_deref() {
            Some("aborted") => Fate::RolledBack,
            Some("committed") => Fate::ScriptCommitted,
            _ => Fate::Unknown,
        }
    }

    /// Runs a no-transaction script one statement at a time; it is recorded
    /// as running first, its progress after each statement, and applied
    /// only after the last one succeeds. A `retried` one resumes after the
    /// statements that took effect in the run that failed, once the
    /// leftovers of the statement that failed are dealt with.
    fn run_no_transaction(
        &self,
        c: &mut Connected,
        m: &Migration,
        script: &Script,
        direction: Direction,
        version: &str,
        retried: Option<&crate::ledger::FailedRow>,
    ) -> Result<(), StepError> {
        let sql = script.executable_sql();
        let parsed = crate::sql::split_statements(&sql);
        let total = parsed.len();
        let mut resume = retried
            .map_or(0, |f| usize::try_from(f.statements_done).unwrap_or(0))
            .min(total);
        if let (Some(f), Some(next)) = (retried, parsed.get(resume)) {
            if self.repair_leftovers(c, &next.sql, f) == Leftover::TookEffect {
                resume += 1;
            }
        }
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
        let limit = self.migration_limit(1);
        let sent = Sent {
            migration: true,
            bounded: limit.is_some(),
        };
        for (i, stmt) in parsed.iter().enumerate().skip(resume) {
            // One statement, in the extended protocol: the server runs
            // exactly one statement of it or none.
            let text = stmt.sql.clone();
            let ran = c.client.with(limit, move |client| {
                client.query_typed(&text, &[]).map(|_| ())
            });
            if let Err(e) = ran {
                let e = match e {
                    CallError::Db(e) => e,
                    CallError::Silent(s) => return Err(StepError::Silent(s, sent)),
                };
                let db = e.as_db_error();
                // Without a server position, the statement's own start is still exact.
                let line_col = Some(stmt.line_col(&sql, db.and_then(position).unwrap_or(1)));
                let failure = failure_from(m, direction, Some(&e), line_col, Some((i, total)));
                return Err(self.no_transaction_failed(c, version, failure, total));
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

    /// Before a no-transaction script resumes at `statement`, the one that
    /// failed or was in flight when its run ended: an index that an
    /// interrupted `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY`
    /// left INVALID is dropped (`DROP INDEX CONCURRENTLY IF EXISTS`), so
    /// the statement builds it again instead of failing with "already
    /// exists". A named `CREATE INDEX CONCURRENTLY` whose index now exists
    /// and is valid took effect (its backend finished after its client was
    /// gone), unless it failed because the index already existed. Each is
    /// said.
    fn repair_leftovers(
        &self,
        c: &mut Connected,
        statement: &str,
        failed: &crate::ledger::FailedRow,
    ) -> Leftover {
        let Some(find) = statements::index_leftovers(statement) else {
            return Leftover::None;
        };
        let found: Vec<(String, bool)> = c
            .client
            .simple_query(self.quick(), &find)
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
            .unwrap_or_default();
        let creates = matches!(
            crate::sql::concurrent_index(statement),
            Some(crate::sql::ConcurrentIndex::Create { .. })
        );
        let mut outcome = Leftover::None;
        for (index, valid) in found {
            if valid {
                if creates && !failed.error.contains("SQLSTATE 42P07") {
                    let note = format!(
                        "statement {} of {} took effect after its run ended (the index {index} exists and is valid): \
                         it is counted as done, not run again",
                        failed.statements_done + 1,
                        failed.name
                    );
                    tracing::info!("{note}");
                    c.notes.push(note);
                    outcome = Leftover::TookEffect;
                }
                continue;
            }
            let dropped = c.client.batch_execute(
                self.migration_limit(1),
                &format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"),
            );
            let note = match dropped {
                Ok(()) => format!(
                    "dropped the INVALID index {index} that the interrupted statement left behind; the statement builds it again"
                ),
                Err(e) => format!(
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
    }
}
