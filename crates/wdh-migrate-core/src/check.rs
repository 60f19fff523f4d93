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
//! The caller supplies the throw-away database's target: this module never
//! decides where to run, and the CLI never hands it the configured target.

use postgres::Client;

use crate::migrations::{Down, MigrationSet};
use crate::plan::{DowngradeTo, UpgradeTo};
use crate::runner::{RunError, RunOptions, Runner};
use crate::schema::{self, Change};
use crate::spelling::Spelling;
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
    /// The runner could not connect to the throw-away database.
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
    let mut capture_client: Client = target
        .connector()
        .unwrap_or_else(crate::tls::Connector::broken)
        .connect(target.config())
        .map_err(db_err)?;
    // The starting point: whatever a fresh database holds (the public
    // schema), and what the server's databases share.
    let mut before = State::capture(&mut capture_client).map_err(db_err)?;
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
    for m in &set.migrations {
        let label = format!("{}_{}", m.version, m.name);
        match &m.down {
            Down::Missing => report.missing_down.push(label.clone()),
            Down::Irreversible(_) => report.irreversible.push(label.clone()),
            Down::Script(_) => {}
        }
        let outcome = (|| -> Result<Outcome, (String, String)> {
            step(
                runner.upgrade_on(&mut session, set, &UpgradeTo::Steps(1), &mut |_| {}),
                "up",
            )?;
            let after_up = State::capture(&mut capture_client)
                .map_err(|e| ("capture".to_string(), e.to_string()))?;
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
            step(
                runner.downgrade_on(&mut session, set, &DowngradeTo::Steps(1), &mut |_| {}),
                "down",
            )?;
            let after_down = State::capture(&mut capture_client)
                .map_err(|e| ("capture".to_string(), e.to_string()))?;
            let changes = before.diff(&after_down);
            if !changes.is_empty() {
                let diff = schema::render(&changes);
                return Ok(Outcome::NotInverse { changes, diff });
            }
            step(
                runner.upgrade_on(&mut session, set, &UpgradeTo::Steps(1), &mut |_| {}),
                "up again",
            )?;
            before = after_up;
            Ok(Outcome::Inverse)
        })()
        .unwrap_or_else(|(step, error)| Outcome::Failed { step, error });
        let entry = MigrationCheck {
            version: m.version.to_string(),
            name: m.name.clone(),
            outcome,
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
    report.objects_at_head = before.schema.len();
    // Captured again: a failed step leaves whatever it changed.
    let globals_at_end = schema::capture_globals(&mut capture_client).map_err(db_err)?;
    report.global_changes = schema::diff_globals(&globals_at_start, &globals_at_end);
    report.global_diff = schema::render(&report.global_changes);
    Ok(report)
}

/// What one capture holds: the database's schema and the server's shared
/// objects.
struct State {
    schema: schema::Snapshot,
    globals: schema::Globals,
}

impl State {
    fn capture(client: &mut Client) -> Result<State, postgres::Error> {
        Ok(State {
            schema: schema::capture(client, EXCLUDE)?,
            globals: schema::capture_globals(client)?,
        })
    }

    /// The schema's changes, then the shared objects'.
    fn diff(&self, after: &State) -> Vec<Change> {
        let mut changes = schema::diff(&self.schema, &after.schema);
        changes.extend(schema::diff_globals(&self.globals, &after.globals));
        changes
    }
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
