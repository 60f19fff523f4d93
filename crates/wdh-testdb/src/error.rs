//! Errors of the test harness.

use std::path::PathBuf;

use wdh_migrate_core::causes::causes;

/// Everything that can go wrong while starting a cluster or handing out a
/// test database. Each message says what happened and what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No directory with both `initdb` and `postgres` was found.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found; searched: {}.\n\
         Install them (Debian/Ubuntu: `apt-get install postgresql`), or set PG_BINDIR \
         to the directory that holds them",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    BinariesNotFound {
        /// Every place that was looked at, in order.
        searched: Vec<PathBuf>,
    },

    /// The process runs as root and no unprivileged account exists to own the cluster.
    #[error(
        "running as root, but no unprivileged account (`postgres` or `nobody`) exists to run \
         the server as (initdb and postgres refuse root); create one with \
         `useradd --system postgres` or run the tests as a normal user"
    )]
    NoServerUser,

    /// `initdb` failed.
    #[error("initdb failed in {dir} ({status}); last lines of its output:\n{log_tail}")]
    InitdbFailed {
        /// The data directory it was writing.
        dir: PathBuf,
        /// Its exit status.
        status: String,
        /// The tail of its output.
        log_tail: String,
    },

    /// A test certificate could not be made.
    #[error("could not make {what} for a test cluster: {reason}")]
    Certificate {
        /// What was being made.
        what: String,
        /// Why it failed.
        reason: String,
    },

    /// No free TCP port on 127.0.0.1 could be bound by the server.
    #[error(
        "the server could not listen on 127.0.0.1: ports {} were taken as it started; \
         try again", tried.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    )]
    TcpPortTaken {
        /// The ports tried.
        tried: Vec<u16>,
    },

    /// Another server already uses the socket.
    #[error(
        "the socket {socket} is taken by another server; pick another socket directory \
         or port, or stop that server"
    )]
    SocketTaken {
        /// The unix socket path.
        socket: PathBuf,
    },

    /// The server exited while starting.
    #[error(
        "the PostgreSQL server exited while starting ({status}); last lines of {log}:\n{log_tail}"
    )]
    ServerStartFailed {
        /// Its exit status.
        status: String,
        /// Where its log is.
        log: PathBuf,
        /// The tail of the log.
        log_tail: String,
    },

    /// The server did not accept connections in time.
    #[error(
        "the PostgreSQL server did not become ready within {timeout_ms} ms; last lines of {log}:\n{log_tail}"
    )]
    ServerNotReady {
        /// The timeout that expired.
        timeout_ms: u128,
        /// Where its log is.
        log: PathBuf,
        /// The tail of the log.
        log_tail: String,
    },

    /// No `pgbouncer` program was found.
    #[error(
        "PgBouncer (pgbouncer) not found; searched: {}.\n\
         Install it (Debian/Ubuntu: `apt-get install pgbouncer`; in this repository \
         `scripts/setup` does), or set PGBOUNCER to the program's path",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    PgBouncerNotFound {
        /// Every program path that was looked at, in order.
        searched: Vec<PathBuf>,
    },

    /// A PgBouncer option was refused before anything was started.
    #[error("refusing PgBouncer option `{option}`: {reason}; nothing was started")]
    PgBouncerOptionRefused {
        /// The option (a field of `PgBouncerOptions`, or a setting's name).
        option: String,
        /// Why it was refused and what to use instead.
        reason: String,
    },

    /// PgBouncer exited while starting.
    #[error("PgBouncer exited while starting ({status}); last lines of {log}:\n{log_tail}")]
    PgBouncerStartFailed {
        /// Its exit status.
        status: String,
        /// Where its log is.
        log: PathBuf,
        /// The tail of the log.
        log_tail: String,
    },

    /// PgBouncer did not accept connections in time.
    #[error(
        "PgBouncer did not accept connections within {timeout_ms} ms; last lines of {log}:\n{log_tail}"
    )]
    PgBouncerNotReady {
        /// The timeout that expired.
        timeout_ms: u128,
        /// Where its log is.
        log: PathBuf,
        /// The tail of the log.
        log_tail: String,
    },

    /// Every TCP port tried on 127.0.0.1 was taken by another process.
    #[error(
        "PgBouncer could not listen on 127.0.0.1: ports {} were taken by other processes \
         in the moment between choosing and binding them; retry, or leave \
         `PgBouncerOptions::tcp` off and use the unix socket",
        tried.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    )]
    PgBouncerPortTaken {
        /// The ports tried, in order.
        tried: Vec<u16>,
    },

    /// A command for PgBouncer's admin console was refused before it was sent.
    #[error("refusing the PgBouncer admin command `SHOW {what}`: {reason}; nothing was sent")]
    AdminCommandRefused {
        /// What was to be shown.
        what: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A test database name was refused before any statement was issued.
    #[error("refusing test database name `{name}`: {reason}; no statement was issued")]
    NameRefused {
        /// The refused name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The shared cluster of this process failed to start earlier.
    #[error("the shared test cluster of this process failed to start: {0}")]
    SharedClusterFailed(String),

    /// Building the template database for a migration set failed.
    #[error("building the template {template} failed")]
    TemplateBuild {
        /// The template database.
        template: String,
        /// What the migration run said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A template could not be cloned because sessions stay connected to it.
    #[error(
        "cannot clone the template {template}: other sessions stay connected to it ({holders}); \
         a template must have no connections while it is copied — close them"
    )]
    TemplateInUse {
        /// The template database.
        template: String,
        /// The connected sessions (pid, application, client).
        holders: String,
    },

    /// The init cache is not this user's to trust.
    #[error(
        "refusing the init cache {path}: {reason}; remove it (another user may have planted it)"
    )]
    CacheUnsafe {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A file-system operation failed.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// To which path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// A statement on the test server failed.
    #[error("{action} on the test server failed")]
    Postgres {
        /// What was being done, naming the database.
        action: String,
        /// The cause, with SQLSTATE and server message.
        #[source]
        source: postgres::Error,
    },
}

impl Error {
    /// The message and each of its causes, once, after a colon
    /// (`creating /dev/shm/x: Permission denied (os error 13)`). `Display`
    /// is the message alone; its causes are the `source` chain.
    pub fn report(&self) -> String {
        self.to_string() + &causes(std::error::Error::source(self), ": ")
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn pg(action: impl Into<String>) -> impl FnOnce(postgres::Error) -> Error {
        let action = action.into();
        move |source| Error::Postgres { action, source }
    }
}

/// A driver error as text: the server's error (severity, message, DETAIL,
/// HINT) when there is one, else the driver's message and its cause.
pub(crate) fn pg_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.to_string(),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// Result alias of the harness.
pub type Result<T, E = Error> = std::result::Result<T, E>;
