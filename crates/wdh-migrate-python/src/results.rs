//! The small typed objects the API returns, built from the library's
//! reports. Frozen: they describe what happened and never change. Every
//! text that can quote the server is scrubbed of the target's secrets.

use pyo3::prelude::*;
use wdh_migrate_core::check::{CheckReport, Outcome};
use wdh_migrate_core::runner::{MigrationFailure as CoreFailure, RunReport, Status as CoreStatus};
use wdh_migrate_core::target::Secrets;

/// One migration that ran: its version, name and how long it took.
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct Step {
    /// The version.
    pub version: String,
    /// The name.
    pub name: String,
    /// How long it took, round trip included, in milliseconds.
    pub duration_ms: f64,
}

#[pymethods]
impl Step {
    fn __repr__(&self) -> String {
        format!(
            "Step(version={}, name={}, duration_ms={:.3})",
            q(&self.version),
            q(&self.name),
            self.duration_ms
        )
    }
}

/// What an upgrade or a downgrade did.
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The database it ran on, as the server names it (`current_database()`).
    pub database: String,
    /// The version before the run (`None`: base, nothing applied).
    pub from_version: Option<String>,
    /// The version after the run (`None`: base).
    pub to_version: Option<String>,
    /// The migrations that ran, in order.
    pub steps: Vec<Step>,
    /// Whether the production guard was overridden.
    pub override_used: bool,
    /// Warnings of the run (an override, drift allowed, …), also logged on
    /// the `wdh_migrate` logger.
    pub warnings: Vec<String>,
    /// What its destructive steps destroyed, a line each
    /// (`0003_archive: drop table business.archive (50 rows)`).
    pub destroyed: Vec<String>,
    /// The snapshot written before them, if any.
    pub snapshot: Option<String>,
}

#[pymethods]
impl RunResult {
    fn __repr__(&self) -> String {
        format!(
            "RunResult(database={}, from_version={}, to_version={}, steps={})",
            q(&self.database),
            py_opt(&self.from_version),
            py_opt(&self.to_version),
            self.steps.len()
        )
    }
}

impl RunResult {
    pub fn from_report(report: &RunReport, warnings: Vec<String>) -> RunResult {
        RunResult {
            database: report.identity.database.clone(),
            from_version: report.from.clone(),
            to_version: report.to.clone(),
            steps: report
                .ran
                .iter()
                .map(|(version, name, ms)| Step {
                    version: version.clone(),
                    name: name.clone(),
                    duration_ms: *ms,
                })
                .collect(),
            override_used: report.override_used,
            warnings,
            destroyed: report
                .preview
                .as_ref()
                .map(|p| p.plain_lines())
                .unwrap_or_default(),
            snapshot: report.snapshot.as_ref().map(|p| p.display().to_string()),
        }
    }
}

/// One migration of the set as the ledger sees it.
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    /// The version.
    pub version: String,
    /// The name.
    pub name: String,
    /// `applied`, `pending`, `drifted`, `failed`, `missing` (applied, no
    /// file) or `out-of-order` (pending, older than the current version).
    pub state: String,
    /// `reversible`, `no-op down`, `irreversible` or `no down.sql`.
    pub down: String,
    /// Whether it runs outside a transaction.
    pub no_transaction: bool,
    /// When it was applied (ISO 8601), if it was.
    pub applied_at: Option<String>,
    /// Details of a failed or drifted migration, with the repair.
    pub note: Option<String>,
}

#[pymethods]
impl MigrationStatus {
    fn __repr__(&self) -> String {
        format!(
            "MigrationStatus(version={}, name={}, state={})",
            q(&self.version),
            q(&self.name),
            q(&self.state)
        )
    }
}

/// The migration state of a database.
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct Status {
    /// The database, as the server names it.
    pub database: String,
    /// The newest applied version (`None`: base).
    pub current: Option<String>,
    /// Every migration of the set, then applied ones missing from it.
    pub migrations: Vec<MigrationStatus>,
    /// Files of the folder that are not migrations: (path, why).
    pub ignored: Vec<(String, String)>,
    /// The database's INVALID indexes (an interrupted concurrent build leaves one).
    pub invalid_indexes: Vec<String>,
}

#[pymethods]
impl Status {
    /// The versions not applied yet, in the order an upgrade applies them.
    #[getter]
    fn pending(&self) -> Vec<String> {
        self.versions_in(&["pending", "out-of-order"])
    }

    /// The applied versions, in version order.
    #[getter]
    fn applied(&self) -> Vec<String> {
        self.versions_in(&["applied", "drifted"])
    }

    fn __repr__(&self) -> String {
        format!(
            "Status(database={}, current={}, migrations={})",
            q(&self.database),
            py_opt(&self.current),
            self.migrations.len()
        )
    }
}

impl Status {
    pub fn from_status(status: &CoreStatus, secrets: &Secrets) -> Status {
        Status {
            database: status.identity.database.clone(),
            current: status.current.clone(),
            migrations: status
                .migrations
                .iter()
                .map(|m| MigrationStatus {
                    version: m.version.clone(),
                    name: m.name.clone(),
                    state: m.state.to_string(),
                    down: m.down.to_string(),
                    no_transaction: m.no_transaction,
                    applied_at: m.applied_at.clone(),
                    note: m.note.as_deref().map(|n| secrets.scrub(n)),
                })
                .collect(),
            ignored: status.ignored.clone(),
            invalid_indexes: status.invalid_indexes.clone(),
        }
    }

    fn versions_in(&self, states: &[&str]) -> Vec<String> {
        self.migrations
            .iter()
            .filter(|m| states.contains(&m.state.as_str()))
            .map(|m| m.version.clone())
            .collect()
    }
}

/// What `check` found for one migration.
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct MigrationCheck {
    /// The version.
    pub version: String,
    /// The name.
    pub name: String,
    /// `inverse`, `no-op-down`, `irreversible`, `not-inverse` or `failed`.
    pub outcome: String,
    /// Why it was only applied (`irreversible`).
    pub reason: Option<String>,
    /// What the down left different (`not-inverse`), rendered for people.
    pub diff: Option<String>,
    /// The step that failed: `up`, `down` or `up again` (`failed`).
    pub step: Option<String>,
    /// The step's error (`failed`).
    pub error: Option<String>,
    /// What the check saw at this migration and did not count as a
    /// difference (a definition made from the current time).
    pub warnings: Vec<String>,
}

#[pymethods]
impl MigrationCheck {
    fn __repr__(&self) -> String {
        format!(
            "MigrationCheck(version={}, name={}, outcome={})",
            q(&self.version),
            q(&self.name),
            q(&self.outcome)
        )
    }
}

/// The whole check.
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// One entry per migration checked, in order; it stops at the first problem.
    pub migrations: Vec<MigrationCheck>,
    /// Migrations without a down.sql.
    pub missing_down: Vec<String>,
    /// Migrations marked irreversible.
    pub irreversible: Vec<String>,
    /// Files of the folder that are not migrations: (path, why).
    pub ignored: Vec<(String, String)>,
    /// Schema objects captured at head.
    pub objects_at_head: usize,
    /// What the migrations changed in the objects every database of the
    /// server shares (roles, settings, databases), rendered; empty when nothing.
    pub global_diff: String,
    /// Shared objects the check's role could not read, with why.
    pub globals_unread: Vec<String>,
    /// What the check saw and did not count as a difference, each with the
    /// migration it was seen at (`0002_name: …`); also logged on the
    /// `wdh_migrate` logger.
    pub warnings: Vec<String>,
}

#[pymethods]
impl CheckResult {
    fn __repr__(&self) -> String {
        format!(
            "CheckResult(migrations={}, objects_at_head={})",
            self.migrations.len(),
            self.objects_at_head
        )
    }
}

impl CheckResult {
    pub fn from_report(report: &CheckReport, secrets: &Secrets) -> CheckResult {
        CheckResult {
            migrations: report
                .migrations
                .iter()
                .map(|m| {
                    let mut c = MigrationCheck {
                        version: m.version.clone(),
                        name: m.name.clone(),
                        outcome: String::new(),
                        reason: None,
                        diff: None,
                        step: None,
                        error: None,
                        warnings: m.warnings.iter().map(|w| w.message().to_string()).collect(),
                    };
                    c.outcome = match &m.outcome {
                        Outcome::Inverse => "inverse",
                        Outcome::NoOpDown => "no-op-down",
                        Outcome::Irreversible { reason } => {
                            c.reason = Some(reason.clone());
                            "irreversible"
                        }
                        Outcome::NotInverse { diff, .. } => {
                            c.diff = Some(diff.clone());
                            "not-inverse"
                        }
                        Outcome::Failed { step, error } => {
                            c.step = Some(step.clone());
                            c.error = Some(secrets.scrub(error));
                            "failed"
                        }
                        _ => "other",
                    }
                    .to_string();
                    c
                })
                .collect(),
            missing_down: report.missing_down.clone(),
            irreversible: report.irreversible.clone(),
            ignored: report.ignored.clone(),
            objects_at_head: report.objects_at_head,
            global_diff: report.global_diff.clone(),
            globals_unread: report.globals_unread.clone(),
            warnings: report
                .warnings()
                .map(|(label, w)| format!("{label}: {}", w.message()))
                .collect(),
        }
    }
}

/// A migration that failed, with everything the server said (the
/// `failure` of a `MigrationFailed`).
#[pyclass(frozen, get_all, module = "wdh_migrate")]
#[derive(Debug, Clone)]
pub struct MigrationFailure {
    /// The version.
    pub version: String,
    /// The name.
    pub name: String,
    /// The file that failed.
    pub file: String,
    /// `up` or `down`.
    pub direction: String,
    /// The line in the file, where the server gave a position.
    pub line: Option<usize>,
    /// The column in that line.
    pub column: Option<usize>,
    /// The SQLSTATE.
    pub sqlstate: String,
    /// The server's message.
    pub message: String,
    /// The server's DETAIL.
    pub detail: Option<String>,
    /// The server's HINT.
    pub hint: Option<String>,
    /// Migrations of this run that completed before it (they stay applied).
    pub completed_before: Vec<String>,
}

#[pymethods]
impl MigrationFailure {
    fn __repr__(&self) -> String {
        format!(
            "MigrationFailure(version={}, name={}, direction={}, sqlstate={})",
            q(&self.version),
            q(&self.name),
            q(&self.direction),
            q(&self.sqlstate)
        )
    }
}

impl MigrationFailure {
    pub fn from_failure(f: &CoreFailure, secrets: &Secrets) -> MigrationFailure {
        MigrationFailure {
            version: f.version.clone(),
            name: f.name.clone(),
            file: f.file.clone(),
            direction: f.direction.to_string(),
            line: f.line_col.map(|(l, _)| l),
            column: f.line_col.map(|(_, c)| c),
            sqlstate: f.code.clone(),
            message: secrets.scrub(&f.message),
            detail: f.detail.as_deref().map(|d| secrets.scrub(d)),
            hint: f.hint.as_deref().map(|h| secrets.scrub(h)),
            completed_before: f.completed_before.clone(),
        }
    }
}

/// `None` or a quoted string, as Python's `repr` shows them.
fn py_opt(v: &Option<String>) -> String {
    match v {
        Some(s) => q(s),
        None => "None".into(),
    }
}

/// A string as Python's `repr` shows it.
fn q(s: &str) -> String {
    crate::spelling::python_str(s)
}
