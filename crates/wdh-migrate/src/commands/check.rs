//! `wdh-migrate check`: on a throw-away database (a private cluster, or a
//! server meant for tests given with `--admin-url`), never on the
//! configured target, which is not even read. The server is named on
//! stderr first. On a server given with `--admin-url`, which other
//! databases share, the check fails if the migrations changed what every
//! database of it shares (roles, passwords, settings, other databases).

use std::path::Path;

use wdh_migrate_core::check::{self, CheckReport, MigrationCheck, Outcome};
use wdh_migrate_core::target::{redact, Secrets, Source, Target};
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
        Some(url) => {
            eprintln!("server: {} (from --admin-url)", shown_url(url));
            TestServer::from_admin_url(url).map_err(CliError::failed)?
        }
        None => {
            cluster = TestCluster::start().map_err(CliError::failed)?;
            eprintln!(
                "server: a private throw-away cluster in {} (started for this check)",
                cluster.root().display()
            );
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
    let shared = admin_url.is_some();
    if json {
        crate::output::json(&report);
    } else {
        summary(&report, shared, paint);
    }
    match report.first_problem().map(|m| &m.outcome) {
        None if shared && !report.global_changes.is_empty() => Err(CliError::CheckGlobals),
        None => Ok(()),
        Some(Outcome::NotInverse { .. }) => Err(CliError::CheckNotInverse),
        Some(_) => Err(CliError::CheckFailed),
    }
}

/// The admin URL as it may be shown: without its password.
fn shown_url(url: &str) -> String {
    match Target::parse(url, Source::AdminUrl) {
        Ok(target) => target.redacted(),
        Err(_) => redact(url, ""),
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
    for w in &m.warnings {
        println!("      {} {}", paint.yellow("warning:"), w.message());
    }
}

fn summary(report: &CheckReport, shared: bool, paint: Paint) {
    for unread in &report.globals_unread {
        println!("not compared: {unread}");
    }
    if !report.global_changes.is_empty() {
        if shared {
            println!(
                "{}: the migrations changed what every database of this server shares:",
                paint.red("SHARED OBJECTS CHANGED")
            );
        } else {
            println!(
                "{} the migrations change what every database of a server shares (harmless on \
                 this private cluster; `check --admin-url` fails on it):",
                paint.yellow("note:")
            );
        }
        for l in report.global_diff.lines() {
            println!("      {l}");
        }
    }
    if !report.missing_down.is_empty() {
        println!("missing down.sql: {}", report.missing_down.join(", "));
    }
    if !report.irreversible.is_empty() {
        println!("irreversible: {}", report.irreversible.join(", "));
    }
    for (path, reason) in &report.ignored {
        println!("ignored: {path} ({reason})");
    }
    let shared_changed = shared && !report.global_changes.is_empty();
    if report.first_problem().is_none() && !shared_changed {
        println!(
            "check: {} every down.sql that can run restores its up.sql's schema ({} schema objects at head)",
            paint.green("ok:"),
            report.objects_at_head
        );
    }
}
