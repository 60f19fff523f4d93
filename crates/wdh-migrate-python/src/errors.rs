//! The exceptions, and how a failure becomes one.
//!
//! Each class follows the CLI's exit codes (`wdh_migrate::run_code`, the
//! one mapping): `Blocked` is exit 3, `ChecksFailed` exit 4, `LockTimeout`
//! exit 5, `ConfigError` exit 2; exit 1 is `MigrationFailed` when a
//! migration failed and `DatabaseError` otherwise. Every exception carries
//! `exit_code` and, where one is known, `database`. Messages are the CLI's
//! (without its `error: ` prefix), with the knobs spelled as this API's
//! keyword arguments and the target's secrets scrubbed.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::{create_exception, PyTypeInfo};
use wdh_migrate::Exit;
use wdh_migrate_core::guard::GuardError;
use wdh_migrate_core::runner::RunError;
use wdh_migrate_core::target::Secrets;

use crate::results::{CheckResult, MigrationFailure};
use crate::spelling::Kwargs;

create_exception!(
    wdh_migrate,
    Error,
    PyRuntimeError,
    "Any failure of wdh_migrate. `exit_code` is the CLI's exit code for the same failure; `database` names the database where one is known."
);
create_exception!(
    wdh_migrate,
    Blocked,
    Error,
    "Refused by the production guard (`BLOCKED: …`), or the connection reached another database than the URL names (exit 3). Nothing was run."
);
create_exception!(
    wdh_migrate,
    MigrationFailed,
    Error,
    "A migration failed (exit 1); `failure` holds what the server said. The message says what stays applied."
);
create_exception!(
    wdh_migrate,
    ChecksFailed,
    Error,
    "Refused by the checks (exit 4): drift, missing or out-of-order migrations, an irreversible migration on the way, an earlier failed no-transaction migration; or `check()` found a down.sql that is not the inverse of its up.sql (`report`)."
);
create_exception!(
    wdh_migrate,
    LockTimeout,
    Error,
    "Another run holds the migration lock, and `lock_wait` ran out (exit 5)."
);
create_exception!(
    wdh_migrate,
    ConfigError,
    Error,
    "Bad arguments: the URL, the target version, a duration, or the migrations folder (exit 2). Nothing was contacted."
);
create_exception!(
    wdh_migrate,
    DatabaseError,
    Error,
    "The database or the test server failed outside a migration: could not connect, the ledger could not be read or written (exit 1)."
);

/// Why an API call failed. Built without the interpreter (the work runs
/// with it released), raised with it.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments, the migrations folder (exit 2).
    Config(String),
    /// A run of the library failed.
    Run {
        error: Box<RunError>,
        secrets: Secrets,
    },
    /// `check` found a problem; the report goes with the exception.
    Check {
        exit: Exit,
        message: String,
        report: Box<CheckResult>,
    },
    /// The test server or anything else outside a run (exit 1).
    Database {
        message: String,
        database: Option<String>,
    },
}

impl Failure {
    /// A configuration error from any error: its text and each cause.
    pub fn config(e: &(dyn std::error::Error + 'static)) -> Failure {
        Failure::Config(wdh_migrate_core::causes::describe(e))
    }

    /// A run's error, to be scrubbed of `secrets`.
    pub fn run(error: RunError, secrets: &Secrets) -> Failure {
        Failure::Run {
            error: Box::new(error),
            secrets: secrets.clone(),
        }
    }

    /// The exception.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Config(message) => raise::<ConfigError>(py, message, Exit::Usage, None),
            Failure::Database { message, database } => {
                raise::<DatabaseError>(py, message, Exit::Failed, database)
            }
            Failure::Check {
                exit,
                message,
                report,
            } => {
                let err = match exit {
                    Exit::Checks => raise::<ChecksFailed>(py, message, exit, None),
                    _ => raise::<MigrationFailed>(py, message, exit, None),
                };
                let _ = err.value(py).setattr("report", *report);
                err
            }
            Failure::Run { error, secrets } => run_error(py, &error, &secrets),
        }
    }
}

fn run_error(py: Python<'_>, error: &RunError, secrets: &Secrets) -> PyErr {
    let message = secrets.scrub(&match error {
        RunError::Blocked(refusal) => refusal.render(&Kwargs),
        e => e.report(&Kwargs),
    });
    let database = database_of(error);
    let exit = wdh_migrate::run_code(error);
    match (exit, error) {
        (Exit::Blocked, _) => raise::<Blocked>(py, message, exit, database),
        (Exit::Checks, _) => raise::<ChecksFailed>(py, message, exit, database),
        (Exit::Locked, _) => raise::<LockTimeout>(py, message, exit, database),
        (Exit::Usage, _) => raise::<ConfigError>(py, message, exit, database),
        (_, RunError::Migration { failure, .. }) => {
            let err = raise::<MigrationFailed>(py, message, exit, database);
            let failure = MigrationFailure::from_failure(failure, secrets);
            let _ = err.value(py).setattr("failure", failure);
            err
        }
        _ => raise::<DatabaseError>(py, message, exit, database),
    }
}

/// The database a run's error names, if it names one.
fn database_of(error: &RunError) -> Option<String> {
    match error {
        RunError::Blocked(refusal) => Some(refusal.database.clone()),
        RunError::DatabaseMismatch { claimed, .. } => Some(claimed.clone()),
        RunError::Guard(GuardError::BadOverrideValue { database, .. }) => Some(database.clone()),
        RunError::Plan { database, .. }
        | RunError::Locked { database, .. }
        | RunError::LedgerPermission { database, .. }
        | RunError::FailedEarlier { database, .. }
        | RunError::Migration { database, .. }
        | RunError::LedgerTooNew { database, .. }
        | RunError::Database { database, .. } => Some(database.clone()),
        _ => None,
    }
}

/// An exception of class `E` with its message and attributes.
fn raise<E: PyTypeInfo>(
    py: Python<'_>,
    message: String,
    exit: Exit,
    database: Option<String>,
) -> PyErr {
    let err = PyErr::from_type(E::type_object(py), message);
    let value = err.value(py);
    let _ = value.setattr("exit_code", exit as u8);
    let _ = value.setattr("database", database);
    err
}
