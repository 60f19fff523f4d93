//! `completions <shell>`: generated from the same definitions as `--help`.

use crate::args::Cli;
use crate::error::CliError;

pub fn run(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "wdh-migrate", &mut std::io::stdout());
    Ok(())
}
