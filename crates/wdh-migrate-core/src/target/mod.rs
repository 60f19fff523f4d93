//! Connection targets: which database a command will touch, and where that
//! choice came from.
//!
//! A [`Target`] is built once from a connection string with [`Target::parse`]
//! and never changes afterwards. Parsing enforces the rules that keep a
//! command from reaching a database nobody meant:
//!
//! * The string must name a database explicitly: a URL path
//!   (`postgres://host/dbname`), a `dbname` query parameter, or a `dbname=`
//!   setting in the key=value form. Without one, PostgreSQL connects to the
//!   database named after the user, which on many servers is `postgres`.
//! * Every place that names a database must name the same one: a URL whose
//!   path says `app_test` and whose `dbname` parameter says `app` is refused.
//! * The key=value form must be parsed completely; trailing text that the
//!   driver would silently ignore is refused.
//! * The string is read as libpq reads it, and refused wherever libpq would
//!   refuse it or read it differently from the driver: a second `@` in a
//!   URL, a `/` or `?` before its `@`, a `%` that starts no `%XX` escape,
//!   white space in a URL, a second `=` in a query value, the password given
//!   twice, a non-ASCII space outside quotes, a setting the driver does not
//!   know. The user name and password the driver reads must be libpq's.
//!
//! The password never appears in anything this module prints: [`Target`]'s
//! `Display` and `Debug`, [`Target::redacted`] and every [`TargetError`]
//! replace it with `***`, also when the string could not be parsed at all;
//! then everything that could be the password is masked (in a URL up to the
//! last `@`, a secret setting up to the next setting that libpq knows), and
//! the reason names no part of the string that could belong to it. Use
//! [`Target::scrub`], [`Secrets`] or [`redact`] to remove it from other
//! text, such as error messages from the server or the driver.
//!
//! Surrounding ASCII white space of the connection string is ignored.
//! The TLS settings (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`, …) are
//! read with libpq's meaning into [`TlsSettings`]; the caller may add
//! defaults for those the string leaves out ([`Target::with_tls_defaults`],
//! e.g. from `PGSSLMODE`), and each shows where it came from. The driver's
//! other settings are exactly what `postgres::Config::from_str` makes of
//! the string, without the settings that wdh-migrate applies itself with
//! libpq's meaning (`passfile`, `connect_timeout`, `tcp_user_timeout`,
//! `keepalives_count`, `target_session_attrs`,
//! `fallback_application_name`; see [`SessionAttrs`] and the constants of
//! this module for the defaults). `service` is refused: the string alone
//! says which database a command works on.
//!
//! A password that is not in the string comes from the caller
//! ([`PasswordSources`]: what libpq reads from `PGPASSWORD` and the
//! password file), and is looked up for each host when the target is
//! built ([`Target::with_passwords`]); it is scrubbed like the string's.

mod conn;
mod display;
mod hosts;
mod keys;
mod libpq;
mod parse;
mod passfile;
mod password;
mod redact;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use conn::{
    SessionAttrs, APPLICATION_NAME, KEEPALIVES_COUNT, KEEPALIVES_IDLE, KEEPALIVES_INTERVAL,
    TCP_USER_TIMEOUT,
};
pub use hosts::HostEntry;
pub use libpq::LibpqConnection;
pub use password::{PasswordOrigin, PasswordSources};
pub use redact::{redact, Secrets};

use crate::tls::{self, Connector, Origin, SslMode, TlsError, TlsSettings};

pub(crate) use conn::ConnSettings;
pub(crate) use password::HostPassword;

use parse::{structure, trim, Refusal, Structure};
use redact::{error_chain, unparseable};

/// Where a target came from.
///
/// The command-line front end decides this; the library only shows it, so
/// that every message says which setting chose the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The `--database-url` command-line flag.
    Flag,
    /// The `WDH_DATABASE_URL` environment variable.
    WdhDatabaseUrl,
    /// The `DATABASE_URL` environment variable.
    DatabaseUrl,
    /// The `database_url` setting in the given configuration file.
    ConfigFile(PathBuf),
    /// A throw-away database created for `--sandbox`.
    Sandbox,
    /// The `--admin-url` of a server meant for tests.
    AdminUrl,
    /// A target passed directly by a program using the library.
    Explicit,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("--database-url"),
            Source::WdhDatabaseUrl => f.write_str("WDH_DATABASE_URL"),
            Source::DatabaseUrl => f.write_str("DATABASE_URL"),
            Source::ConfigFile(path) => write!(f, "database_url in {}", path.display()),
            Source::Sandbox => f.write_str("--sandbox"),
            Source::AdminUrl => f.write_str("--admin-url"),
            Source::Explicit => f.write_str("the caller"),
        }
    }
}

/// Why a connection string was not accepted as a target.
///
/// No message contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The string is neither a valid `postgres://` URL nor valid key=value
    /// settings, or libpq and the driver would read it differently.
    #[error(
        "cannot parse the connection string {redacted} (from {origin}): {reason}. \
         No database was contacted. Fix the string: use a URL such as \
         postgres://user@host:5432/dbname or key=value settings such as \
         `host=db1 user=app dbname=app_test`."
    )]
    Unparseable {
        /// The input with anything that looks like a password replaced by `***`.
        redacted: String,
        /// Where the string came from.
        origin: Source,
        /// What is wrong with it, also scrubbed of the password.
        reason: String,
    },
    /// The string does not name a database (or names an empty one).
    #[error(
        "the connection string {redacted} (from {origin}) names no database, so \
         PostgreSQL would connect to the database named after the user (on many \
         servers `postgres`, often the production database). No database was \
         contacted. Name the database explicitly: in the URL path \
         (postgres://host/dbname) or as dbname=<name>."
    )]
    NoDatabase {
        /// The input with the password replaced by `***`.
        redacted: String,
        /// Where the string came from.
        origin: Source,
    },
    /// The TLS settings cannot be used together, or a default given for
    /// one is not a valid value.
    #[error(
        "the TLS settings of {redacted} (from {origin}) cannot be used: {reason}. No database \
         was contacted."
    )]
    Tls {
        /// The input with the password replaced by `***`.
        redacted: String,
        /// Where the string came from.
        origin: Source,
        /// What is wrong, in libpq's words where libpq has them.
        reason: String,
    },
    /// Two places in the string name different databases.
    #[error(
        "the connection string {redacted} (from {origin}) names two different \
         databases: `{first}` in {first_in} and `{second}` in {second_in}. No \
         database was contacted. Remove one of them so the string names exactly \
         one database."
    )]
    ConflictingDatabases {
        /// The input with the password replaced by `***`.
        redacted: String,
        /// Where the string came from.
        origin: Source,
        /// The database named first.
        first: String,
        /// Where the first name is written.
        first_in: DatabasePlace,
        /// A different database named later.
        second: String,
        /// Where the second name is written.
        second_in: DatabasePlace,
    },
}

/// A place in a connection string that names a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabasePlace {
    /// The path of a URL: `postgres://host/dbname`.
    UrlPath,
    /// A query parameter of a URL: `postgres://host?dbname=dbname`.
    UrlParameter,
    /// A `dbname=` setting of the key=value form.
    KeyValue,
}

impl fmt::Display for DatabasePlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatabasePlace::UrlPath => "the URL path",
            DatabasePlace::UrlParameter => "a `dbname` query parameter",
            DatabasePlace::KeyValue => "a `dbname=` setting",
        })
    }
}

/// A database to work on: validated connection settings plus the name of the
/// database they claim, and where they came from.
///
/// Immutable once built. `Display` and `Debug` never show the password.
#[derive(Clone)]
pub struct Target {
    database: String,
    source: Source,
    config: postgres::Config,
    tls: TlsSettings,
    redacted: String,
    /// The password as written in the input and as decoded; used by
    /// [`Target::scrub`]. Never printed.
    secrets: Secrets,
    /// The settings wdh-migrate applies itself.
    conn: ConnSettings,
    /// Each host's password when it is not the string's own (one entry
    /// per host; empty until [`Target::with_passwords`]).
    passwords: Vec<HostPassword>,
    /// Warnings found while building the target (an ignored password file).
    warnings: Vec<String>,
}

impl Target {
    /// Parses a connection string in URL form (`postgres://` or
    /// `postgresql://`) or libpq key=value form.
    ///
    /// # Errors
    ///
    /// * [`TargetError::Unparseable`] if the string is not a valid connection
    ///   string, or one that libpq and the driver would read differently;
    /// * [`TargetError::NoDatabase`] if it names no database or an empty one;
    /// * [`TargetError::ConflictingDatabases`] if it names two different
    ///   databases.
    pub fn parse(conn: &str, source: Source) -> Result<Target, TargetError> {
        let conn = trim(conn);
        let (parsed, mut config, settings) = read(conn, &source)?;
        let secrets = Secrets::new(parsed.secrets);
        let redacted = parsed.redacted;

        let mut named = parsed.mentions.iter().filter(|m| !m.name.is_empty());
        if let Some(first) = named.next() {
            if let Some(second) = named.find(|m| m.name != first.name) {
                return Err(TargetError::ConflictingDatabases {
                    redacted,
                    origin: source,
                    first: first.name.clone(),
                    first_in: first.place,
                    second: second.name.clone(),
                    second_in: second.place,
                });
            }
        }

        // The driver keeps the last setting; so does our reading of the string.
        let ours = parsed.mentions.last().map(|m| m.name.as_str());
        if ours != config.get_dbname() {
            return Err(TargetError::Unparseable {
                redacted,
                origin: source,
                reason: "the database name could not be read unambiguously".to_owned(),
            });
        }
        let database = match config.get_dbname() {
            Some(name) if !name.trim().is_empty() => name.to_owned(),
            _ => {
                return Err(TargetError::NoDatabase {
                    redacted,
                    origin: source,
                })
            }
        };

        let mut tls = TlsSettings::default();
        for (name, value) in &parsed.tls {
            if let Err(reason) = tls.set(name, value, Origin::ConnectionString) {
                return Err(TargetError::Tls {
                    redacted,
                    origin: source,
                    reason,
                });
            }
        }
        if let Err(reason) = check_tls(&tls, &config) {
            return Err(TargetError::Tls {
                redacted,
                origin: source,
                reason,
            });
        }
        apply_tls(&mut config, &tls);

        Ok(Target {
            database,
            source,
            config,
            tls,
            redacted,
            secrets,
            conn: settings,
            passwords: Vec::new(),
            warnings: Vec::new(),
        })
    }

    /// This target with defaults for the TLS settings its string leaves
    /// out: `(setting, value, origin)`, such as `("sslmode", "verify-full",
    /// Origin::Variable("PGSSLMODE"))` or libpq's default files. A setting
    /// the string gives is kept. The caller reads the environment and the
    /// files; the library reads neither.
    ///
    /// # Errors
    ///
    /// [`TargetError::Tls`] when a default is not a valid value for its
    /// setting, or the settings together break one of libpq's rules (such as
    /// `sslrootcert=system` with a mode weaker than `verify-full`).
    pub fn with_tls_defaults(
        mut self,
        defaults: &[(&str, String, Origin)],
    ) -> Result<Target, TargetError> {
        for (name, value, origin) in defaults {
            let filled = if TlsSettings::knows(name) {
                self.tls.fill(name, value, origin.clone())
            } else {
                Err(format!("`{name}` is not a TLS setting"))
            };
            if let Err(reason) = filled {
                return Err(TargetError::Tls {
                    redacted: self.redacted,
                    origin: self.source,
                    reason: format!("{reason} (from {origin})"),
                });
            }
        }
        if let Err(reason) = check_tls(&self.tls, &self.config) {
            return Err(TargetError::Tls {
                redacted: self.redacted,
                origin: self.source,
                reason,
            });
        }
        apply_tls(&mut self.config, &self.tls);
        Ok(self)
    }

    /// The TLS settings, each with where it came from.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// Reads the files the TLS settings name and makes the connector that
    /// opens this target's connections (nothing is read for a target of
    /// unix sockets only, which libpq never encrypts).
    ///
    /// # Errors
    ///
    /// [`TlsError`] when a file cannot be used (a key file others may
    /// read included) or a mode that verifies the server has no root
    /// certificate.
    pub fn connector(&self) -> Result<Connector, TlsError> {
        Connector::new(&self.tls, tls::any_tcp(&self.config))
    }

    /// This target with each host's password found by libpq's order when
    /// the string has none: `sources`' password (`PGPASSWORD`), else the
    /// password file (the string's `passfile`, else `sources`' file), the
    /// first line that matches the host, port, database and user. Every
    /// password found is scrubbed like the string's; a password file that
    /// its group or others may use is ignored, with a warning
    /// ([`Target::warnings`]).
    pub fn with_passwords(mut self, sources: &PasswordSources) -> Target {
        let hosts = self.hosts();
        let resolved = password::resolve(
            &hosts,
            &self.database,
            self.config.get_user(),
            self.config.get_password().is_some_and(|p| !p.is_empty()),
            self.conn.passfile.as_deref(),
            sources,
        );
        self.secrets = self.secrets.clone().with(resolved.secrets);
        self.passwords = resolved.hosts;
        self.warnings.extend(resolved.warnings);
        self
    }

    /// Warnings about this target, such as a password file that was
    /// ignored; a front end shows them with the target.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Where the passwords sent come from, when not from the string:
    /// `PGPASSWORD`, `/home/app/.pgpass line 2`, … (none: the string's
    /// own, or no password).
    pub fn password_origins(&self) -> Vec<PasswordOrigin> {
        let mut out: Vec<PasswordOrigin> = Vec::new();
        for origin in self.passwords.iter().filter_map(|p| p.origin.clone()) {
            if origin != PasswordOrigin::ConnectionString && !out.contains(&origin) {
                out.push(origin);
            }
        }
        out
    }

    /// The hosts to try, in order (libpq's `host`, `hostaddr` and `port`
    /// lists); empty when the string names none.
    pub fn hosts(&self) -> Vec<HostEntry> {
        hosts::entries(&self.config)
    }

    /// Which sessions the target accepts (`target_session_attrs`).
    pub fn session_attrs(&self) -> SessionAttrs {
        self.conn.session_attrs
    }

    /// `connect_timeout` as the string sets it (none: the caller's).
    pub fn connect_timeout(&self) -> Option<std::time::Duration> {
        self.conn.connect_timeout
    }

    /// The `application_name` of every connection: the string's, else its
    /// `fallback_application_name`, else [`APPLICATION_NAME`] (as
    /// `ConnSettings::apply` sets it).
    pub(crate) fn application_name(&self) -> &str {
        self.config
            .get_application_name()
            .or(self.conn.fallback_application_name.as_deref())
            .unwrap_or(APPLICATION_NAME)
    }

    /// The settings wdh-migrate applies itself.
    pub(crate) fn conn(&self) -> &ConnSettings {
        &self.conn
    }

    /// Host `i`'s password when it is not the string's own.
    pub(crate) fn host_password(&self, i: usize) -> Option<&HostPassword> {
        self.passwords.get(i)
    }

    /// The database this target names: the claim that the guard checks
    /// before connecting and that the server must confirm afterwards.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Where the target came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The settings to connect with, as `postgres::Config::from_str` parsed
    /// the connection string without its TLS settings (the driver's
    /// `ssl_mode`, `ssl_negotiation` and `channel_binding` set from them).
    /// Connect through [`Target::connector`], which does TLS as libpq does.
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// The connection string with every password replaced by `***`.
    pub fn redacted(&self) -> String {
        self.redacted.clone()
    }

    /// Removes this target's password from `text`, e.g. from an error
    /// message of the driver or the server, replacing it with `***`.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets.scrub(text)
    }

    /// This target's password as written and as decoded, to scrub other
    /// text with.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }
}

/// Checks a connection string that need not name a database, such as the
/// admin URL of a server meant for tests, by the rules of [`Target::parse`],
/// and returns its password to scrub other text with.
///
/// # Errors
///
/// [`TargetError::Unparseable`] if the string is not a valid connection
/// string, or one that libpq and the driver would read differently.
pub fn server_secrets(conn: &str, source: Source) -> Result<Secrets, TargetError> {
    let (parsed, _, _) = read(trim(conn), &source)?;
    Ok(Secrets::new(parsed.secrets))
}

/// The TLS settings of a connection string that need not name a database
/// (such as an admin URL), by the rules of [`Target::parse`].
///
/// # Errors
///
/// [`TargetError::Unparseable`] or [`TargetError::Tls`], as
/// [`Target::parse`] would refuse the string.
pub fn server_tls(conn: &str, source: Source) -> Result<TlsSettings, TargetError> {
    let (parsed, config, _) = read(trim(conn), &source)?;
    let mut tls = TlsSettings::default();
    for (name, value) in &parsed.tls {
        if let Err(reason) = tls.set(name, value, Origin::ConnectionString) {
            return Err(TargetError::Tls {
                redacted: parsed.redacted,
                origin: source,
                reason,
            });
        }
    }
    if let Err(reason) = check_tls(&tls, &config) {
        return Err(TargetError::Tls {
            redacted: parsed.redacted,
            origin: source,
            reason,
        });
    }
    Ok(tls)
}

/// Reads `conn` as libpq would and as the driver does, and refuses it
/// unless both read it alike: the same user and the same password.
fn read(
    conn: &str,
    source: &Source,
) -> Result<(Structure, postgres::Config, ConnSettings), TargetError> {
    let refuse = |refusal| Err(unparseable(conn, source.clone(), refusal));
    let parsed = match structure(conn) {
        Ok(parsed) => parsed,
        Err(refusal) => return refuse(refusal),
    };
    let settings = match ConnSettings::read(&parsed.applied, &parsed.names) {
        Ok(settings) => settings,
        Err(refusal) => return refuse(refusal),
    };
    let config = match postgres::Config::from_str(&parsed.driver) {
        Ok(config) => config,
        Err(err) => return refuse(Refusal::Driver(error_chain(&err))),
    };
    // libpq ignores an empty user name or password; so does our reading.
    let driver_password = config.get_password().filter(|p| !p.is_empty());
    let driver_user = config.get_user().filter(|u| !u.is_empty());
    if driver_password != parsed.password.as_deref() || driver_user != parsed.user.as_deref() {
        return refuse(Refusal::Plain(
            "libpq and the driver would not read the same user name and password from it"
                .to_owned(),
        ));
    }
    if let Err(reason) = hosts::check(&config) {
        return refuse(Refusal::Plain(reason));
    }
    Ok((parsed, config, settings))
}

/// The TLS rules that depend on the hosts, after libpq's own
/// ([`TlsSettings`]'s).
fn check_tls(tls: &TlsSettings, config: &postgres::Config) -> Result<(), String> {
    use postgres::config::Host;
    tls.check()?;
    let mode = tls.mode();
    if mode == SslMode::VerifyFull
        && config.get_hosts().is_empty()
        && !config.get_hostaddrs().is_empty()
    {
        return Err(
            "sslmode=verify-full checks the server's certificate against the host name, but only \
             hostaddr is given; add host=NAME, a name the certificate names"
                .to_owned(),
        );
    }
    let unix = config
        .get_hosts()
        .iter()
        .any(|h| !matches!(h, Host::Tcp(_)));
    if unix && tls::any_tcp(config) && !mode.allows_plain() {
        return Err(format!(
            "sslmode={mode} needs TLS, which a unix socket never has, and the host list mixes \
             unix sockets with TCP hosts; list only TCP hosts, or connect to the socket with a \
             target of its own"
        ));
    }
    Ok(())
}

/// Tells the driver what it needs of the TLS settings: the channel binding
/// and, for its own record, the mode and the negotiation (the connector
/// sets both per attempt).
fn apply_tls(config: &mut postgres::Config, tls: &TlsSettings) {
    use postgres::config::SslMode as Driver;
    if let Some(binding) = tls.channel_binding() {
        config.channel_binding(binding);
    }
    config.ssl_negotiation(tls.negotiation());
    config.ssl_mode(match tls.mode() {
        SslMode::Disable => Driver::Disable,
        SslMode::Allow | SslMode::Prefer => Driver::Prefer,
        _ => Driver::Require,
    });
}
