//! `man`: the man page (roff), generated from the same definitions as `--help`.

use crate::args::Cli;
use crate::error::CliError;

pub fn run() -> Result<(), CliError> {
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
        .render(&mut std::io::stdout())
        .map_err(CliError::failed)
}
