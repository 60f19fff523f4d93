//! Why a run failed, with everything the server said.

use crate::guard::{self, Refusal};
use crate::ledger::{self, FailedRow};
use crate::migrations::Direction;
use crate::plan::PlanError;

use super::repair_steps;
use super::session::CallError;
use crate::spelling::{Knob, Library, Spelling};

/// A failed migration, with everything the server said.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationFailure {
    /// The version.
    pub version: String,
    /// The name.
    pub name: String,
    /// The file that failed.
    pub file: String,
    /// Up or down.
    pub direction: Direction,
    /// Line and column in the file, when the server gave a position.
    pub line_col: Option<(usize, usize)>,
    /// SQLSTATE.
    pub code: String,
    /// The server's message.
    pub message: String,
    /// DETAIL.
    pub detail: Option<String>,
    /// HINT.
    pub hint: Option<String>,
    /// For a no-transaction migration: statements that took effect, of the total.
    pub partial: Option<(usize, usize)>,
    /// For a transactional migration: what became of its transaction, as
    /// the server says after the failure.
    pub fate: Option<Fate>,
    /// INVALID indexes in the database after a no-transaction migration
    /// failed (an interrupted concurrent build leaves one).
    pub invalid_indexes: Vec<String>,
    /// Migrations of this run that completed before the failure, in the
    /// order they ran (`version_name`); they stay applied.
    pub completed_before: Vec<String>,
    /// When it could not get a lock in time: its attempts and what it
    /// waited for.
    pub lock: Option<LockReport>,
}

/// A migration (or a statement of a no-transaction migration) that could
/// not get a lock within its lock schedule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockReport {
    /// How many attempts it made.
    pub attempts: u32,
    /// Milliseconds from the first attempt's start to the last one's end.
    pub elapsed_ms: u128,
    /// The schedule, described (`lock_timeout 100 ms doubling to 1 s,
    /// retried for up to 60 s`).
    pub schedule: String,
    /// The lock it waited for and who held it, as last seen (none when no
    /// wait was seen: the first attempt is not watched).
    pub waited_for: Option<String>,
    /// The statement ran outside a transaction, and the run cancelled it
    /// (its own lock timeout there), rather than the server.
    pub cancelled: bool,
}

/// What became of a failed migration's transaction, read back from the
/// server (`txid_status`), not assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Rolled back with its ledger row: the database is as it was.
    RolledBack,
    /// The script ended the transaction itself: what ran before that
    /// committed without the ledger row.
    ScriptCommitted,
    /// Could not be told (the connection was lost and no new one answered).
    Unknown,
}

impl std::fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write(f, &Library)
    }
}

impl MigrationFailure {
    /// The failure's text, its knobs spelled by `spelling`.
    pub fn render(&self, spelling: &dyn Spelling) -> String {
        let mut text = String::new();
        let _ = self.write(&mut text, spelling);
        text
    }

    fn write(&self, f: &mut dyn std::fmt::Write, spelling: &dyn Spelling) -> std::fmt::Result {
        let verb = match self.direction {
            Direction::Up => "applying",
            Direction::Down => "reverting",
        };
        write!(f, "{verb} migration {}_{} failed", self.version, self.name)?;
        match self.line_col {
            Some((l, c)) => write!(f, " at {}:{l}:{c}", self.file)?,
            None => write!(f, " in {}", self.file)?,
        }
        write!(f, ": {} (SQLSTATE {})", self.message, self.code)?;
        if let Some(d) = &self.detail {
            write!(f, "\nDETAIL: {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\nHINT: {h}")?;
        }
        if let Some(lock) = &self.lock {
            let how = if lock.cancelled {
                "cancelled by this run after its lock_timeout"
            } else {
                "timed out"
            };
            write!(
                f,
                "\nIt could not get its lock: {} attempt(s) in {}, each {how} ({}); ",
                lock.attempts,
                super::retry::human(std::time::Duration::from_millis(
                    u64::try_from(lock.elapsed_ms).unwrap_or(u64::MAX)
                )),
                lock.schedule
            )?;
            match &lock.waited_for {
                Some(w) => write!(f, "it waited for {w}.")?,
                None => write!(f, "what it waited for was not seen.")?,
            }
            write!(
                f,
                " End or wait for the transaction that holds the lock, then run again, or allow more time with {}.",
                spelling.knob(Knob::LockBudget)
            )?;
        }
        match (self.partial, self.fate) {
            (Some((done, total)), _) => write!(
                f,
                "\nThis migration runs outside a transaction: {done} of {total} statement(s) took effect and stay. \
                 `wdh-migrate status` shows it as failed. Repair: fix the file if needed, then run the same command \
                 with {} (it resumes at statement {}; the ones before are not run again).",
                spelling.knob(Knob::RetryFailed),
                done + 1
            )?,
            (None, Some(Fate::ScriptCommitted)) => write!(
                f,
                "\nThe script ended the migration's transaction itself: the statements before that point COMMITTED \
                 without the ledger row; the rest was rolled back. It is recorded as failed (partial) and \
                 `wdh-migrate status` shows it. Repair: undo or finish its changes by hand, remove the transaction \
                 control from the file, then run the same command with {}.",
                spelling.knob(Knob::RetryFailed)
            )?,
            (None, Some(Fate::Unknown)) => write!(
                f,
                "\nWhether its changes were rolled back could not be verified: the connection to the server was lost \
                 and no new one could ask. Check the database and `wdh-migrate status` before running again."
            )?,
            (None, _) => write!(f, "\nIts changes and its ledger row were rolled back (the server confirms it); the database is as it was before this migration.")?,
        }
        if !self.invalid_indexes.is_empty() {
            write!(
                f,
                "\nINVALID index(es) in the database: {}. A concurrent index build that fails or is interrupted leaves one; \
                 {} drops the one the resumed statement builds and builds it again.",
                self.invalid_indexes.join(", "),
                spelling.knob(Knob::RetryFailed)
            )?;
        }
        // A count and a range, not every name: the message stays short
        // whatever the set's size (the field keeps the whole list).
        match self.completed_before.as_slice() {
            [] => {}
            [one] => write!(f, "\n1 migration of this run completed before it: {one}.")?,
            [first, .., last] => write!(
                f,
                "\n{} migrations of this run completed before it: {first} … {last}.",
                self.completed_before.len()
            )?,
        }
        Ok(())
    }
}

/// Why a run failed. Messages name the database and say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No host of the target could be used: each was tried in order
    /// (every login bounded by the connect timeout), and this is why each
    /// was not used.
    #[error("could not connect to {target}: {}", render_failures(.failures))]
    Connect {
        /// The target, password redacted.
        target: String,
        /// Each host tried, and why it was not used.
        failures: Vec<super::connect::HostFailure>,
    },
    /// A writing command reached a hot standby or a read-only session;
    /// nothing was sent to it but the read of its live facts.
    #[error(
        "database `{database}` on {host}: {reason}, so it cannot {operation}; nothing was sent \
         to it. A primary is needed: name the primary's host, or list every host and add \
         target_session_attrs=read-write to the connection string"
    )]
    ReadOnly {
        /// The database.
        database: String,
        /// The host reached.
        host: String,
        /// Standby or read-only session, and why it says so.
        reason: String,
        /// What would have been written (`upgrade`, `downgrade`, `mark`,
        /// `create the ledger`).
        operation: String,
    },
    /// The connection went silent during wdh-migrate's own statements.
    #[error(
        "database `{database}`: the server at {host} sent no answer for {:.1} s while {action}; \
         the connection was given up (a network fault, a stalled proxy or pooler, or an \
         overloaded server). Check the database (`wdh-migrate status`) before running again",
        *.waited_ms as f64 / 1000.0
    )]
    Silent {
        /// The database.
        database: String,
        /// The host, as messages name it.
        host: String,
        /// What was being done.
        action: String,
        /// How long the round trip waited.
        waited_ms: u64,
    },
    /// The connection went silent while a migration ran: whether it took
    /// effect is unknown.
    #[error(
        "database `{database}`: the server at {host} sent no answer for {:.1} s while migration \
         {migration} ({direction}) ran{}; the connection was given up. Its outcome is UNKNOWN: \
         it may have committed on the server. Run `wdh-migrate status` before anything else: it \
         shows whether {migration} is applied (and the run lock, whose lease expires by itself){}",
        *.waited_ms as f64 / 1000.0,
        if *.bounded { ", longer than its statement timeout allows" } else { "" },
        completed(.completed_before)
    )]
    OutcomeUnknown {
        /// The database.
        database: String,
        /// The host, as messages name it.
        host: String,
        /// `version_name`.
        migration: String,
        /// Up or down.
        direction: Direction,
        /// How long the message waited.
        waited_ms: u64,
        /// Whether the wait was bounded by the statement timeout (else the
        /// operating system ended a dead connection).
        bounded: bool,
        /// Migrations of this run that completed before it.
        completed_before: Vec<String>,
    },
    /// The target's TLS files cannot be used; no connection was made.
    #[error("could not connect to {target}")]
    Tls {
        /// The target, password redacted.
        target: String,
        /// Which file, what is wrong with it, and what to do.
        #[source]
        source: Box<crate::tls::TlsError>,
    },
    /// The connected database is not the one the target names.
    #[error(
        "the connection reached database `{connected}`, but the target names `{claimed}`; stopping before any statement. \
         Check the connection string (a dbname parameter, a service file or a pooler alias can redirect it)"
    )]
    DatabaseMismatch {
        /// What the target names.
        claimed: String,
        /// What `current_database()` says.
        connected: String,
    },
    /// The guard refused.
    #[error("{}", self.render(&Library))]
    Blocked(Box<Refusal>),
    /// The override was given wrongly.
    #[error("{}", self.render(&Library))]
    Guard(guard::GuardError),
    /// The plan could not be made (drift, missing, out of order, irreversible, bad target).
    #[error("{}", self.render(&Library))]
    Plan {
        /// The database.
        database: String,
        /// Why (its text is this error's message, so it is not also a `source`).
        error: PlanError,
    },
    /// On a protected database, pending migrations hold error-level lint
    /// findings that their files do not acknowledge; nothing ran.
    #[error("{}", self.render(&Library))]
    Lint {
        /// The database.
        database: String,
        /// Why it is protected.
        reason: String,
        /// The findings.
        findings: Vec<crate::lint::Finding>,
    },
    /// Another run holds the lock.
    #[error(
        "another wdh-migrate run holds the migration lock on database `{database}`{}; waited {waited_ms} ms. \
         Wait for it to finish; a run that was killed frees it when its lease expires \
         (`wdh-migrate status` shows the holder and its last heartbeat)",
        .holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Locked {
        /// The database.
        database: String,
        /// Who holds it and its last heartbeat, as the lock row says.
        holder: Option<String>,
        /// How long this run waited.
        waited_ms: u128,
    },
    /// The role cannot read the ledger.
    #[error("database `{database}`: role `{role}` cannot read the ledger: {grant} (run it as the ledger's owner)")]
    LedgerPermission {
        /// The database.
        database: String,
        /// The role.
        role: String,
        /// The statement that grants what is missing.
        grant: String,
    },
    /// A migration is recorded as failed and was not repaired: a
    /// no-transaction one that failed part way, or a transactional one that
    /// committed part of itself.
    #[error("{}", self.render(&Library))]
    FailedEarlier {
        /// The database.
        database: String,
        /// The failed migrations.
        failed: Vec<FailedRow>,
    },
    /// A migration failed.
    #[error("{}", self.render(&Library))]
    Migration {
        /// The database.
        database: String,
        /// What failed.
        failure: Box<MigrationFailure>,
    },
    /// A destructive step's snapshot could not be written; nothing ran.
    #[error("database `{database}`: the snapshot of what this run destroys could not be written, so nothing ran")]
    Snapshot {
        /// The database.
        database: String,
        /// Why.
        #[source]
        error: crate::snapshot::SnapshotError,
    },
    /// A destructive run on a protected database was asked to run without
    /// a snapshot, without the override; nothing ran.
    #[error("database `{database}` is protected ({reason}): running without a snapshot needs the override too; nothing ran")]
    SnapshotRequired {
        /// The database.
        database: String,
        /// Why it is protected.
        reason: String,
    },
    /// The ledger was written by a newer release.
    #[error("database `{database}`: its ledger has format {format}, newer than this release understands ({}); upgrade wdh-migrate", ledger::FORMAT)]
    LedgerTooNew {
        /// The database.
        database: String,
        /// The format found.
        format: i32,
    },
    /// Another tool's ledger could not be adopted; nothing was written.
    #[error("database `{database}`: {error}")]
    Adopt {
        /// The database.
        database: String,
        /// Why (its text, causes included, is this error's message, so it
        /// is not also a `source`).
        error: crate::adopt::AdoptError,
    },
    /// `baseline` on a database whose ledger records migrations.
    #[error(
        "database `{database}`: its ledger already records {recorded} migration(s){}; baseline is for a database \
         with no ledger rows (built by hand or restored from a dump). Use `upgrade` to apply what is pending, or \
         `adopt` to take over another tool's ledger",
        .newest.as_ref().map(|n| format!(" (newest {n})")).unwrap_or_default()
    )]
    BaselineNotEmpty {
        /// The database.
        database: String,
        /// How many rows (applied and failed) it records.
        recorded: usize,
        /// The newest applied migration of the set, if any.
        newest: Option<String>,
    },
    /// Any other database error.
    #[error("database `{database}`: {action} failed")]
    Database {
        /// The database.
        database: String,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: postgres::Error,
    },
}

/// A wait in milliseconds, for a message.
pub(super) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What of a run completed before a step whose outcome is unknown.
fn completed(before: &[String]) -> String {
    match before {
        [] => String::new(),
        [one] => format!(". 1 migration of this run completed before it: {one}"),
        [first, .., last] => format!(
            ". {} migrations of this run completed before it: {first} … {last}",
            before.len()
        ),
    }
}

/// `host: reason` for each host, on one line when there is one.
fn render_failures(failures: &[super::connect::HostFailure]) -> String {
    match failures {
        [one] => format!("{}: {}", one.host, one.reason),
        many => {
            let mut text = format!("no host could be used (tried {}):", many.len());
            for f in many {
                text.push_str(&format!("\n  {}: {}", f.host, f.reason));
            }
            text
        }
    }
}

impl From<guard::GuardError> for RunError {
    fn from(e: guard::GuardError) -> Self {
        RunError::Guard(e)
    }
}

impl RunError {
    /// The error's text, the settings it points to spelled by `spelling`
    /// (`Display` uses the library's own names).
    pub fn render(&self, spelling: &dyn Spelling) -> String {
        match self {
            RunError::Blocked(refusal) => refusal.render(spelling),
            RunError::Guard(e) => e.render(spelling),
            RunError::Plan { database, error } => {
                format!("database `{database}`: {}", error.render(spelling))
            }
            RunError::Migration { database, failure } => {
                format!("database `{database}`: {}", failure.render(spelling))
            }
            RunError::Lint {
                database,
                reason,
                findings,
            } => {
                let listed: Vec<String> = findings
                    .iter()
                    .map(|f| format!("\n  {}", f.headline(std::path::Path::new(""))))
                    .collect();
                format!(
                    "database `{database}` is protected ({reason}), and the pending migrations hold {} error-level lint finding(s) that their files do not acknowledge; nothing ran:{}\n\
                     Make each safe the way its help says (`wdh-migrate lint` shows them with the target's table sizes), \
                     or, where it is meant, acknowledge it in its file with `-- wdh:allow <rule> <reason>` among the first comment lines.",
                    findings.len(),
                    listed.join("")
                )
            }
            RunError::FailedEarlier { database, failed } => format!(
                "database `{database}`: {} failed earlier and is recorded as failed: {}",
                failed
                    .iter()
                    .map(|f| format!("{}_{} ({})", f.version, f.name, f.direction))
                    .collect::<Vec<_>>()
                    .join(", "),
                failed
                    .iter()
                    .map(|f| format!("{}. {}", f.error, repair_steps(f, spelling)))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            RunError::Snapshot { database, .. } => format!(
                "database `{database}`: the snapshot of what this run destroys could not be written, so nothing ran. \
                 Make it possible (the directory writable, a pg_dump of the server's version or later installed), \
                 choose another directory with {}, or run without one with {}",
                spelling.knob(Knob::SnapshotDir),
                spelling.knob(Knob::NoSnapshot)
            ) + " (with the override, on a protected database)",
            RunError::SnapshotRequired { database, reason } => format!(
                "database `{database}` is protected ({reason}): {} on it needs the override too; nothing ran",
                spelling.knob(Knob::NoSnapshot)
            ),
            other => other.to_string(),
        }
    }

    /// [`RunError::render`] and then each cause, once, on its own
    /// `caused by:` line: the whole story, for a terminal or an audit row.
    pub fn report(&self, spelling: &dyn Spelling) -> String {
        let causes = crate::causes::causes(std::error::Error::source(self), "\n  caused by: ");
        self.render(spelling) + &causes
    }

    pub(super) fn db(database: &str, action: &'static str) -> impl FnOnce(CallError) -> RunError {
        let database = database.to_string();
        move |error| match error {
            CallError::Db(source) => RunError::Database {
                database,
                action,
                source,
            },
            CallError::Silent(s) => RunError::Silent {
                database,
                host: s.host,
                action: action.to_string(),
                waited_ms: millis(s.waited),
            },
        }
    }
}
