//! The `wdh-migrate` command line tool. `main` only parses and calls
//! [`run`]; settings are resolved here, once, and passed down explicitly.

mod args;
mod checking;
mod logging;
mod output;
mod sandbox;
mod scaffold;
pub mod settings;
mod term;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use wdh_migrate_core::guard::{Marker, Override};
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::{Allow, DowngradeTo, PlanError, UpgradeTo};
use wdh_migrate_core::runner::{downgrade_operation, RunError, RunOptions, Runner};
use wdh_migrate_core::target::Target;

pub use args::Cli;
use args::{Command, DatabaseCommand, LocalCommand, RunArgs};

/// Exit codes (documented in `--help` and the README).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A migration or the database failed.
    pub const FAILED: u8 = 1;
    /// Bad usage, configuration or migration files.
    pub const USAGE: u8 = 2;
    /// Refused by the production guard, or the connection reached another database.
    pub const BLOCKED: u8 = 3;
    /// Refused by the checks (drift, missing, out of order, irreversible, failed earlier).
    pub const CHECKS: u8 = 4;
    /// Another run holds the lock.
    pub const LOCKED: u8 = 5;
}

/// An error with its exit code; the message is already redacted.
struct Failure {
    code: u8,
    message: String,
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let paint = term::Paint::stderr();
    logging::init(cli.global.verbose, cli.global.quiet, paint.enabled());
    match execute(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(f) => {
            eprintln!("{}", highlight(&f.message, paint));
            ExitCode::from(f.code)
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

/// Commands that need no database: they run before any target is resolved.
fn local_command(
    command: &LocalCommand,
    cli: &Cli,
    config: &settings::Config,
) -> Result<(), Failure> {
    let failed = |e: anyhow::Error| Failure {
        code: exit::FAILED,
        message: format!("error: {e:#}"),
    };
    let dir = settings::migrations_dir(&cli.global, config);
    match command {
        LocalCommand::Init => {
            let folder = cli
                .global
                .migrations
                .clone()
                .unwrap_or_else(|| "migrations".into());
            scaffold::init(Path::new(""), &folder)
                .map_err(|e| usage(format!("{e:#}")))
                .map(|created| {
                    for path in created {
                        println!("created {}", path.display());
                    }
                })
        }
        LocalCommand::New(a) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let name = a.name.join(" ");
            scaffold::new_migration(&dir, &name, i64::try_from(now).unwrap_or(0))
                .map_err(|e| usage(format!("{e:#}")))
                .map(|created| {
                    for path in created {
                        println!("{}", path.display());
                    }
                })
        }
        LocalCommand::Sandbox(a) => {
            sandbox::serve(a.upgrade.then_some(dir.as_path()), cli.global.quiet).map_err(failed)
        }
        LocalCommand::Check(a) => {
            if cli.global.database_url.is_some() || cli.global.sandbox {
                return Err(usage(
                    "check never runs on a configured database: it makes its own throw-away one; \
                     use --admin-url URL for a server meant for tests",
                ));
            }
            let set = load(&dir)?;
            checking::run(a.admin_url.as_deref(), &set, cli.global.json)
        }
        LocalCommand::Completions(a) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut command, "wdh-migrate", &mut std::io::stdout());
            Ok(())
        }
        LocalCommand::Man => clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
            .render(&mut std::io::stdout())
            .map_err(|e| failed(e.into())),
    }
}

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure {
        code: exit::USAGE,
        message: format!("error: {e}"),
    }
}

fn execute(cli: Cli) -> Result<(), Failure> {
    let env = settings::Env::read().map_err(|e| usage(format!("{e:#}")))?;
    let config = settings::load_config(&cli.global).map_err(|e| usage(format!("{e:#}")))?;
    let command = match &cli.command {
        Command::Database(command) => command,
        Command::Local(local) => return local_command(local, &cli, &config),
    };
    let sandbox = if cli.global.sandbox && !cli.global.print_target {
        Some(sandbox::Sandbox::start().map_err(|e| Failure {
            code: exit::FAILED,
            message: format!("error: {e:#}"),
        })?)
    } else {
        None
    };
    let target = match &sandbox {
        Some(s) => s.target().map_err(usage)?,
        None => settings::resolve_target(&cli.global, &env, &config)
            .map_err(|e| usage(format!("{e:#}")))?,
    };
    eprintln!("target: {target}");
    if cli.global.print_target {
        return Ok(());
    }
    if let Some(s) = &sandbox {
        eprintln!("{}", s.describe());
    }
    let dir = settings::migrations_dir(&cli.global, &config);
    let result = database_command(command, &cli, &env, &config, &target, &dir);
    if sandbox.is_some()
        && result.is_ok()
        && matches!(
            cli.command,
            Command::Database(DatabaseCommand::Upgrade(_) | DatabaseCommand::Downgrade(_))
        )
        && !cli.global.json
    {
        // The sandbox is gone when this command ends: show where it got to.
        let runner = Runner::new(&target, RunOptions::default());
        if let Some(status) = MigrationSet::load(&dir)
            .ok()
            .and_then(|set| runner.status(&set).ok())
        {
            println!();
            output::status(&status);
        }
    }
    result.map_err(|e| scrubbed(&target, e))
}

/// Loads the migration set, noting files that are not migrations.
fn load(dir: &Path) -> Result<MigrationSet, Failure> {
    let set = MigrationSet::load(dir).map_err(usage)?;
    for ignored in &set.ignored {
        eprintln!(
            "note: ignoring {} ({})",
            dir.join(&ignored.path).display(),
            ignored.reason
        );
    }
    Ok(set)
}

fn scrubbed(target: &Target, f: Failure) -> Failure {
    Failure {
        code: f.code,
        message: target.scrub(&f.message),
    }
}

fn run_options(
    run: &RunArgs,
    config: &settings::Config,
    env: &settings::Env,
    confirm: Option<&String>,
) -> Result<RunOptions, Failure> {
    let timeouts = settings::timeouts(run, config).map_err(|e| usage(format!("{e:#}")))?;
    let mut options = RunOptions {
        lock_timeout: timeouts.lock_timeout,
        statement_timeout: timeouts.statement_timeout,
        allow: Allow {
            drift: run.allow_drift,
            out_of_order: false,
        },
        retry_failed: run.retry_failed,
        policy: settings::policy(config),
        override_: Override {
            allow_variable: env.allow_production_downgrade.clone(),
            confirm_database: confirm.cloned(),
        },
        ..RunOptions::default()
    };
    if let Some(wait) = timeouts.lock_wait {
        options.lock_wait = wait;
    }
    Ok(options)
}

fn database_command(
    command: &DatabaseCommand,
    cli: &Cli,
    env: &settings::Env,
    config: &settings::Config,
    target: &Target,
    dir: &Path,
) -> Result<(), Failure> {
    let json = cli.global.json;
    match command {
        DatabaseCommand::Upgrade(a) => {
            let to: UpgradeTo = a.target.parse().map_err(usage)?;
            let mut options = run_options(&a.run, config, env, None)?;
            options.allow.out_of_order = a.allow_out_of_order;
            let runner = Runner::new(target, options);
            if a.run.dry_run {
                let d = runner.dry_run_upgrade(&load(dir)?, &to).map_err(failure)?;
                if json {
                    output::json(&d)
                } else {
                    output::dry_run(&d)
                }
                return Ok(());
            }
            // Read the files while connecting: a no-op upgrade at every
            // service start pays for the slower of the two, not both.
            let (set, connected) = std::thread::scope(|s| {
                let loading = s.spawn(|| load(dir));
                let connected = runner.connect();
                (loading.join(), connected)
            });
            let set = set.unwrap_or_else(|_| Err(usage("reading the migrations failed")))?;
            let mut progress = term::Progress::new(json || cli.global.quiet);
            let r = runner
                .upgrade_on(&mut connected.map_err(failure)?, &set, &to, &mut |e| {
                    progress.event(e)
                })
                .map_err(failure)?;
            if json {
                output::json(&r)
            } else {
                if !cli.global.quiet {
                    output::report(&r, "upgrade")
                }
            }
        }
        DatabaseCommand::Downgrade(a) => {
            let to: DowngradeTo = a.target.parse().map_err(usage)?;
            let options = run_options(&a.run, config, env, a.confirm_database.as_ref())?;
            let runner = Runner::new(target, options);
            // Judge the claim before reading any file or opening any connection.
            if !a.run.dry_run {
                runner
                    .judge_claim(&downgrade_operation(&to))
                    .map_err(failure)?;
            }
            if a.run.dry_run {
                let d = runner
                    .dry_run_downgrade(&load(dir)?, &to)
                    .map_err(failure)?;
                if json {
                    output::json(&d)
                } else {
                    output::dry_run(&d)
                }
                return Ok(());
            }
            let mut progress = term::Progress::new(json || cli.global.quiet);
            let r = runner
                .downgrade(&load(dir)?, &to, &mut |e| progress.event(e))
                .map_err(failure)?;
            if json {
                output::json(&r)
            } else {
                if !cli.global.quiet {
                    output::report(&r, "downgrade")
                }
            }
        }
        DatabaseCommand::Current => {
            let (identity, current) = Runner::new(target, RunOptions::default())
                .current(&load(dir)?)
                .map_err(failure)?;
            if json {
                output::json(
                    &serde_json::json!({ "database": identity.database, "current": current }),
                );
            } else {
                println!("{}", current.as_deref().unwrap_or("base"));
            }
        }
        DatabaseCommand::History => {
            let (identity, rows) = Runner::new(target, RunOptions::default())
                .history()
                .map_err(failure)?;
            if json {
                output::json(
                    &serde_json::json!({ "database": identity.database, "applied": rows }),
                );
            } else {
                output::history(&identity, &rows);
            }
        }
        DatabaseCommand::Mark(a) => {
            let environment = a.environment.parse().map_err(usage)?;
            let to = Marker {
                environment,
                locked: a.locked,
            };
            let options = RunOptions {
                policy: settings::policy(config),
                override_: Override {
                    allow_variable: env.allow_production_downgrade.clone(),
                    confirm_database: a.confirm_database.clone(),
                },
                ..RunOptions::default()
            };
            let mut progress = term::Progress::new(json || cli.global.quiet);
            let r = Runner::new(target, options)
                .mark(to, &mut |e| progress.event(e))
                .map_err(failure)?;
            if json {
                output::json(&r)
            } else {
                let from = r
                    .from
                    .map_or_else(|| "unmarked".to_string(), |m| m.to_string());
                println!(
                    "mark: {} is now marked {} (was {from})",
                    r.identity.database, r.to
                );
            }
        }
        DatabaseCommand::Status => {
            let s = Runner::new(target, RunOptions::default())
                .status(&load(dir)?)
                .map_err(failure)?;
            if json {
                output::json(&s)
            } else {
                output::status(&s)
            }
        }
    }
    Ok(())
}

/// A target that cannot be reached is a usage error, not a check refusal.
fn is_bad_target(e: &PlanError) -> bool {
    matches!(
        e,
        PlanError::UnknownVersion(_)
            | PlanError::TooManySteps { .. }
            | PlanError::UpgradeTargetApplied { .. }
            | PlanError::DowngradeTargetNotApplied(_)
    )
}

fn failure(e: RunError) -> Failure {
    let code = match &e {
        RunError::Blocked(_) | RunError::Guard(_) | RunError::DatabaseMismatch { .. } => {
            exit::BLOCKED
        }
        RunError::Plan { source, .. } if is_bad_target(source) => exit::USAGE,
        RunError::Plan { .. } | RunError::FailedEarlier { .. } => exit::CHECKS,
        RunError::Locked { .. } => exit::LOCKED,
        _ => exit::FAILED,
    };
    let mut message = format!("error: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(&format!("\n  caused by: {text}"));
        }
        source = s.source();
    }
    if let RunError::Blocked(_) = e {
        message = message.trim_start_matches("error: ").to_string();
    }
    Failure { code, message }
}
