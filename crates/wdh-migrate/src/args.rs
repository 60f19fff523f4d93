//! Command-line arguments (clap). No logic here: `settings` turns them
//! into a validated configuration before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub const AFTER_HELP: &str = "\
Target resolution (first found wins; nothing later replaces it):
  --database-url  >  WDH_DATABASE_URL  >  DATABASE_URL  >  database_url in ./wdh.toml (or --config)
  With none of them, wdh-migrate refuses to run (there is no default database), unless --sandbox.
  PGHOST, PGPORT, PGDATABASE, PGUSER, PGSERVICE and the other variables that choose a server are
  never read. A password the URL lacks comes from PGPASSWORD, else the password file (passfile=,
  PGPASSFILE, ~/.pgpass); prefer the password file to a password on the command line.

TLS (as libpq): sslmode=disable|allow|prefer (default)|require|verify-ca|verify-full, sslrootcert
  (a file, or system), sslcert, sslkey, sslcrl in the connection string; PGSSLMODE, PGSSLROOTCERT,
  PGSSLCERT, PGSSLKEY, libpq's other TLS variables and ~/.postgresql/root.crt, postgresql.crt,
  postgresql.key fill in what it leaves out. The target line says where each came from.

Exit codes:
  0  success
  1  a migration or the database failed, or the server stopped answering (the message says what
     stays, or that a migration's outcome is unknown: then run `status` first)
  2  bad usage, configuration or migration files
  3  refused by the production guard (BLOCKED), or the connection reached another database, a hot
     standby or a read-only session
  4  refused by the checks: drift, missing or out-of-order migrations, irreversible
     migrations on the way, an earlier failed no-transaction migration, or lint
     errors (on a protected database, for upgrade); an adopt or baseline refused
     (nothing written)
  5  another run holds the migration lock (timed out waiting)";

/// PostgreSQL schema migrations that never touch a database you did not mean.
#[derive(Debug, Parser)]
#[command(name = "wdh-migrate", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The database to operate on (URL or key=value form). Overrides WDH_DATABASE_URL,
    /// DATABASE_URL and wdh.toml.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// The migrations folder [default: ./migrations, or `migrations` in wdh.toml].
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,

    /// The configuration file [default: ./wdh.toml when it exists].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Machine-readable output (current, history, status, lint, dry runs, upgrade and downgrade reports).
    #[arg(long, global = true)]
    pub json: bool,

    /// Print the resolved target and where it came from, then exit without connecting.
    #[arg(long, global = true)]
    pub print_target: bool,

    /// Run the command against a throw-away local cluster, removed afterwards.
    #[arg(long, global = true, conflicts_with = "database_url")]
    pub sandbox: bool,

    /// Print only errors and warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More log output (-v, -vv, -vvv); RUST_LOG, when set, decides instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Database(DatabaseCommand),
    #[command(flatten)]
    Local(LocalCommand),
}

/// Commands that need no database.
#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Check on a throw-away database that every down.sql exactly reverses its up.sql
    /// (never on the configured database).
    ///
    /// A definition that differs between two runs of an up.sql only in a time literal (a
    /// view or a default made from the current time through dynamic SQL) is a warning,
    /// not a difference.
    Check(CheckArgs),
    /// Check every migration for locks, rewrites and data loss, with PostgreSQL's parser.
    ///
    /// One finding per line (`path:line:column: error|warning[rule]: message`, then
    /// `help:` with the safe way). With a target (the usual resolution), the pending
    /// migrations are judged against its tables' sizes. Exit 4 on an error that its file
    /// does not acknowledge with `-- wdh:allow <rule> [reason]` among its first comment
    /// lines.
    Lint(LintArgs),
    /// Create wdh.toml (every key, commented, with its default) and an empty migrations folder.
    Init,
    /// Create the next migration, following the folder's layout and version style.
    New(NewArgs),
    /// Start a throw-away cluster and database, print how to connect, keep it until Ctrl-C.
    Sandbox(SandboxArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
    /// Convert another tool's migrations into a folder-layout set.
    #[command(subcommand)]
    Import(ImportFrom),
}

/// The tools `import` converts from.
#[derive(Debug, Subcommand)]
pub enum ImportFrom {
    /// Convert an Alembic project: each revision's SQL from Alembic's offline mode
    /// (`--sql`), one migration per revision, in the revision graph's order. Here
    /// --config names the Alembic configuration [default: ./alembic.ini].
    Alembic(ImportAlembicArgs),
}

#[derive(Debug, Args)]
pub struct ImportAlembicArgs {
    /// The folder to write; it must not exist or be empty [default: --migrations, else
    /// `migrations` in wdh.toml, else ./migrations].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The command that runs Alembic, e.g. "poetry run alembic" [default: `alembic` on
    /// PATH, else `python3 -m alembic`].
    #[arg(long, value_name = "COMMAND")]
    pub alembic: Option<String>,
}

/// Commands that operate on a database.
#[derive(Debug, Subcommand)]
pub enum DatabaseCommand {
    /// Apply pending migrations.
    Upgrade(UpgradeArgs),
    /// Revert applied migrations (guarded; a target is required).
    Downgrade(DowngradeArgs),
    /// Print the current version.
    Current,
    /// Print applied migrations in the order they were applied.
    History,
    /// Show every migration: applied, pending, drifted, failed, missing.
    Status,
    /// Store the environment on the database itself (production and staging protect it).
    Mark(MarkArgs),
    /// Take over another tool's ledger: record what it applied, without running any SQL.
    Adopt(AdoptArgs),
    /// Record every migration up to a version as applied, on a database with no ledger rows.
    Baseline(BaselineArgs),
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The tool whose ledger to adopt [default: the only one found].
    #[arg(long, value_name = "TOOL", value_parser = ["sqlx", "diesel", "golang-migrate", "dbmate", "goose", "flyway", "refinery", "sql-migrate", "alembic"])]
    pub from: Option<String>,

    /// Print what would be recorded; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// How long to wait for another run's lock, e.g. 30s, 500ms, 2m.
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<String>,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The newest migration the database already has (it and every one before it are recorded).
    #[arg(value_name = "VERSION")]
    pub to: String,

    /// Print what would be recorded; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// How long to wait for another run's lock, e.g. 30s, 500ms, 2m.
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// An admin URL of a server meant for tests to run on (it creates and drops a
    /// wdh_test_ database there; the check fails if the migrations change the roles,
    /// settings or databases the server's databases share) [default: a private
    /// throw-away cluster].
    #[arg(long, value_name = "URL")]
    pub admin_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lint without a target even when one is configured (table sizes unknown, counted
    /// as large).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// What the migration does, e.g. "add users table" (slugged into the name).
    #[arg(value_name = "NAME", required = true, num_args = 1..)]
    pub name: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Apply the migrations first.
    #[arg(long)]
    pub upgrade: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct MarkArgs {
    /// production, staging, test or dev.
    #[arg(value_name = "ENVIRONMENT", value_parser = ["production", "staging", "test", "dev"])]
    pub environment: String,

    /// Lock the marker: a database marked `production --locked` cannot be downgraded
    /// by any override until it is unlocked (`mark production`, itself guarded).
    #[arg(long)]
    pub locked: bool,

    /// When weakening the marker of a protected database: name the live database
    /// (also needs WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING).
    #[arg(long, value_name = "NAME")]
    pub confirm_database: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Print the plan and the exact SQL, in order; run nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Proceed although applied migrations changed or are missing (the differences are shown).
    #[arg(long)]
    pub allow_drift: bool,

    /// Retry a no-transaction migration recorded as failed, after repairing it by hand.
    #[arg(long)]
    pub retry_failed: bool,

    /// How long to wait for another run's lock, e.g. 30s, 500ms, 2m.
    #[arg(long, value_name = "DURATION")]
    pub lock_wait: Option<String>,

    /// The run lock's lease (default 10s): a run killed without releasing the lock frees it after this long.
    #[arg(long, value_name = "DURATION")]
    pub lock_lease: Option<String>,

    /// Each attempt's lock_timeout: 100ms..1s (the default) doubles from 100ms to 1s, 2s is fixed.
    /// A migration that times out rolls back and runs again, for up to --lock-budget.
    /// 0: the server's lock_timeout, no retries.
    #[arg(long, value_name = "FIRST[..MAX]")]
    pub lock_timeout: Option<String>,

    /// How long a migration, or a statement outside a transaction, retries when it cannot get
    /// a lock in time (default 60s; 0: one attempt).
    #[arg(long, value_name = "DURATION")]
    pub lock_budget: Option<String>,

    /// statement_timeout for the migrations' statements, e.g. 10m.
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,

    /// Where the snapshot of what a destructive run destroys is written (pg_dump, custom
    /// format) before its first step: default ./wdh-snapshots, or wdh.toml's snapshot_dir.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<std::path::PathBuf>,

    /// Take the snapshot on a safe database too (on a protected one it is always taken).
    #[arg(long, conflicts_with = "no_snapshot")]
    pub snapshot: bool,

    /// Run a destructive step without a snapshot; on a protected database only with the
    /// override (WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING and --confirm-database).
    #[arg(long)]
    pub no_snapshot: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// head, a version, or +N (the next N).
    #[arg(default_value = "head", value_name = "TARGET")]
    pub target: String,

    /// Apply pending migrations older than the newest applied one.
    #[arg(long)]
    pub allow_out_of_order: bool,

    /// When a pending migration holds a destructive statement (DROP TABLE, TRUNCATE, …)
    /// its file does not acknowledge: name the live protected database (also needs
    /// WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING).
    #[arg(long, value_name = "NAME")]
    pub confirm_database: Option<String>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// base, a version (it stays applied), or -N (the last N). Required: there is no default.
    #[arg(value_name = "TARGET", allow_hyphen_values = true)]
    pub target: String,

    /// On a protected database: name the live database to confirm the override
    /// (also needs WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING).
    #[arg(long, value_name = "NAME")]
    pub confirm_database: Option<String>,

    #[command(flatten)]
    pub run: RunArgs,
}
