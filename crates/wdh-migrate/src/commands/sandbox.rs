//! `sandbox [--upgrade]`: a throw-away cluster and database until Ctrl-C.

use std::path::Path;

use crate::error::CliError;
use crate::settings::Output;

pub fn run(upgrade: Option<&Path>, output: Output) -> Result<(), CliError> {
    if let Some(dir) = upgrade {
        super::check_folder(dir)?;
    }
    crate::sandbox::serve(upgrade, output.quiet)
}
