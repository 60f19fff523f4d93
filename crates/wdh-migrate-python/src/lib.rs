//! `wdh_migrate._native`: the Python package's native module, a thin layer
//! over the Rust crates.
//!
//! * `api` — `upgrade`, `downgrade`, `status`, `check` on an explicit URL,
//!   over `wdh-migrate-core`'s runner;
//! * `errors` — the exception classes, following the CLI's exit codes, and
//!   how a failure becomes one;
//! * `spelling` — messages name this API's keyword arguments;
//! * `results` — the typed objects the API returns;
//! * `harness` — `wdh-testdb` (private clusters, `wdh_test_` databases,
//!   migrated clones) for the pytest plugin;
//! * `cli` — the `wdh-migrate` command, run in-process.
//!
//! The work runs with the interpreter released, so other Python threads go
//! on meanwhile.

use pyo3::prelude::*;

mod api;
mod cli;
mod errors;
mod harness;
mod results;
mod spelling;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(api::upgrade, m)?)?;
    m.add_function(wrap_pyfunction!(api::downgrade, m)?)?;
    m.add_function(wrap_pyfunction!(api::status, m)?)?;
    m.add_function(wrap_pyfunction!(api::check, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("Blocked", py.get_type::<errors::Blocked>())?;
    m.add("MigrationFailed", py.get_type::<errors::MigrationFailed>())?;
    m.add("ChecksFailed", py.get_type::<errors::ChecksFailed>())?;
    m.add("LockTimeout", py.get_type::<errors::LockTimeout>())?;
    m.add("ConfigError", py.get_type::<errors::ConfigError>())?;
    m.add("DatabaseError", py.get_type::<errors::DatabaseError>())?;
    // Every exception has these attributes, `None` where they do not apply.
    let error = py.get_type::<errors::Error>();
    error.setattr("exit_code", 1)?;
    error.setattr("database", py.None())?;
    let failed = py.get_type::<errors::MigrationFailed>();
    failed.setattr("failure", py.None())?;
    failed.setattr("report", py.None())?;
    py.get_type::<errors::ChecksFailed>()
        .setattr("report", py.None())?;
    m.add_class::<results::Step>()?;
    m.add_class::<results::RunResult>()?;
    m.add_class::<results::MigrationStatus>()?;
    m.add_class::<results::Status>()?;
    m.add_class::<results::MigrationCheck>()?;
    m.add_class::<results::CheckResult>()?;
    m.add_class::<results::MigrationFailure>()?;
    m.add_class::<harness::MigrationSet>()?;
    m.add_class::<harness::TestCluster>()?;
    m.add_class::<harness::TestServer>()?;
    m.add_class::<harness::TestDatabase>()?;
    Ok(())
}
