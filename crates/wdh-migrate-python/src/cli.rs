//! The `wdh-migrate` command of the Python package: the same CLI, run in
//! this process.

use std::ffi::OsString;

use pyo3::prelude::*;

/// Runs the `wdh-migrate` command line (`argv[0]` is the program's name)
/// and returns its exit code. Output goes to this process's stdout and
/// stderr, as the binary's does.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| wdh_migrate::run_from(argv)) as u8
}
