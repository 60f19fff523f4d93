//! One module per command, and the dispatcher that runs the one the
//! settings name. Database commands get their target here: the configured
//! one, or a throw-away cluster for `--sandbox`, started only now that every
//! argument has been validated.

mod adopt;
mod baseline;
mod check;
mod completions;
mod current;
mod downgrade;
mod history;
mod import;
mod init;
mod lint;
mod man;
mod mark;
mod new;
mod sandbox;
mod status;
mod upgrade;

use std::path::Path;

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::Target;

use crate::error::{CliError, Failure, Flags};
use crate::settings::{Action, DatabaseJob, LocalJob, Output, Place, Settings};
use crate::{output, sandbox::Sandbox};

/// What a database command works with.
pub struct Context<'a> {
    /// The target, resolved and printed.
    pub target: &'a Target,
    /// The migrations folder.
    pub migrations: &'a Path,
    /// How results are printed.
    pub output: Output,
}

/// Runs what the settings say.
pub fn run(settings: Settings) -> Result<(), Failure> {
    let Settings {
        output,
        migrations,
        action,
    } = settings;
    match action {
        Action::Local(job) => local(job, &migrations, output),
        Action::PrintTarget(place) => {
            match place {
                Place::Target(target) => {
                    eprintln!("target: {target}");
                    warn_about(&target);
                }
                Place::Sandbox => eprintln!("target: throw-away cluster (from --sandbox)"),
            }
            Ok(())
        }
        Action::Database(Place::Target(target), job) => {
            on_target(&target, None, &job, &migrations, output)
        }
        Action::Database(Place::Sandbox, job) => {
            if reads_the_set(&job) {
                // Before the cluster starts: a wrong folder is a usage error.
                check_folder(&migrations)?;
            }
            let sandbox = Sandbox::start().map_err(CliError::Failed)?;
            let target = sandbox.target().map_err(CliError::Usage)?;
            on_target(
                &target,
                Some(&sandbox.describe()),
                &job,
                &migrations,
                output,
            )?;
            if matches!(
                *job,
                DatabaseJob::Upgrade { .. } | DatabaseJob::Downgrade { .. }
            ) && !output.json
            {
                // The sandbox is gone when this command ends: show where it got to.
                let runner = Runner::new(&target, RunOptions::default()).with_spelling(&Flags);
                if let Some(status) = MigrationSet::load(&migrations)
                    .ok()
                    .and_then(|set| runner.status(&set).ok())
                {
                    println!();
                    output::status(&status);
                }
            }
            Ok(())
        }
    }
}

/// Prints the target line (and `note`, what the sandbox is), then runs
/// `job` on `target`; a failure's text is scrubbed of its secrets.
fn on_target(
    target: &Target,
    note: Option<&str>,
    job: &DatabaseJob,
    migrations: &Path,
    output: Output,
) -> Result<(), Failure> {
    crate::logging::hide(target.secrets());
    eprintln!("target: {target}");
    warn_about(target);
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let cx = Context {
        target,
        migrations,
        output,
    };
    database(job, &cx).map_err(|e| Failure::on(e, target))
}

/// The target's warnings (a password file that was ignored), after the
/// target line.
fn warn_about(target: &Target) {
    for w in target.warnings() {
        eprintln!("warning: {}", target.scrub(w));
    }
}

/// A note on stderr when a reading command ran on a hot standby or a
/// read-only session: what it shows is the standby's, and the writing
/// commands need the primary.
pub fn note_read_only(identity: &wdh_migrate_core::identity::Identity) {
    if let Some(reason) = identity.read_only_reason() {
        eprintln!(
            "note: {reason}: upgrade, downgrade and mark need a primary (target_session_attrs=read-write)"
        );
    }
}

fn database(job: &DatabaseJob, cx: &Context<'_>) -> Result<(), CliError> {
    match job {
        DatabaseJob::Upgrade {
            to,
            dry_run,
            options,
        } => upgrade::run(cx, to, *dry_run, options),
        DatabaseJob::Downgrade {
            to,
            dry_run,
            options,
        } => downgrade::run(cx, to, *dry_run, options),
        DatabaseJob::Current => current::run(cx),
        DatabaseJob::History => history::run(cx),
        DatabaseJob::Status => status::run(cx),
        DatabaseJob::Mark { to, options } => mark::run(cx, *to, options),
        DatabaseJob::Adopt {
            from,
            dry_run,
            options,
        } => adopt::run(cx, *from, *dry_run, options),
        DatabaseJob::Baseline {
            version,
            dry_run,
            options,
        } => baseline::run(cx, version, *dry_run, options),
    }
}

fn local(job: LocalJob, migrations: &Path, output: Output) -> Result<(), Failure> {
    match job {
        LocalJob::Check {
            admin_url,
            admin_secrets,
        } => return check::run(admin_url.as_deref(), admin_secrets, migrations, output),
        LocalJob::Lint {
            target,
            options,
            print_target,
        } => {
            if print_target {
                match &target {
                    Some(t) => eprintln!("target: {t}"),
                    None => eprintln!("target: none (lint runs without one)"),
                }
                return Ok(());
            }
            return lint::run(migrations, target.as_deref(), &options, output);
        }
        LocalJob::Init { folder } => init::run(&folder),
        LocalJob::New { name } => new::run(migrations, &name),
        LocalJob::Sandbox { upgrade } => sandbox::run(upgrade.then_some(migrations), output),
        LocalJob::Completions(shell) => completions::run(shell),
        LocalJob::Man => man::run(),
        LocalJob::ImportAlembic {
            config,
            out,
            alembic,
        } => import::alembic(&config, &out, alembic.as_deref(), output),
    }
    .map_err(Failure::from)
}

fn reads_the_set(job: &DatabaseJob) -> bool {
    !matches!(job, DatabaseJob::History | DatabaseJob::Mark { .. })
}

/// Checks that the migrations folder is one, reading nothing in it.
pub fn check_folder(dir: &Path) -> Result<(), CliError> {
    MigrationSet::check_directory(dir).map_err(CliError::usage)
}

/// Loads the migration set, noting files that are not migrations.
pub fn load(dir: &Path) -> Result<MigrationSet, CliError> {
    let set = MigrationSet::load(dir).map_err(CliError::usage)?;
    for ignored in &set.ignored {
        eprintln!(
            "note: ignoring {} ({})",
            dir.join(&ignored.path).display(),
            ignored.reason
        );
    }
    Ok(set)
}
