//! `upgrade`, `downgrade`, `status` and `check`: the library's runner on an
//! explicit URL. Nothing here reads `DATABASE_URL`, `WDH_DATABASE_URL` or
//! any setting that names a database, and nothing falls back to a
//! configuration file: the URL given is the database touched. The one
//! variable read is the guard's override, `WDH_ALLOW_PRODUCTION_DOWNGRADE`
//! (as the CLI reads it), and only by `downgrade`, together with
//! `confirm_database`.
//!
//! Every argument is checked before any work, in the CLI's order: a bad
//! target version, duration or URL is a `ConfigError` before anything is
//! read or contacted; a downgrade's claim is judged before the migrations
//! folder is read or a connection opened.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pyo3::prelude::*;
use wdh_migrate::Exit;
use wdh_migrate_core::check::{self as core_check, Outcome};
use wdh_migrate_core::guard::Override;
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{downgrade_operation, Event, LockSchedule, RunOptions, Runner};
use wdh_migrate_core::target::{server_secrets, Secrets, Source, Target};
use wdh_testdb::{TestCluster, TestServer};

use wdh_migrate_core::snapshot::{SnapshotMode, SnapshotOptions};

use crate::errors::Failure;
use crate::results::{CheckResult, RunResult, Status};
use crate::spelling::Kwargs;

/// The variable that carries the guard's override: the only one read.
const OVERRIDE_VARIABLE: &str = "WDH_ALLOW_PRODUCTION_DOWNGRADE";

/// Applies pending migrations of `migrations` to the database `url` names,
/// up to `to` (`"head"`, a version, or `"+N"`).
#[pyfunction]
#[pyo3(signature = (
    url, *, migrations = PathBuf::from("migrations"), to = "head", allow_drift = false,
    allow_out_of_order = false, retry_failed = false, lock_wait = None, lock_timeout = None,
    lock_budget = None, statement_timeout = None, snapshot = None, snapshot_dir = None,
))]
#[allow(clippy::too_many_arguments)]
pub fn upgrade(
    py: Python<'_>,
    url: &str,
    migrations: PathBuf,
    to: &str,
    allow_drift: bool,
    allow_out_of_order: bool,
    retry_failed: bool,
    lock_wait: Option<f64>,
    lock_timeout: Option<LockTimeoutArg>,
    lock_budget: Option<f64>,
    statement_timeout: Option<f64>,
    snapshot: Option<bool>,
    snapshot_dir: Option<PathBuf>,
) -> PyResult<RunResult> {
    let prepared = (|| {
        let to: UpgradeTo = to.parse().map_err(Failure::Config)?;
        let mut options = run_options(lock_wait, lock_timeout, lock_budget, statement_timeout)?;
        options.snapshot = snapshot_options(snapshot, snapshot_dir);
        options.allow.drift = allow_drift;
        options.allow.out_of_order = allow_out_of_order;
        options.retry_failed = retry_failed;
        Ok((to, options, target(url)?))
    })();
    let (to, options, target) = prepared.map_err(|f: Failure| f.into_pyerr(py))?;
    let outcome = py.detach(|| {
        let set = load(&migrations)?;
        let runner = Runner::new(&target, options).with_spelling(&Kwargs);
        let mut events = Events::default();
        runner
            .upgrade(&set, &to, &mut |e| events.on(e))
            .map(|report| (report, events.0, set.ignored_notes(&migrations)))
            .map_err(|e| Failure::run(e, target.secrets()))
    });
    finish_run(py, outcome)
}

/// Reverts applied migrations of the database `url` names down to `to`
/// (`"base"`, a version that stays applied, or `"-N"`). Guarded: a
/// database whose name does not mark it safe is refused before connecting,
/// unless `WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING` is set
/// and `confirm_database` names it.
#[pyfunction]
#[pyo3(signature = (
    url, to, *, migrations = PathBuf::from("migrations"), confirm_database = None,
    allow_drift = false, retry_failed = false, lock_wait = None, lock_timeout = None,
    lock_budget = None, statement_timeout = None, snapshot = None, snapshot_dir = None,
))]
#[allow(clippy::too_many_arguments)]
pub fn downgrade(
    py: Python<'_>,
    url: &str,
    to: &str,
    migrations: PathBuf,
    confirm_database: Option<String>,
    allow_drift: bool,
    retry_failed: bool,
    lock_wait: Option<f64>,
    lock_timeout: Option<LockTimeoutArg>,
    lock_budget: Option<f64>,
    statement_timeout: Option<f64>,
    snapshot: Option<bool>,
    snapshot_dir: Option<PathBuf>,
) -> PyResult<RunResult> {
    let prepared = (|| {
        let to: DowngradeTo = to.parse().map_err(Failure::Config)?;
        let mut options = run_options(lock_wait, lock_timeout, lock_budget, statement_timeout)?;
        options.snapshot = snapshot_options(snapshot, snapshot_dir);
        options.allow.drift = allow_drift;
        options.retry_failed = retry_failed;
        let target = target(url)?;
        options.override_ = Override {
            allow_variable: override_variable()?,
            confirm_database,
        };
        Ok((to, options, target))
    })();
    let (to, options, target) = prepared.map_err(|f: Failure| f.into_pyerr(py))?;
    let outcome = py.detach(|| {
        let runner = Runner::new(&target, options).with_spelling(&Kwargs);
        let run = |e| Failure::run(e, target.secrets());
        // The claim first: before any file is read or connection opened.
        runner.judge_claim(&downgrade_operation(&to)).map_err(run)?;
        let set = load(&migrations)?;
        let mut events = Events::default();
        runner
            .downgrade(&set, &to, &mut |e| events.on(e))
            .map(|report| (report, events.0, set.ignored_notes(&migrations)))
            .map_err(run)
    });
    finish_run(py, outcome)
}

/// The state of every migration of `migrations` on the database `url`
/// names. Reads only.
#[pyfunction]
#[pyo3(signature = (url, *, migrations = PathBuf::from("migrations")))]
pub fn status(py: Python<'_>, url: &str, migrations: PathBuf) -> PyResult<Status> {
    let target = target(url).map_err(|f| f.into_pyerr(py))?;
    py.detach(|| {
        let set = load(&migrations)?;
        Runner::new(&target, run_options(None, None, None, None)?)
            .with_spelling(&Kwargs)
            .status(&set)
            .map(|s| Status::from_status(&s, target.secrets()))
            .map_err(|e| Failure::run(e, target.secrets()))
    })
    .map_err(|f| f.into_pyerr(py))
}

/// Checks on a throw-away database that every down.sql of `migrations`
/// exactly reverses its up.sql: a private cluster started for the check,
/// or a `wdh_test_` database made for it on the server `admin_url` names
/// (then the migrations must also leave the roles, settings and databases
/// every database of that server shares as they were). Never runs on an
/// application's database.
#[pyfunction]
#[pyo3(signature = (*, migrations = PathBuf::from("migrations"), admin_url = None))]
pub fn check(
    py: Python<'_>,
    migrations: PathBuf,
    admin_url: Option<String>,
) -> PyResult<CheckResult> {
    let secrets = match &admin_url {
        Some(url) => {
            server_secrets(url, Source::AdminUrl).map_err(|e| Failure::config(&e).into_pyerr(py))?
        }
        None => Secrets::default(),
    };
    let outcome = py.detach(|| run_check(&migrations, admin_url.as_deref(), &secrets));
    let warnings = match &outcome {
        Ok(result) => result.warnings.clone(),
        Err(Failure::Check { report, .. }) => report.warnings.clone(),
        Err(_) => Vec::new(),
    };
    let logger = py
        .import("logging")?
        .call_method1("getLogger", ("wdh_migrate",))?;
    for warning in &warnings {
        logger.call_method1("warning", ("%s", warning))?;
    }
    outcome.map_err(|f| f.into_pyerr(py))
}

fn run_check(
    migrations: &Path,
    admin_url: Option<&str>,
    secrets: &Secrets,
) -> Result<CheckResult, Failure> {
    let set = load(migrations)?;
    let harness = |e: wdh_testdb::Error| Failure::Database {
        message: secrets.scrub(&e.report()),
        database: None,
    };
    // The cluster (if any) outlives the database: declared first, dropped last.
    let cluster;
    let server = match admin_url {
        Some(url) => TestServer::from_admin_url(url).map_err(harness)?,
        None => {
            cluster = TestCluster::start().map_err(harness)?;
            cluster.server().clone()
        }
    };
    let database = server.create_database().map_err(harness)?;
    let target =
        Target::parse(&database.url(), Source::Explicit).map_err(|e| Failure::config(&e))?;
    let report =
        core_check::run(&target, &set, &Kwargs, &mut |_| {}).map_err(|e| Failure::Database {
            message: secrets.scrub(&target.scrub(&wdh_migrate_core::causes::describe(&e))),
            database: Some(database.name().to_string()),
        })?;
    drop(database);
    let result = CheckResult::from_report(&report, secrets);
    let fail = |exit, message: String| Failure::Check {
        exit,
        message: secrets.scrub(&message),
        report: Box::new(result.clone()),
    };
    match report.first_problem() {
        Some(m) => {
            let label = format!("{}_{}", m.version, m.name);
            Err(match &m.outcome {
                Outcome::NotInverse { diff, .. } => fail(
                    Exit::Checks,
                    format!(
                        "check failed: the down.sql of {label} does not restore the schema its up.sql \
                         changed:\n{}",
                        indent(diff)
                    ),
                ),
                Outcome::Failed { step, error } => fail(
                    Exit::Failed,
                    format!("check failed: {label} did not run ({step}):\n{}", indent(error)),
                ),
                _ => fail(Exit::Failed, format!("check failed at {label}")),
            })
        }
        None if admin_url.is_some() && !report.global_changes.is_empty() => Err(fail(
            Exit::Checks,
            format!(
                "check failed: the migrations changed roles, settings or databases that every \
                 database of this shared server shares; make them leave those as they were, or \
                 check them on a private cluster (`check()` without `admin_url`):\n{}",
                indent(&report.global_diff)
            ),
        )),
        None => Ok(result),
    }
}

/// What a run collected to say besides its result.
#[derive(Default)]
struct Events(Vec<String>);

impl Events {
    fn on(&mut self, event: Event<'_>) {
        match event {
            Event::Override(text) | Event::Safe(text) | Event::Warning(text) => {
                self.0.push(text.to_string())
            }
            Event::Preview(preview) => {
                for line in preview.plain_lines() {
                    self.0.push(format!("destroys: {line}"));
                }
            }
            Event::Snapshot(path) => self.0.push(format!("snapshot: {}", path.display())),
            // Said as the CLI says it (`lock: …`).
            retry @ Event::Retrying { .. } => {
                if let Some(text) = retry.retry_text() {
                    self.0.push(format!("lock: {text}"));
                }
            }
            _ => {}
        }
    }
}

trait IgnoredNotes {
    fn ignored_notes(&self, dir: &Path) -> Vec<String>;
}

impl IgnoredNotes for MigrationSet {
    /// `ignoring <file> (<why>)`, as the CLI notes it, for each file that is not a migration.
    fn ignored_notes(&self, dir: &Path) -> Vec<String> {
        self.ignored
            .iter()
            .map(|i| format!("ignoring {} ({})", dir.join(&i.path).display(), i.reason))
            .collect()
    }
}

type RunOutcome = Result<
    (
        wdh_migrate_core::runner::RunReport,
        Vec<String>,
        Vec<String>,
    ),
    Failure,
>;

/// The result, its warnings logged on the `wdh_migrate` logger (and the
/// files that are not migrations, at INFO).
fn finish_run(py: Python<'_>, outcome: RunOutcome) -> PyResult<RunResult> {
    let (report, warnings, notes) = outcome.map_err(|f| f.into_pyerr(py))?;
    let logger = py
        .import("logging")?
        .call_method1("getLogger", ("wdh_migrate",))?;
    for note in &notes {
        logger.call_method1("info", ("%s", note))?;
    }
    for warning in &warnings {
        logger.call_method1("warning", ("%s", warning))?;
    }
    Ok(RunResult::from_report(&report, warnings))
}

fn target(url: &str) -> Result<Target, Failure> {
    Target::parse(url, Source::Explicit).map_err(|e| Failure::config(&e))
}

fn load(dir: &Path) -> Result<MigrationSet, Failure> {
    MigrationSet::load(dir).map_err(|e| Failure::config(&e))
}

/// The override's variable, read now, as the CLI reads it: one that is not
/// valid UTF-8 is an error, not "unset".
fn override_variable() -> Result<Option<String>, Failure> {
    match std::env::var_os(OVERRIDE_VARIABLE) {
        None => Ok(None),
        Some(v) => v.into_string().map(Some).map_err(|_| {
            Failure::Config(format!(
                "{OVERRIDE_VARIABLE} is set but is not valid UTF-8; fix or unset it"
            ))
        }),
    }
}

/// `lock_timeout`: seconds for every attempt, or `(first, max)` seconds,
/// doubling from the first attempt's to the longest; 0 for the server's
/// `lock_timeout` and no retries.
#[derive(Debug, Clone, Copy, FromPyObject)]
pub enum LockTimeoutArg {
    /// One `lock_timeout` for every attempt (0: the server's).
    Each(f64),
    /// The first attempt's, doubling to the longest.
    Range(f64, f64),
}

fn run_options(
    lock_wait: Option<f64>,
    lock_timeout: Option<LockTimeoutArg>,
    lock_budget: Option<f64>,
    statement_timeout: Option<f64>,
) -> Result<RunOptions, Failure> {
    let defaults = RunOptions::default();
    let default_schedule = LockSchedule::DEFAULT;
    let timeouts = match lock_timeout {
        None => Some((default_schedule.first, default_schedule.max)),
        Some(LockTimeoutArg::Each(0.0)) => None,
        Some(LockTimeoutArg::Each(s)) => {
            let d = required("lock_timeout", s)?;
            Some((d, d))
        }
        Some(LockTimeoutArg::Range(first, max)) => {
            let (first, max) = (
                required("lock_timeout", first)?,
                required("lock_timeout", max)?,
            );
            if first > max {
                return Err(Failure::Config(format!(
                    "lock_timeout=({}, {}) runs backwards: give the first attempt's lock_timeout \
                     first, e.g. (0.1, 1.0)",
                    first.as_secs_f64(),
                    max.as_secs_f64()
                )));
            }
            Some((first, max))
        }
    };
    let budget = match lock_budget {
        None => default_schedule.budget,
        Some(0.0) => Duration::ZERO,
        Some(s) => required("lock_budget", s)?,
    };
    Ok(RunOptions {
        lock_wait: seconds("lock_wait", lock_wait)?.unwrap_or(defaults.lock_wait),
        lock_timeout: timeouts.map(|(first, max)| LockSchedule { first, max, budget }),
        statement_timeout: seconds("statement_timeout", statement_timeout)?,
        client: format!(
            "wdh-migrate {} from Python (process {})",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
        ..defaults
    })
}

/// When a destructive run takes its snapshot (`None`: on a protected
/// database; `True`: always; `False`: never, which a protected database
/// takes only with the override), where it goes (default
/// `./wdh-snapshots`), and the `pg_dump` programs to choose from, found as
/// the CLI finds them (`PG_BINDIR`, `/usr/lib/postgresql/*/bin`, `PATH`).
fn snapshot_options(snapshot: Option<bool>, dir: Option<PathBuf>) -> SnapshotOptions {
    let defaults = SnapshotOptions::default();
    SnapshotOptions {
        mode: match snapshot {
            None => SnapshotMode::Protected,
            Some(true) => SnapshotMode::Always,
            Some(false) => SnapshotMode::Never,
        },
        dir: dir.unwrap_or(defaults.dir),
        pg_dump: wdh_testdb::Locator::from_env().candidates("pg_dump"),
    }
}

fn required(name: &str, secs: f64) -> Result<Duration, Failure> {
    seconds(name, Some(secs))?.ok_or_else(|| Failure::Config(format!("{name} is required")))
}

/// A duration in seconds, as the CLI's durations: at least 1 ms (0 would
/// mean "no limit" to the server) and at most 2^31 - 1 ms.
fn seconds(name: &str, value: Option<f64>) -> Result<Option<Duration>, Failure> {
    let Some(secs) = value else { return Ok(None) };
    let ms = secs * 1000.0;
    if !ms.is_finite() || !(1.0..=f64::from(i32::MAX)).contains(&ms) {
        return Err(Failure::Config(format!(
            "{name}={secs} is out of range: give seconds, at least 0.001 and at most 2147483.647"
        )));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
