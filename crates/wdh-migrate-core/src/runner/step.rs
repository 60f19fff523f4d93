//! Executing one migration step. A transactional script is sent as one
//! message — `BEGIN; <sql>; <ledger row>; COMMIT;` — so the migration and
//! its ledger row commit or roll back together, in one round trip. A
//! no-transaction script runs one statement at a time, its progress
//! recorded after each, and a failure is recorded with how many statements
//! took effect.

use std::time::Instant;

use postgres::error::{DbError, ErrorPosition};
use postgres::Client;

use crate::ledger::{statements, LedgerState};
use crate::migrations::Direction;
use crate::migrations::{Migration, Script};

use super::{Connected, MigrationFailure, Runner};

/// Why a step failed: a failure with what the server said, or a database
/// error (none: the migration has no script in that direction).
enum StepError {
    Failure(Box<MigrationFailure>),
    Db(Option<postgres::Error>),
}

/// What precedes the migration's SQL in its message.
const PREFIX: &str = "BEGIN;\n";

/// The script `m` runs in `direction` (none for a down that is not a script).
pub(super) fn script_for(m: &Migration, direction: Direction) -> Option<&Script> {
    match direction {
        Direction::Up => Some(&m.up),
        Direction::Down => m.down.script(),
    }
}

/// The one message that runs a transactional migration with its ledger row.
pub(super) fn transactional_message(
    m: &Migration,
    script: &Script,
    direction: Direction,
    version: &str,
    clear_failed: bool,
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
    format!(
        "{PREFIX}{}\n;\n{record}\n{clear}COMMIT;",
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
    ) -> Result<(), Box<MigrationFailure>> {
        let outcome = match script_for(m, direction) {
            Some(script) if script.no_transaction => {
                self.run_no_transaction(c, m, script, direction, &state.recorded_version(m))
            }
            Some(script) => run_in_transaction(
                &mut c.client,
                m,
                script,
                direction,
                &state.recorded_version(m),
                state.is_failed(m),
            ),
            None => Err(StepError::Db(None)),
        };
        outcome.map_err(|e| match e {
            StepError::Failure(f) => f,
            StepError::Db(e) => Box::new(failure_from(m, direction, e.as_ref(), None, None)),
        })
    }

    /// Runs a no-transaction script one statement at a time; it is recorded
    /// as running first, its progress after each statement, and applied only
    /// after the last one succeeds.
    fn run_no_transaction(
        &self,
        c: &mut Connected,
        m: &Migration,
        script: &Script,
        direction: Direction,
        version: &str,
    ) -> Result<(), StepError> {
        let sql = script.executable_sql();
        let parsed = crate::sql::split_statements(&sql);
        let dir = match direction {
            Direction::Up => "up",
            Direction::Down => "down",
        };
        let t = Instant::now();
        c.client
            .batch_execute(&statements::record_started(
                version,
                &m.name,
                dir,
                parsed.len(),
            ))
            .map_err(|e| StepError::Db(Some(e)))?;
        for (i, stmt) in parsed.iter().enumerate() {
            if let Err(e) = c.client.batch_execute(&stmt.sql) {
                let db = e.as_db_error();
                // Without a server position, the statement's own start is still exact.
                let line_col = Some(stmt.line_col(&sql, db.and_then(position).unwrap_or(1)));
                let failure =
                    failure_from(m, direction, Some(&e), line_col, Some((i, parsed.len())));
                return Err(self.no_transaction_failed(c, version, failure, parsed.len()));
            }
            c.client
                .batch_execute(&statements::record_progress(version, i + 1))
                .map_err(|e| StepError::Db(Some(e)))?;
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
        let total = parsed.len();
        c.client
            .batch_execute(&statements::finish_no_transaction(&record, version))
            .map_err(|e| {
                // Every statement ran; only the ledger update failed.
                let failure = failure_from(m, direction, Some(&e), None, Some((total, total)));
                self.no_transaction_failed(c, version, failure, total)
            })
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
        let _ = c.client.batch_execute("ROLLBACK");
        let done = crate::ledger::statements_done(&mut c.client, version);
        if let (Some(done), Some((ran, _))) = (done, failure.partial) {
            // All ran but the ledger update: keep "all"; otherwise trust the ledger.
            if ran < total {
                failure.partial = Some((done, total));
            }
        }
        // Only what the server said: the repair steps are added where shown.
        let place = match failure.line_col {
            Some((l, col)) => format!("{}:{l}:{col}", failure.file),
            None => failure.file.clone(),
        };
        let error = format!("{place}: {} (SQLSTATE {})", failure.message, failure.code);
        let _ = c.client.batch_execute(&statements::record_failed(
            version,
            &self.target.scrub(&error),
        ));
        StepError::Failure(Box::new(failure))
    }
}

/// Runs a transactional migration as one message; on failure, the position
/// the server gives is mapped back into the file.
fn run_in_transaction(
    client: &mut Client,
    m: &Migration,
    script: &Script,
    direction: Direction,
    version: &str,
    clear_failed: bool,
) -> Result<(), StepError> {
    let message = transactional_message(m, script, direction, version, clear_failed);
    match client.batch_execute(&message) {
        Ok(()) => Ok(()),
        Err(e) => {
            if !client.is_closed() {
                let _ = client.batch_execute("ROLLBACK");
            }
            let sql = script.executable_sql();
            let line_col = e.as_db_error().and_then(position).and_then(|p| {
                let in_file = p.checked_sub(PREFIX.chars().count())?;
                (in_file >= 1 && in_file <= sql.chars().count())
                    .then(|| crate::sql::line_col(&sql, in_file))
            });
            Err(StepError::Failure(Box::new(failure_from(
                m,
                direction,
                Some(&e),
                line_col,
                None,
            ))))
        }
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
        completed_before: Vec::new(),
    }
}
