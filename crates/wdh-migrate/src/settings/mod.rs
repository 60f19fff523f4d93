//! Settings, resolved once at the edge, before any work: the command line
//! (clap's [`Cli`]), the environment ([`Env`]) and `wdh.toml` ([`Config`])
//! become one validated [`Settings`]. Destinations, durations, markers,
//! paths, the safety policy and the target are parsed here, so a bad
//! argument fails with exit 2 before a cluster starts or a connection opens.
//!
//! Order of the target: `--database-url` > `WDH_DATABASE_URL` >
//! `DATABASE_URL` > `database_url` in `./wdh.toml` (or `--config FILE`).
//! Nothing later replaces the target chosen here.

mod config;
mod duration;
mod env;
mod target;

use std::path::PathBuf;

use anyhow::Context;
use wdh_migrate_core::guard::{Marker, Override};
use wdh_migrate_core::plan::{Allow, DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{LockSchedule, RunOptions};
use wdh_migrate_core::snapshot::{SnapshotMode, SnapshotOptions};
use wdh_migrate_core::target::{server_secrets, server_tls, Secrets, Source, Target};
use wdh_migrate_core::tls::SslMode;

use crate::args::{self, Cli, RunArgs};
use crate::error::CliError;

pub use config::{Config, ConfigFile};
pub use duration::{parse_duration, parse_duration_or_zero, parse_lock_timeout};
pub use env::{Env, TLS_VARIABLES};

/// Everything a command needs, validated.
#[derive(Debug)]
pub struct Settings {
    /// How results are printed.
    pub output: Output,
    /// The migrations folder: `--migrations`, else `migrations` in the
    /// config file (relative to the file), else `./migrations`.
    pub migrations: PathBuf,
    /// What to do.
    pub action: Action,
}

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`.
    pub json: bool,
    /// `--quiet`.
    pub quiet: bool,
}

/// Where a database command runs.
#[derive(Debug)]
pub enum Place {
    /// The configured database.
    Target(Box<Target>),
    /// A throw-away cluster started for this command (`--sandbox`).
    Sandbox,
}

/// What to do.
#[derive(Debug)]
pub enum Action {
    /// `--print-target`: say where a database command would run, and stop.
    PrintTarget(Place),
    /// A command that runs on a database.
    Database(Place, Box<DatabaseJob>),
    /// A command that needs no database.
    Local(LocalJob),
}

/// A database command with its validated arguments.
#[derive(Debug)]
pub enum DatabaseJob {
    /// `upgrade`.
    Upgrade {
        /// Where to.
        to: UpgradeTo,
        /// `--dry-run`.
        dry_run: bool,
        /// The run's options.
        options: RunOptions,
    },
    /// `downgrade`.
    Downgrade {
        /// Where to.
        to: DowngradeTo,
        /// `--dry-run`.
        dry_run: bool,
        /// The run's options, with the override.
        options: RunOptions,
    },
    /// `current`.
    Current,
    /// `history`.
    History,
    /// `status`.
    Status,
    /// `mark`.
    Mark {
        /// The new marker.
        to: Marker,
        /// The policy and the override.
        options: RunOptions,
    },
    /// `adopt`.
    Adopt {
        /// `--from`.
        from: Option<wdh_migrate_core::adopt::Tool>,
        /// `--dry-run`.
        dry_run: bool,
        /// The run's options (the lock wait).
        options: RunOptions,
    },
    /// `baseline`.
    Baseline {
        /// The version.
        version: String,
        /// `--dry-run`.
        dry_run: bool,
        /// The run's options (the lock wait).
        options: RunOptions,
    },
}

/// A local command with its validated arguments.
#[derive(Debug)]
pub enum LocalJob {
    /// `lint`.
    Lint {
        /// The target, when one is configured and not `--offline`.
        target: Option<Box<Target>>,
        /// The thresholds and the connection's settings.
        options: Box<RunOptions>,
        /// `--print-target`: say where it would run, and stop.
        print_target: bool,
    },
    /// `check`.
    Check {
        /// `--admin-url`, checked by `Target::parse`'s rules.
        admin_url: Option<String>,
        /// Its password, to scrub from every message.
        admin_secrets: Secrets,
    },
    /// `init`: the folder to create.
    Init {
        /// The migrations folder as given (not relative to a config file).
        folder: PathBuf,
    },
    /// `new`: the migration's name.
    New {
        /// The words, joined with spaces.
        name: String,
    },
    /// `sandbox`.
    Sandbox {
        /// `--upgrade`.
        upgrade: bool,
    },
    /// `completions`.
    Completions(clap_complete::Shell),
    /// `man`.
    Man,
    /// `import alembic`.
    ImportAlembic {
        /// The Alembic configuration (`--config`, default `./alembic.ini`).
        config: PathBuf,
        /// The folder to write.
        out: PathBuf,
        /// `--alembic`.
        alembic: Option<String>,
    },
}

impl Settings {
    /// Builds the settings from the command line, the environment and the
    /// configuration file; fails (exit 2) on anything invalid.
    pub fn resolve(cli: &Cli, env: &Env) -> Result<Settings, CliError> {
        let global = &cli.global;
        // For `import alembic`, --config names the Alembic configuration.
        let importing = matches!(
            &cli.command,
            args::Command::Local(args::LocalCommand::Import(_))
        );
        let wdh_toml = global.config.as_deref().filter(|_| !importing);
        let config = config::load(wdh_toml).map_err(CliError::Usage)?;
        let migrations = match (&global.migrations, &config.values.migrations) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => config.relative(dir),
            _ => PathBuf::from("migrations"),
        };
        let output = Output {
            json: global.json,
            quiet: global.quiet,
        };
        let action = match &cli.command {
            args::Command::Local(local) => {
                Action::Local(local_job(local, cli, env, &config, &migrations)?)
            }
            args::Command::Database(command) => {
                let job = database_job(command, env, &config)?;
                let place = if global.sandbox {
                    Place::Sandbox
                } else {
                    Place::Target(Box::new(
                        target::resolve(global.database_url.as_ref(), env, &config)
                            .map_err(CliError::Usage)?,
                    ))
                };
                if global.print_target {
                    Action::PrintTarget(place)
                } else {
                    Action::Database(place, Box::new(job))
                }
            }
        };
        Ok(Settings {
            output,
            migrations,
            action,
        })
    }
}

fn local_job(
    command: &args::LocalCommand,
    cli: &Cli,
    env: &Env,
    config: &Config,
    migrations: &std::path::Path,
) -> Result<LocalJob, CliError> {
    Ok(match command {
        args::LocalCommand::Lint(a) => {
            if cli.global.sandbox {
                return Err(CliError::usage(
                    "lint never starts a cluster: give it a target to judge the migrations against its tables, \
                     or none to lint without one",
                ));
            }
            let target = if a.offline {
                if cli.global.database_url.is_some() {
                    return Err(CliError::usage(
                        "--offline lints without a target: drop --database-url, or --offline",
                    ));
                }
                None
            } else {
                target::find(cli.global.database_url.as_ref(), env, config)
                    .map_err(CliError::Usage)?
                    .map(Box::new)
            };
            LocalJob::Lint {
                target,
                options: Box::new(RunOptions {
                    lint: config.thresholds(),
                    client: client_name(),
                    ..RunOptions::default()
                }),
                print_target: cli.global.print_target,
            }
        }
        args::LocalCommand::Check(a) => {
            if cli.global.database_url.is_some() || cli.global.sandbox {
                return Err(CliError::usage(
                    "check never runs on a configured database: it makes its own throw-away one; \
                     use --admin-url URL for a server meant for tests",
                ));
            }
            let admin_secrets = match &a.admin_url {
                Some(url) => {
                    let secrets = server_secrets(url, Source::AdminUrl)
                        .map_err(|e| CliError::Usage(e.into()))?;
                    let tls =
                        server_tls(url, Source::AdminUrl).map_err(|e| CliError::Usage(e.into()))?;
                    let mode = tls.mode();
                    if !tls.only_mode() || !matches!(mode, SslMode::Disable | SslMode::Prefer) {
                        return Err(CliError::usage(format!(
                            "check --admin-url is given TLS settings (sslmode={mode}), but check \
                             connects to a server meant for tests without TLS; give a server it \
                             can reach in plain text (a unix socket, or a trusted network) with \
                             no TLS setting but sslmode=disable or prefer, or run `wdh-migrate \
                             check` without --admin-url on a private cluster"
                        )));
                    }
                    secrets
                }
                None => Secrets::default(),
            };
            LocalJob::Check {
                admin_url: a.admin_url.clone(),
                admin_secrets,
            }
        }
        args::LocalCommand::Init => LocalJob::Init {
            folder: cli
                .global
                .migrations
                .clone()
                .unwrap_or_else(|| "migrations".into()),
        },
        args::LocalCommand::New(a) => LocalJob::New {
            name: a.name.join(" "),
        },
        args::LocalCommand::Sandbox(a) => LocalJob::Sandbox { upgrade: a.upgrade },
        args::LocalCommand::Completions(a) => LocalJob::Completions(a.shell),
        args::LocalCommand::Man => LocalJob::Man,
        args::LocalCommand::Import(args::ImportFrom::Alembic(a)) => {
            if cli.global.database_url.is_some() || cli.global.sandbox || cli.global.print_target {
                return Err(CliError::usage(
                    "import reads and writes files only: it takes no database (--database-url, \
                     --sandbox, --print-target)",
                ));
            }
            LocalJob::ImportAlembic {
                config: cli
                    .global
                    .config
                    .clone()
                    .unwrap_or_else(|| "alembic.ini".into()),
                out: a.out.clone().unwrap_or_else(|| migrations.to_path_buf()),
                alembic: a.alembic.clone(),
            }
        }
    })
}

fn database_job(
    command: &args::DatabaseCommand,
    env: &Env,
    config: &Config,
) -> Result<DatabaseJob, CliError> {
    Ok(match command {
        args::DatabaseCommand::Upgrade(a) => {
            let to = a.target.parse().map_err(CliError::usage)?;
            let mut options = run_options(&a.run, config, env, a.confirm_database.as_ref())?;
            options.allow.out_of_order = a.allow_out_of_order;
            DatabaseJob::Upgrade {
                to,
                dry_run: a.run.dry_run,
                options,
            }
        }
        args::DatabaseCommand::Downgrade(a) => DatabaseJob::Downgrade {
            to: a.target.parse().map_err(CliError::usage)?,
            dry_run: a.run.dry_run,
            options: run_options(&a.run, config, env, a.confirm_database.as_ref())?,
        },
        args::DatabaseCommand::Current => DatabaseJob::Current,
        args::DatabaseCommand::History => DatabaseJob::History,
        args::DatabaseCommand::Status => DatabaseJob::Status,
        args::DatabaseCommand::Adopt(a) => DatabaseJob::Adopt {
            from: a
                .from
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(CliError::usage)?,
            dry_run: a.dry_run,
            options: record_options(a.lock_wait.as_ref(), config)?,
        },
        args::DatabaseCommand::Baseline(a) => {
            if !a.to.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(CliError::usage(format!(
                    "`{}` is not a version: baseline takes the version of the newest migration the database already has",
                    a.to
                )));
            }
            DatabaseJob::Baseline {
                version: a.to.clone(),
                dry_run: a.dry_run,
                options: record_options(a.lock_wait.as_ref(), config)?,
            }
        }
        args::DatabaseCommand::Mark(a) => DatabaseJob::Mark {
            to: Marker {
                environment: a.environment.parse().map_err(CliError::usage)?,
                locked: a.locked,
            },
            options: RunOptions {
                policy: config.policy(),
                override_: override_(env, a.confirm_database.as_ref()),
                ..RunOptions::default()
            },
        },
    })
}

fn run_options(
    run: &RunArgs,
    config: &Config,
    env: &Env,
    confirm: Option<&String>,
) -> Result<RunOptions, CliError> {
    let values = &config.values;
    let duration = |flag: &Option<String>, file: &Option<String>, name: &str| {
        flag.as_ref()
            .or(file.as_ref())
            .map(|v| parse_duration(v).with_context(|| format!("--{name}")))
            .transpose()
            .map_err(CliError::Usage)
    };
    let lock_wait = duration(&run.lock_wait, &values.lock_wait, "lock-wait")?;
    let lock_lease = duration(&run.lock_lease, &values.lock_lease, "lock-lease")?;
    if lock_lease.is_some_and(|l| l < std::time::Duration::from_millis(100)) {
        return Err(CliError::Usage(anyhow::anyhow!(
            "--lock-lease must be at least 100ms: a shorter lease expires between two renewals"
        )));
    }
    let defaults = RunOptions::default();
    Ok(RunOptions {
        lock_wait: lock_wait.unwrap_or(defaults.lock_wait),
        lock_lease: lock_lease.unwrap_or(defaults.lock_lease),
        client: client_name(),
        lock_timeout: lock_schedule(run, values)?,
        statement_timeout: duration(
            &run.statement_timeout,
            &values.statement_timeout,
            "statement-timeout",
        )?,
        allow: Allow {
            drift: run.allow_drift,
            out_of_order: false,
        },
        retry_failed: run.retry_failed,
        policy: config.policy(),
        override_: override_(env, confirm),
        lint: config.thresholds(),
        snapshot: snapshot_options(run, config),
        ..defaults
    })
}

/// Where snapshots go (`--snapshot-dir`, else `wdh.toml`'s `snapshot_dir`
/// relative to the file, else `./wdh-snapshots`), when they are taken, and
/// the `pg_dump` programs to choose from, found as the test harness finds
/// PostgreSQL's programs (`PG_BINDIR`, `/usr/lib/postgresql/*/bin` newest
/// first, `PATH`).
fn snapshot_options(run: &RunArgs, config: &Config) -> SnapshotOptions {
    let defaults = SnapshotOptions::default();
    SnapshotOptions {
        mode: if run.snapshot {
            SnapshotMode::Always
        } else if run.no_snapshot {
            SnapshotMode::Never
        } else {
            SnapshotMode::Protected
        },
        dir: run
            .snapshot_dir
            .clone()
            .or_else(|| {
                config
                    .values
                    .snapshot_dir
                    .as_ref()
                    .map(|d| config.relative(d))
            })
            .unwrap_or(defaults.dir),
        pg_dump: wdh_testdb::Locator::from_env().candidates("pg_dump"),
    }
}

/// The options of `adopt` and `baseline`: the lock wait (flag, else file).
fn record_options(lock_wait: Option<&String>, config: &Config) -> Result<RunOptions, CliError> {
    let defaults = RunOptions::default();
    let lock_wait = lock_wait
        .or(config.values.lock_wait.as_ref())
        .map(|v| parse_duration(v).context("--lock-wait"))
        .transpose()
        .map_err(CliError::Usage)?;
    Ok(RunOptions {
        lock_wait: lock_wait.unwrap_or(defaults.lock_wait),
        client: client_name(),
        policy: config.policy(),
        ..defaults
    })
}

/// The lock schedule from `--lock-timeout` and `--lock-budget` (else
/// `wdh.toml`, else the defaults); none with a lock timeout of 0.
fn lock_schedule(run: &RunArgs, values: &ConfigFile) -> Result<Option<LockSchedule>, CliError> {
    let usage = |name: &'static str| {
        move |e: anyhow::Error| CliError::Usage(e.context(format!("--{name}")))
    };
    let timeouts = match run.lock_timeout.as_ref().or(values.lock_timeout.as_ref()) {
        Some(v) => parse_lock_timeout(v).map_err(usage("lock-timeout"))?,
        None => Some((LockSchedule::DEFAULT.first, LockSchedule::DEFAULT.max)),
    };
    let budget = match run.lock_budget.as_ref().or(values.lock_budget.as_ref()) {
        Some(v) => parse_duration_or_zero(v).map_err(usage("lock-budget"))?,
        None => LockSchedule::DEFAULT.budget,
    };
    Ok(timeouts.map(|(first, max)| LockSchedule { first, max, budget }))
}

/// How a run names itself in the lock row: program, version, host and
/// process.
fn client_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let host = (rc == 0)
        .then(|| {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        })
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!(
            "wdh-migrate {} on {host} (process {})",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ),
        None => wdh_migrate_core::runner::default_client(),
    }
}

/// The guard's override as this invocation gives it: the variable, read
/// once, and `--confirm-database`.
fn override_(env: &Env, confirm: Option<&String>) -> Override {
    Override {
        allow_variable: env.allow_production_downgrade.clone(),
        confirm_database: confirm.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;

    fn settings(args: &[&str], env: &Env) -> Result<Settings, CliError> {
        let cli = Cli::try_parse_from(std::iter::once("wdh-migrate").chain(args.iter().copied()))
            .unwrap();
        Settings::resolve(&cli, env)
    }

    #[test]
    fn a_bad_destination_or_duration_is_a_usage_error() {
        for args in [
            &["--sandbox", "downgrade", "garbage"][..],
            &[
                "--database-url",
                "postgresql://h/wdh_test_x",
                "upgrade",
                "sideways",
            ],
            &["--sandbox", "upgrade", "+0"],
            &["--sandbox", "upgrade", "--lock-wait", "soon"],
            &["--sandbox", "downgrade", "-1", "--statement-timeout", "0"],
        ] {
            let e = settings(args, &Env::default()).unwrap_err();
            assert_eq!(e.code(), crate::error::Exit::Usage, "{args:?}");
        }
    }

    #[test]
    fn the_sandbox_never_reads_the_configured_target() {
        let env = Env {
            database_url: Some("postgresql://h/prod".into()),
            ..Env::default()
        };
        let s = settings(&["--sandbox", "--print-target", "status"], &env).unwrap();
        assert!(matches!(s.action, Action::PrintTarget(Place::Sandbox)));
    }

    #[test]
    fn durations_come_from_the_flag_else_the_file() {
        let s = settings(
            &[
                "--database-url",
                "postgresql://h/wdh_test_x",
                "upgrade",
                "--lock-timeout",
                "2s",
            ],
            &Env::default(),
        )
        .unwrap();
        let Action::Database(_, job) = s.action else {
            panic!("a database command");
        };
        let DatabaseJob::Upgrade { options, .. } = *job else {
            panic!("an upgrade");
        };
        let fixed = Duration::from_secs(2);
        assert_eq!(
            options.lock_timeout,
            Some(LockSchedule {
                first: fixed,
                max: fixed,
                budget: LockSchedule::DEFAULT.budget
            })
        );
        assert_eq!(options.lock_wait, RunOptions::default().lock_wait);
    }

    fn upgrade_options(args: &[&str], config: Option<&str>) -> Result<RunOptions, CliError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wdh.toml");
        std::fs::write(&file, config.unwrap_or("")).unwrap();
        let mut all = vec![
            "--config",
            file.to_str().unwrap(),
            "--database-url",
            "postgresql://h/wdh_test_x",
            "upgrade",
        ];
        all.extend_from_slice(args);
        let Action::Database(_, job) = settings(&all, &Env::default())?.action else {
            panic!("a database command");
        };
        let DatabaseJob::Upgrade { options, .. } = *job else {
            panic!("an upgrade");
        };
        Ok(options)
    }

    #[test]
    fn the_lock_schedule_comes_from_the_flags_else_the_file_else_the_defaults() {
        let ms = Duration::from_millis;
        let schedule = |args: &[&str], config: Option<&str>| {
            upgrade_options(args, config).unwrap().lock_timeout
        };
        assert_eq!(schedule(&[], None), Some(LockSchedule::DEFAULT));
        assert_eq!(
            schedule(&["--lock-timeout", "50ms..2s", "--lock-budget", "0"], None),
            Some(LockSchedule {
                first: ms(50),
                max: ms(2000),
                budget: Duration::ZERO
            })
        );
        assert_eq!(schedule(&["--lock-timeout", "0"], None), None, "off");
        let file = "lock_timeout = \"1s\"\nlock_budget = \"5m\"\n";
        assert_eq!(
            schedule(&[], Some(file)),
            Some(LockSchedule {
                first: ms(1000),
                max: ms(1000),
                budget: ms(300_000)
            })
        );
        assert_eq!(
            schedule(&["--lock-budget", "10s"], Some(file)).map(|s| s.budget),
            Some(ms(10_000)),
            "the flag wins"
        );
        for bad in [
            &["--lock-timeout", "1s..100ms"][..],
            &["--lock-timeout", "soon"],
            &["--lock-budget", "1 fortnight"],
            &["--lock-timeout", "0..1s"],
        ] {
            let e = upgrade_options(bad, None).unwrap_err();
            assert_eq!(e.code(), crate::error::Exit::Usage, "{bad:?}");
        }
    }

    #[test]
    fn migrations_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wdh.toml");
        std::fs::write(&file, "migrations = \"db/migrations\"\n").unwrap();
        let file = file.to_str().unwrap();
        let s = settings(&["--config", file, "--sandbox", "status"], &Env::default()).unwrap();
        assert_eq!(s.migrations, dir.path().join("db/migrations"));
        let s = settings(&["--sandbox", "status"], &Env::default()).unwrap();
        assert_eq!(s.migrations, PathBuf::from("migrations"));
    }
}
