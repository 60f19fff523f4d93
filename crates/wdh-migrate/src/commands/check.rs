//! `wdh-migrate check`: on a throw-away database (a private cluster, or a
//! server meant for tests given with `--admin-url`), never on the
//! configured target, which is not even read.

use std::path::Path;

use wdh_migrate_core::check::{self, CheckReport, MigrationCheck, Outcome};
use wdh_migrate_core::target::{Secrets, Source, Target};
use wdh_testdb::{TestCluster, TestServer};

use super::load;
use crate::error::{CliError, Failure, Flags};
use crate::settings::Output;
use crate::term::Paint;

/// Runs the check; a failure's text is scrubbed of the admin URL's
/// password (`admin_secrets`, read when the settings were checked).
pub fn run(
    admin_url: Option<&str>,
    admin_secrets: Secrets,
    migrations: &Path,
    output: Output,
) -> Result<(), Failure> {
    crate::logging::hide(&admin_secrets);
    check(admin_url, migrations, output).map_err(|e| Failure::hiding(e, admin_secrets))
}

fn check(admin_url: Option<&str>, migrations: &Path, output: Output) -> Result<(), CliError> {
    let set = &load(migrations)?;
    let json = output.json;
    // The cluster (if any) must outlive the database: declared first, dropped last.
    let cluster;
    let server = match admin_url {
        Some(url) => TestServer::from_admin_url(url).map_err(CliError::failed)?,
        None => {
            cluster = TestCluster::start().map_err(CliError::failed)?;
            cluster.server().clone()
        }
    };
    let database = server.create_database().map_err(CliError::failed)?;
    let target = Target::parse(&database.url(), Source::Explicit).map_err(CliError::failed)?;
    let paint = Paint::stdout();
    if !json {
        println!(
            "check: {} migration(s) on the throw-away database {}",
            set.migrations.len(),
            database.name()
        );
    }
    let report = check::run(&target, set, &Flags, &mut |m| {
        if !json {
            line(m, paint);
        }
    })
    .map_err(CliError::failed)?;
    drop(database);
    if json {
        crate::output::json(&report);
    } else {
        summary(&report, paint);
    }
    match report.first_problem().map(|m| &m.outcome) {
        None => Ok(()),
        Some(Outcome::NotInverse { .. }) => Err(CliError::CheckNotInverse),
        Some(_) => Err(CliError::CheckFailed),
    }
}

fn line(m: &MigrationCheck, paint: Paint) {
    let label = format!("{}_{}", m.version, m.name);
    match &m.outcome {
        Outcome::Inverse => println!("  {} {label}", paint.green("ok          ")),
        Outcome::NoOpDown => println!(
            "  {} {label} (the empty down.sql is a deliberate no-op)",
            paint.yellow("no-op down  ")
        ),
        Outcome::Irreversible { reason } => {
            println!("  {} {label} ({reason})", paint.yellow("irreversible"))
        }
        Outcome::NotInverse { diff, .. } => {
            println!(
                "  {} {label}: down.sql does not restore the schema that up.sql changed:",
                paint.red("NOT INVERSE ")
            );
            for l in diff.lines() {
                println!("      {l}");
            }
        }
        Outcome::Failed { step, error } => {
            println!("  {} {label} ({step}):", paint.red("FAILED      "));
            for l in error.lines() {
                println!("      {l}");
            }
        }
        _ => println!("  {label}"),
    }
}

fn summary(report: &CheckReport, paint: Paint) {
    if !report.missing_down.is_empty() {
        println!("missing down.sql: {}", report.missing_down.join(", "));
    }
    if !report.irreversible.is_empty() {
        println!("irreversible: {}", report.irreversible.join(", "));
    }
    for (path, reason) in &report.ignored {
        println!("ignored: {path} ({reason})");
    }
    if report.first_problem().is_none() {
        println!(
            "check: {} every down.sql that can run restores its up.sql's schema ({} schema objects at head)",
            paint.green("ok:"),
            report.objects_at_head
        );
    }
}
