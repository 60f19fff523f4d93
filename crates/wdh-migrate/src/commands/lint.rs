//! `wdh-migrate lint`: every migration's statements, read with PostgreSQL's
//! parser, one finding per line in the compiler form, each with the safe
//! way as `help:`. With a target (the usual resolution), the pending up
//! scripts and the applied downs are judged against its tables; without
//! one, a table's size is unknown. Exit 4 when a finding is an error that
//! its file does not acknowledge.

use std::path::Path;

use wdh_migrate_core::identity::Identity;
use wdh_migrate_core::lint::{self, Finding, Report};
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::Target;

use super::{check_folder, load};
use crate::error::{CliError, Failure, Flags};
use crate::settings::Output;
use crate::term::Paint;

/// Lints the set in `migrations`, against `target` when there is one.
pub fn run(
    migrations: &Path,
    target: Option<&Target>,
    options: &RunOptions,
    output: Output,
) -> Result<(), Failure> {
    match target {
        Some(target) => {
            crate::logging::hide(target.secrets());
            eprintln!("target: {target}");
            lint(migrations, Some(target), options, output).map_err(|e| Failure::on(e, target))
        }
        None => lint(migrations, None, options, output).map_err(Failure::from),
    }
}

fn lint(
    migrations: &Path,
    target: Option<&Target>,
    options: &RunOptions,
    output: Output,
) -> Result<(), CliError> {
    check_folder(migrations)?;
    let set = load(migrations)?;
    let (identity, report) = match target {
        Some(target) => {
            let runner = Runner::new(target, options.clone()).with_spelling(&Flags);
            let (identity, report) = runner.lint(&set)?;
            (Some(identity), report)
        }
        None => (None, lint::offline(&lint::every_file(&set))),
    };
    if output.json {
        crate::output::json(&Json {
            database: identity.as_ref().map(|i| i.database.as_str()),
            server_version: report.server_version,
            files: report.files,
            applied_skipped: report.applied_skipped,
            errors: report.errors(),
            warnings: report.warnings(),
            acknowledged: report.acknowledged(),
            findings: &report.findings,
        });
    } else {
        print(migrations, identity.as_ref(), &report, options);
    }
    match report.errors() {
        0 => Ok(()),
        errors => Err(CliError::LintErrors { errors }),
    }
}

#[derive(serde::Serialize)]
struct Json<'a> {
    /// The database the findings were judged against; none offline.
    database: Option<&'a str>,
    server_version: Option<i32>,
    files: usize,
    applied_skipped: usize,
    errors: usize,
    warnings: usize,
    acknowledged: usize,
    findings: &'a [Finding],
}

fn print(migrations: &Path, identity: Option<&Identity>, report: &Report, options: &RunOptions) {
    let paint = Paint::stdout();
    for f in &report.findings {
        let text = f.render(migrations);
        let label = format!("{}[{}]", f.label(), f.rule);
        let coloured = match (&f.acknowledged, f.severity) {
            (Some(_), _) => paint.green(&label),
            (None, lint::Severity::Error) => paint.red(&label),
            (None, lint::Severity::Warning) => paint.yellow(&label),
        };
        println!("{}", text.replacen(&label, &coloured, 1));
    }
    let against = match identity {
        Some(i) => format!(
            "; judged against {} (PostgreSQL {}): a table that is not there yet or is empty is fine, one of {} rows or {} MB is large{}",
            i.describe(),
            version(i.server_version),
            options.lint.rows,
            options.lint.bytes / (1024 * 1024),
            match report.applied_skipped {
                0 => String::new(),
                n => format!("; {n} applied up script(s) not linted (they ran)"),
            }
        ),
        None => "; without a target, table sizes are unknown and counted as large".to_string(),
    };
    println!(
        "lint: {} file(s), {} error(s), {} warning(s), {} acknowledged{against}",
        report.files,
        report.errors(),
        report.warnings(),
        report.acknowledged()
    );
}

/// `server_version_num` as `15.4`.
fn version(num: i32) -> String {
    format!("{}.{}", num / 10_000, num % 10_000)
}
