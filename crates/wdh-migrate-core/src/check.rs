//! `check`: every migration's `down.sql` must be the exact inverse of its
//! `up.sql`. On a throw-away database, for each migration in order: capture
//! the schema, upgrade one step, capture, downgrade one step, compare with
//! the capture before, and upgrade again. The first migration whose down
//! does not restore the schema is reported with a readable diff.
//!
//! Each capture also reads what every database of the server shares
//! ([`schema::capture_globals`]: roles and whether their password changed,
//! memberships, role and database settings, tablespaces, the other
//! databases, `ALTER SYSTEM` settings), so a down must restore those too;
//! and [`CheckReport::global_changes`] holds what the whole check changed in
//! them, from before the first migration to the end. On a server other
//! databases share, that must be nothing (the CLI fails `check --admin-url`
//! otherwise).
//!
//! The steps run under one run lock ([`Runner::stepping`]) and the
//! captures on a connection of their own ([`CaptureSession`]: settings
//! fixed once, queries prepared once, and each capture reading again only
//! what can have changed since the one before — every capture equals a
//! capture taken from scratch). The diff is computed only where two
//! captures differ.
//!
//! A difference that is only a time literal in an object's definition
//! (a view, a column's default, … created from `now()` through dynamic SQL
//! differs each time it is created: `'2026-12-01 10:00:00+00'` against
//! `'2026-12-01 10:00:01+00'`) is not counted: it is a
//! [`CheckWarning::TimeLiteral`] of the migration where it shows. The two
//! definitions must be the same tokens of PostgreSQL's scanner but for
//! string constants, and every differing constant must read as a date, a
//! time or a timestamp on the server; anything else is a difference.
//!
//! The caller supplies the throw-away database's target: this module never
//! decides where to run, and the CLI never hands it the configured target.

use crate::migrations::{Down, MigrationSet};
use crate::runner::{RunError, RunOptions, Runner};
use crate::schema::{self, CaptureSession, Captured, Change};
use crate::spelling::Spelling;
use crate::sql::{differing_string_constants, quote_literal};
use crate::target::Target;

/// What happened to one migration.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Outcome {
    /// Up, down and up again; the down restored the schema exactly.
    Inverse,
    /// Applied only: the down is a deliberate no-op (empty down.sql).
    NoOpDown,
    /// Applied only: no down.sql, or marked `-- wdh:irreversible`.
    Irreversible {
        /// Why.
        reason: String,
    },
    /// The down did not restore the schema.
    NotInverse {
        /// What differs between before the up and after the down.
        changes: Vec<Change>,
        /// The same, rendered for people.
        diff: String,
    },
    /// A step failed to run.
    Failed {
        /// `up`, `down` or `up again`.
        step: String,
        /// The error.
        error: String,
    },
}

/// Something the check saw and did not count as a difference.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "warning", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CheckWarning {
    /// An object's definition embeds a time literal that differs between
    /// two creations of the object (a view or a default made from the
    /// current time through dynamic SQL): its definitions are the same but
    /// for string constants that read as dates, times or timestamps.
    TimeLiteral {
        /// The object's key, e.g. `view public.recent`.
        key: String,
        /// The differing constants: `[before, after]` each.
        literals: Vec<[String; 2]>,
        /// The warning, for people.
        message: String,
    },
}

impl CheckWarning {
    /// The warning, for people.
    pub fn message(&self) -> &str {
        match self {
            CheckWarning::TimeLiteral { message, .. } => message,
        }
    }
}

/// One migration's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationCheck {
    /// Version.
    pub version: String,
    /// Name.
    pub name: String,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the check saw at this migration and did not count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<CheckWarning>,
}

/// The whole check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// One entry per migration checked, in order; it stops at the first problem.
    pub migrations: Vec<MigrationCheck>,
    /// Migrations without a down.sql.
    pub missing_down: Vec<String>,
    /// Migrations marked irreversible.
    pub irreversible: Vec<String>,
    /// Files in the folder that are not migrations.
    pub ignored: Vec<(String, String)>,
    /// Schema objects captured at head.
    pub objects_at_head: usize,
    /// What the check changed in the objects every database of the server
    /// shares, from before the first migration to after the last step (a
    /// password only ever said to have changed).
    pub global_changes: Vec<Change>,
    /// The same, rendered for people (empty when nothing changed).
    pub global_diff: String,
    /// Shared objects the check's role could not read, with why: their
    /// changes go unseen.
    pub globals_unread: Vec<String>,
}

impl CheckReport {
    /// The first migration that is not an exact inverse or failed to run.
    pub fn first_problem(&self) -> Option<&MigrationCheck> {
        self.migrations.iter().find(|m| {
            matches!(
                m.outcome,
                Outcome::NotInverse { .. } | Outcome::Failed { .. }
            )
        })
    }

    /// Every warning, with the migration it was seen at (`0002_name`).
    pub fn warnings(&self) -> impl Iterator<Item = (String, &CheckWarning)> {
        self.migrations.iter().flat_map(|m| {
            m.warnings
                .iter()
                .map(move |w| (format!("{}_{}", m.version, m.name), w))
        })
    }
}

/// Why a check could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The target is not a throw-away test database.
    #[error(
        "check: refusing to run on {database}: it upgrades and downgrades every migration, \
         so it only runs on a database named `wdh_test_…` made for it"
    )]
    NotATestDatabase {
        /// Its name.
        database: String,
    },
    /// The runner could not connect to the throw-away database, or not
    /// take its run lock.
    #[error("check: could not use the throw-away database {database}")]
    Connect {
        /// Its name.
        database: String,
        /// The cause.
        #[source]
        source: Box<RunError>,
    },
    /// The throw-away database could not be used.
    #[error("check: the throw-away database {database} is unusable")]
    Database {
        /// Its name.
        database: String,
        /// The cause.
        #[source]
        source: postgres::Error,
    },
}

const EXCLUDE: &[&str] = &["wdh_migrate"];

/// Runs the check on `target`, a fresh throw-away database.
pub fn run(
    target: &Target,
    set: &MigrationSet,
    spelling: &dyn Spelling,
    on: &mut dyn FnMut(&MigrationCheck),
) -> Result<CheckReport, CheckError> {
    let database = target.database().to_string();
    if !database.starts_with("wdh_test_") {
        return Err(CheckError::NotATestDatabase { database });
    }
    let db_err = |source| CheckError::Database {
        database: database.clone(),
        source,
    };
    let capture_client = target
        .connector()
        .unwrap_or_else(crate::tls::Connector::broken)
        .connect(target.config())
        .map_err(db_err)?;
    let mut captures = CaptureSession::new(capture_client, EXCLUDE).map_err(db_err)?;
    // The starting point: whatever a fresh database holds (the public
    // schema), and what the server's databases share.
    let mut before = captures.capture().map_err(db_err)?;
    let globals_at_start = before.globals.clone();
    let runner = Runner::new(target, RunOptions::default()).with_spelling(spelling);
    // One session for every step: a connection per step would cost more than the steps.
    let mut session = runner.connect().map_err(|source| CheckError::Connect {
        database: database.clone(),
        source: Box::new(source),
    })?;
    let mut report = CheckReport {
        migrations: Vec::new(),
        missing_down: Vec::new(),
        irreversible: Vec::new(),
        ignored: set
            .ignored
            .iter()
            .map(|i| (i.path.display().to_string(), i.reason.clone()))
            .collect(),
        objects_at_head: 0,
        global_changes: Vec::new(),
        global_diff: String::new(),
        globals_unread: globals_at_start.unread().to_vec(),
    };
    let step = |result: Result<_, RunError>, what: &str| {
        result
            .map(|_| ())
            .map_err(|e| (what.to_string(), target.scrub(&e.report(spelling))))
    };
    let capture_failed = |e: postgres::Error| ("capture".to_string(), e.to_string());
    runner
        .stepping(&mut session, set, |steps| {
            for m in &set.migrations {
                let label = format!("{}_{}", m.version, m.name);
                match &m.down {
                    Down::Missing => report.missing_down.push(label.clone()),
                    Down::Irreversible(_) => report.irreversible.push(label.clone()),
                    Down::Script(_) => {}
                }
                let mut warnings = Vec::new();
                let outcome = (|| -> Result<Outcome, (String, String)> {
                    step(steps.up(&mut |_| {}), "up")?;
                    let after_up = captures.capture().map_err(capture_failed)?;
                    let skip = match &m.down {
                        Down::Missing => Some(Outcome::Irreversible {
                            reason: "no down.sql".into(),
                        }),
                        Down::Irreversible(_) => Some(Outcome::Irreversible {
                            reason: "marked -- wdh:irreversible".into(),
                        }),
                        Down::Script(s) if s.is_empty() => Some(Outcome::NoOpDown),
                        Down::Script(_) => None,
                    };
                    if let Some(outcome) = skip {
                        before = after_up;
                        return Ok(outcome);
                    }
                    step(steps.down(&mut |_| {}), "down")?;
                    let after_down = captures.capture().map_err(capture_failed)?;
                    if after_down != before {
                        let (seen, counted) =
                            compare(&mut captures, &before, &after_down).map_err(capture_failed)?;
                        warnings = seen;
                        if counted {
                            let changes = before.diff(&after_down);
                            let diff = schema::render(&changes);
                            return Ok(Outcome::NotInverse { changes, diff });
                        }
                    }
                    step(steps.up(&mut |_| {}), "up again")?;
                    before = after_up;
                    Ok(Outcome::Inverse)
                })()
                .unwrap_or_else(|(step, error)| Outcome::Failed { step, error });
                let entry = MigrationCheck {
                    version: m.version.to_string(),
                    name: m.name.clone(),
                    outcome,
                    warnings,
                };
                on(&entry);
                let stop = matches!(
                    entry.outcome,
                    Outcome::NotInverse { .. } | Outcome::Failed { .. }
                );
                report.migrations.push(entry);
                if stop {
                    break;
                }
            }
        })
        .map_err(|source| CheckError::Connect {
            database: database.clone(),
            source: Box::new(source),
        })?;
    report.objects_at_head = before.schema.len();
    // Captured again: a failed step leaves whatever it changed.
    let globals_at_end = captures.globals().map_err(db_err)?;
    report.global_changes = schema::diff_globals(&globals_at_start, &globals_at_end);
    report.global_diff = schema::render(&report.global_changes);
    Ok(report)
}

/// Compares two captures that differ: the warnings for the schema objects
/// whose definitions differ only in time literals, and whether anything
/// else differs (then every change counts, those too).
fn compare(
    captures: &mut CaptureSession,
    before: &Captured,
    after: &Captured,
) -> Result<(Vec<CheckWarning>, bool), postgres::Error> {
    let mut warnings = Vec::new();
    let mut counted = !schema::diff_globals(&before.globals, &after.globals).is_empty();
    for change in schema::diff(&before.schema, &after.schema) {
        match time_literal(captures, &change)? {
            Some(warning) => warnings.push(warning),
            None => counted = true,
        }
    }
    Ok((warnings, counted))
}

/// The warning for `change` when it is only time literals that differ.
fn time_literal(
    captures: &mut CaptureSession,
    change: &Change,
) -> Result<Option<CheckWarning>, postgres::Error> {
    let Change::Changed { key, before, after } = change else {
        return Ok(None);
    };
    let literals = match differing_string_constants(before, after) {
        Some(literals) if !literals.is_empty() => literals,
        _ => return Ok(None),
    };
    for (b, a) in &literals {
        if !captures.reads_as_time(b)? || !captures.reads_as_time(a)? {
            return Ok(None);
        }
    }
    let shown = literals
        .iter()
        .map(|(b, a)| format!("{} vs {}", quote_literal(b), quote_literal(a)))
        .collect::<Vec<_>>()
        .join(", ");
    let class = if key.starts_with("materialized view ") {
        "materialized view"
    } else {
        key.split(' ').next().unwrap_or_default()
    };
    let made = match class {
        "view" | "materialized view" => format!("the {class} is created from the current time"),
        _ => "it is created from the current time".to_string(),
    };
    let message = format!(
        "{key}'s definition embeds a time literal that differs between runs ({shown}): {made}, \
         so its re-creation differs; not counted as a difference"
    );
    Ok(Some(CheckWarning::TimeLiteral {
        key: key.clone(),
        literals: literals.into_iter().map(|(b, a)| [b, a]).collect(),
        message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Source;

    #[test]
    fn refuses_a_database_not_made_for_it_before_connecting() {
        // Nothing listens on that socket: reaching it would be a connection error.
        let target = Target::parse(
            "postgresql://app@/orders?host=/nonexistent/socket",
            Source::Explicit,
        )
        .unwrap();
        let set = MigrationSet::from_files(std::path::Path::new("m"), vec![]).unwrap();
        let err = run(&target, &set, &crate::spelling::Library, &mut |_| {}).unwrap_err();
        assert!(matches!(err, CheckError::NotATestDatabase { .. }), "{err}");
        assert!(err.to_string().contains("orders"), "{err}");
    }
}
