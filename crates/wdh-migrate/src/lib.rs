//! The `wdh-migrate` command line tool. `main` only calls [`run`]: the
//! command line is parsed (`args`), turned into validated settings once,
//! before any work (`settings`), and dispatched to its command's module
//! (`commands`); errors become exit codes in one place (`error`).

mod args;
mod commands;
mod error;
mod import;
mod logging;
mod output;
mod sandbox;
mod scaffold;
pub mod settings;
mod term;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
pub use error::{run_code, Exit};

/// Parses the command line, resolves the settings and runs the command.
pub fn run() -> ExitCode {
    run_from(std::env::args_os()).into()
}

/// [`run`] on the given arguments (the first is the program's name), for a
/// front end that runs the CLI in its own process (the Python package's
/// `wdh-migrate` command); returns the exit code.
pub fn run_from<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            };
        }
    };
    let paint = term::Paint::stderr();
    logging::init(cli.global.verbose, cli.global.quiet, paint.enabled());
    let result = settings::Env::read()
        .map_err(error::CliError::Usage)
        .and_then(|env| settings::Settings::resolve(&cli, &env))
        .map_err(error::Failure::from)
        .and_then(commands::run);
    match result {
        Ok(()) => Exit::Ok,
        Err(failure) => {
            if let Some(doc) = failure.to_json().filter(|_| cli.global.json) {
                output::json(&doc);
            }
            eprintln!("{}", highlight(&failure.render(), paint));
            failure.code()
        }
    }
}

/// Colours the leading `error:` or `BLOCKED:` of a message.
fn highlight(message: &str, paint: term::Paint) -> String {
    for prefix in ["error:", "BLOCKED:"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return format!("{}{rest}", paint.red(prefix));
        }
    }
    message.to_string()
}
