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
//!
//! The password never appears in anything this module prints: [`Target`]'s
//! `Display` and `Debug`, [`Target::redacted`] and every [`TargetError`]
//! replace it with `***`, also when the string could not be parsed at all.
//! Use [`Target::scrub`] or [`redact`] to remove it from other text, such as
//! error messages from the server or the driver.
//!
//! Surrounding whitespace of the connection string is ignored. Nothing else
//! is rewritten: the connection settings are exactly what
//! `postgres::Config::from_str` makes of the string.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use postgres::config::Host;

/// The replacement text for a password.
const MASK: &str = "***";

/// The port PostgreSQL listens on unless told otherwise.
const DEFAULT_PORT: u16 = 5432;

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
    /// settings.
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
    redacted: String,
    /// The password as written in the input and as decoded; used by
    /// [`Target::scrub`]. Never printed.
    secrets: Vec<String>,
}

impl Target {
    /// Parses a connection string in URL form (`postgres://` or
    /// `postgresql://`) or libpq key=value form.
    ///
    /// # Errors
    ///
    /// * [`TargetError::Unparseable`] if the string is not a valid connection
    ///   string;
    /// * [`TargetError::NoDatabase`] if it names no database or an empty one;
    /// * [`TargetError::ConflictingDatabases`] if it names two different
    ///   databases.
    pub fn parse(conn: &str, source: Source) -> Result<Target, TargetError> {
        let conn = conn.trim();

        let config = match postgres::Config::from_str(conn) {
            Ok(config) => config,
            Err(err) => return Err(unparseable(conn, source, &error_chain(&err))),
        };
        let parsed = match structure(conn) {
            Ok(parsed) => parsed,
            Err(reason) => return Err(unparseable(conn, source, &reason)),
        };

        let mut secrets = parsed.secrets;
        if let Some(password) = config.get_password() {
            secrets.push(String::from_utf8_lossy(password).into_owned());
        }
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
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

        Ok(Target {
            database,
            source,
            config,
            redacted,
            secrets,
        })
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

    /// The settings to connect with, exactly as `postgres::Config::from_str`
    /// parsed the connection string.
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// The connection string with every password replaced by `***`.
    pub fn redacted(&self) -> String {
        self.redacted.clone()
    }

    /// The hosts the target connects to, e.g. `db1:5432` or
    /// `/run/postgresql (unix socket)`; several hosts are separated by `, `.
    pub fn hosts_display(&self) -> String {
        let hosts = self.config.get_hosts();
        let addrs = self.config.get_hostaddrs();
        let ports = self.config.get_ports();
        let count = hosts.len().max(addrs.len());
        if count == 0 {
            return "no host given".to_owned();
        }
        let mut parts = Vec::with_capacity(count);
        for i in 0..count {
            let port = ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT);
            let addr = addrs.get(i);
            let part = match (hosts.get(i), addr) {
                (Some(Host::Tcp(name)), None) => format!("{}:{port}", bracket_ipv6(name)),
                (Some(Host::Tcp(name)), Some(addr)) => {
                    format!("{}:{port} (address {addr})", bracket_ipv6(name))
                }
                #[cfg(unix)]
                (Some(Host::Unix(path)), _) if port == DEFAULT_PORT => {
                    format!("{} (unix socket)", path.display())
                }
                #[cfg(unix)]
                (Some(Host::Unix(path)), _) => {
                    format!("{} (unix socket, port {port})", path.display())
                }
                (None, Some(addr)) => format!("{}:{port}", bracket_ipv6(&addr.to_string())),
                (None, None) => "no host given".to_owned(),
            };
            parts.push(part);
        }
        parts.join(", ")
    }

    /// Removes this target's password from `text`, e.g. from an error
    /// message of the driver or the server, replacing it with `***`.
    pub fn scrub(&self, text: &str) -> String {
        scrub_all(text, &self.secrets)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {})", self.redacted, self.source)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("database", &self.database)
            .field("source", &self.source)
            .field("redacted", &self.redacted)
            .finish_non_exhaustive()
    }
}

/// Replaces every occurrence of `password` in `text` with `***`, and
/// additionally masks anything in `text` that looks like a password in a
/// connection string (`user:secret@` in a URL, `password=secret` settings).
///
/// Use it for text that may quote a connection string or a known password,
/// such as an error message from the server. An empty `password` only
/// applies the pattern-based masking.
pub fn redact(text: &str, password: &str) -> String {
    let scrubbed = if password.is_empty() {
        text.to_owned()
    } else {
        text.replace(password, MASK)
    };
    best_effort_redact(&scrubbed, false).0
}

/// Builds the error for a string that could not be parsed, redacting the
/// input and the reason on a best-effort basis.
fn unparseable(conn: &str, origin: Source, reason: &str) -> TargetError {
    let (redacted, mut secrets) = best_effort_redact(conn, true);
    secrets.retain(|s| !s.is_empty());
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let reason = best_effort_redact(&scrub_all(reason, &secrets), false).0;
    TargetError::Unparseable {
        redacted: scrub_all(&redacted, &secrets),
        origin,
        reason,
    }
}

/// An error and its causes, joined with `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Replaces every occurrence of each (non-empty) secret with `***`.
fn scrub_all(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// Puts an IPv6 address in brackets so that the port stays readable.
fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// One place in the connection string that names a database.
#[derive(Debug)]
struct Mention {
    name: String,
    place: DatabasePlace,
}

/// What we read from a connection string that the driver accepted.
#[derive(Debug)]
struct Structure {
    /// The string with password values replaced by `***`.
    redacted: String,
    /// Every database name, in the order the driver applies them.
    mentions: Vec<Mention>,
    /// Password values exactly as written.
    secrets: Vec<String>,
}

/// Reads the parts of a connection string that matter for safety, following
/// the same rules as `postgres::Config::from_str`.
fn structure(conn: &str) -> Result<Structure, String> {
    for prefix in ["postgres://", "postgresql://"] {
        if let Some(rest) = conn.strip_prefix(prefix) {
            return structure_url(prefix, rest);
        }
    }
    structure_key_value(conn)
}

fn structure_url(prefix: &str, mut rest: &str) -> Result<Structure, String> {
    let mut redacted = String::from(prefix);
    let mut mentions = Vec::new();
    let mut secrets = Vec::new();

    // Credentials end at the first `@`, as in the driver.
    if let Some(at) = rest.find('@') {
        let credentials = &rest[..at];
        match credentials.split_once(':') {
            Some((user, password)) => {
                redacted.push_str(user);
                redacted.push(':');
                redacted.push_str(MASK);
                secrets.push(password.to_owned());
                secrets.push(percent_decode_lossy(password));
            }
            None => redacted.push_str(credentials),
        }
        redacted.push('@');
        rest = &rest[at + 1..];
    }

    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let hosts = &rest[..host_end];
    if hosts.contains('@') {
        return Err(
            "the host part contains `@`; write `@` in a user name or password as `%40`".to_owned(),
        );
    }
    redacted.push_str(hosts);
    rest = &rest[host_end..];

    if let Some(path) = rest.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        let raw = &path[..end];
        redacted.push('/');
        redacted.push_str(raw);
        if !raw.is_empty() {
            mentions.push(Mention {
                name: percent_decode(raw)?,
                place: DatabasePlace::UrlPath,
            });
        }
        rest = &path[end..];
    }

    if let Some(mut query) = rest.strip_prefix('?') {
        redacted.push('?');
        while !query.is_empty() {
            let Some(eq) = query.find('=') else {
                return Err("a query parameter has no `=`".to_owned());
            };
            let raw_key = &query[..eq];
            let key = percent_decode(raw_key)?;
            let after = &query[eq + 1..];
            let (raw_value, next, more) = match after.find('&') {
                Some(amp) => (&after[..amp], &after[amp + 1..], true),
                None => (after, "", false),
            };
            redacted.push_str(raw_key);
            redacted.push('=');
            match key.as_str() {
                "password" => {
                    redacted.push_str(MASK);
                    secrets.push(raw_value.to_owned());
                    secrets.push(percent_decode_lossy(raw_value));
                }
                "dbname" => {
                    redacted.push_str(raw_value);
                    mentions.push(Mention {
                        name: percent_decode(raw_value)?,
                        place: DatabasePlace::UrlParameter,
                    });
                }
                _ => redacted.push_str(raw_value),
            }
            if more {
                redacted.push('&');
            }
            query = next;
        }
    }

    Ok(Structure {
        redacted,
        mentions,
        secrets,
    })
}

fn structure_key_value(conn: &str) -> Result<Structure, String> {
    let mut redacted = String::new();
    let mut mentions = Vec::new();
    let mut secrets = Vec::new();
    let mut copied = 0;
    let mut cursor = Cursor::new(conn);

    loop {
        cursor.skip_whitespace();
        let key_start = cursor.pos();
        cursor.take_while(|c| !c.is_whitespace() && c != '=');
        let key = &conn[key_start..cursor.pos()];
        if key.is_empty() {
            break;
        }
        cursor.skip_whitespace();
        if !cursor.eat('=') {
            return Err(format!("the setting `{key}` has no `=` after it"));
        }
        cursor.skip_whitespace();
        let value_start = cursor.pos();
        let value = cursor.value()?;
        let value_end = cursor.pos();
        match key {
            "password" => {
                redacted.push_str(&conn[copied..value_start]);
                redacted.push_str(MASK);
                copied = value_end;
                secrets.push(conn[value_start..value_end].to_owned());
                secrets.push(value);
            }
            "dbname" => mentions.push(Mention {
                name: value,
                place: DatabasePlace::KeyValue,
            }),
            _ => {}
        }
    }
    if !cursor.at_end() {
        return Err(format!(
            "unexpected `=` at byte {} with no setting name before it",
            cursor.pos()
        ));
    }
    redacted.push_str(&conn[copied..]);

    Ok(Structure {
        redacted,
        mentions,
        secrets,
    })
}

/// A position in a key=value connection string.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn pos(&self) -> usize {
        self.pos
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.pos += want.len_utf8();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !keep(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn skip_whitespace(&mut self) {
        self.take_while(char::is_whitespace);
    }

    /// Reads a value: `'quoted'` or bare, with backslash escapes.
    fn value(&mut self) -> Result<String, String> {
        let mut value = String::new();
        if self.eat('\'') {
            loop {
                match self.bump() {
                    None => return Err("a quoted value is not terminated".to_owned()),
                    Some('\'') => return Ok(value),
                    Some('\\') => {
                        if let Some(c) = self.bump() {
                            value.push(c);
                        }
                    }
                    Some(c) => value.push(c),
                }
            }
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
            if c == '\\' {
                if let Some(escaped) = self.bump() {
                    value.push(escaped);
                }
            } else {
                value.push(c);
            }
        }
        if value.is_empty() {
            return Err("a setting has no value".to_owned());
        }
        Ok(value)
    }
}

/// Decodes `%XX` escapes; other `%` signs are kept as they are.
fn percent_decode_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes a URL component that must be UTF-8.
fn percent_decode(text: &str) -> Result<String, String> {
    String::from_utf8(percent_decode_bytes(text))
        .map_err(|_| "a percent-encoded part is not valid UTF-8".to_owned())
}

fn percent_decode_lossy(text: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(text)).into_owned()
}

/// Masks anything that looks like a password in text that may not be a
/// valid connection string: the part between `user:` and the last `@` of a
/// URL, and the values of settings whose name contains `pass`. Returns
/// the masked text and the masked values. Masks too much rather than too
/// little.
fn best_effort_redact(text: &str, whole: bool) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();

    // `scheme://user:secret@host`: everything between the first `:` of the
    // credentials and the last `@`. In a whole connection string the URL
    // runs to the end and the scheme may be missing; in other text it ends
    // at whitespace or a quote.
    if whole {
        let start = text.find("://").map_or(0, |i| i + 3);
        let rest = &text[start..];
        if let Some(at) = rest.rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                spans.push((start + colon + 1, start + at));
            }
        }
    } else {
        let mut search_from = 0;
        while let Some(found) = text[search_from..].find("://") {
            let start = search_from + found + 3;
            let rest = &text[start..];
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\''))
                .unwrap_or(rest.len());
            let url = &rest[..end];
            if let Some(at) = url.rfind('@') {
                if let Some(colon) = url[..at].find(':') {
                    spans.push((start + colon + 1, start + at));
                }
            }
            search_from = start;
        }
    }

    // `password=secret`, `password = 'sec ret'`, `?password=secret&...`.
    let bytes = text.as_bytes();
    for (eq, _) in text.match_indices('=') {
        let mut key_end = eq;
        while key_end > 0 && bytes[key_end - 1].is_ascii_whitespace() {
            key_end -= 1;
        }
        let key_start = text[..key_end]
            .rfind(|c: char| c.is_whitespace() || matches!(c, '&' | '?' | '=' | '`' | '"'))
            .map_or(0, |i| i + 1);
        let key = percent_decode_lossy(&text[key_start..key_end]).to_ascii_lowercase();
        if !key.contains("pass") {
            continue;
        }
        let mut value_start = eq + 1;
        while value_start < bytes.len() && bytes[value_start].is_ascii_whitespace() {
            value_start += 1;
        }
        let rest = &text[value_start..];
        let value_len = if let Some(quoted) = rest.strip_prefix('\'') {
            let mut escaped = false;
            let mut len = rest.len();
            for (i, c) in quoted.char_indices() {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '\'' {
                    len = 1 + i + 1;
                    break;
                }
            }
            len
        } else {
            rest.find(|c: char| c.is_whitespace() || matches!(c, '&' | '`' | '"'))
                .unwrap_or(rest.len())
        };
        if value_len > 0 {
            spans.push((value_start, value_start + value_len));
        }
    }

    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        if end <= copied {
            continue;
        }
        let start = start.max(copied);
        out.push_str(&text[copied..start]);
        if start < end {
            secrets.push(text[start..end].to_owned());
            secrets.push(percent_decode_lossy(&text[start..end]));
        }
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&text[copied..]);
    (out, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "Sup3r-s3cret";

    fn parse(s: &str) -> Result<Target, TargetError> {
        Target::parse(s, Source::Explicit)
    }

    fn ok(s: &str) -> Target {
        match parse(s) {
            Ok(t) => t,
            Err(e) => panic!("expected {s:?} to parse, got: {e}"),
        }
    }

    fn err(s: &str) -> TargetError {
        match parse(s) {
            Ok(t) => panic!("expected {s:?} to be refused, got {t:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn source_display() {
        assert_eq!(Source::Flag.to_string(), "--database-url");
        assert_eq!(Source::WdhDatabaseUrl.to_string(), "WDH_DATABASE_URL");
        assert_eq!(Source::DatabaseUrl.to_string(), "DATABASE_URL");
        assert_eq!(
            Source::ConfigFile(PathBuf::from("./wdh.toml")).to_string(),
            "database_url in ./wdh.toml"
        );
        assert_eq!(Source::Sandbox.to_string(), "--sandbox");
        assert_eq!(Source::Explicit.to_string(), "the caller");
    }

    #[test]
    fn url_forms_name_the_database() {
        for (input, db) in [
            ("postgres://app@db1:5432/orders", "orders"),
            ("postgresql://app@db1/orders", "orders"),
            ("postgres://db1?dbname=orders", "orders"),
            ("postgres://db1/orders?dbname=orders", "orders"),
            ("postgres:///orders?host=/run/postgresql", "orders"),
            ("postgres://db1/my%20db%2Fx", "my db/x"),
            ("postgres://db1/caf%C3%A9", "café"),
            ("postgres://db1/100%", "100%"),
            ("  postgres://db1/orders\n", "orders"),
        ] {
            let t = ok(input);
            assert_eq!(t.database(), db, "{input}");
            assert_eq!(t.config().get_dbname(), Some(db), "{input}");
        }
    }

    #[test]
    fn key_value_forms_name_the_database() {
        for (input, db) in [
            ("host=db1 dbname=orders", "orders"),
            ("host=db1 dbname = orders user=app", "orders"),
            ("dbname='my db' host=db1", "my db"),
            ("dbname=it\\'s host=db1", "it's"),
            ("dbname=orders dbname=orders", "orders"),
        ] {
            assert_eq!(ok(input).database(), db, "{input}");
        }
    }

    #[test]
    fn missing_database_is_refused() {
        for input in [
            "postgres://app@db1:5432",
            "postgres://app@db1/",
            "postgres://db1?sslmode=disable",
            "postgres://db1/orders?dbname=",
            "host=db1 user=app",
            "host=db1 dbname=''",
            "host=db1 dbname=' '",
            "",
        ] {
            let e = err(input);
            assert!(
                matches!(e, TargetError::NoDatabase { .. }),
                "{input}: {e:?}"
            );
            let msg = e.to_string();
            assert!(msg.contains("names no database"), "{msg}");
            assert!(msg.contains("Name the database explicitly"), "{msg}");
        }
    }

    #[test]
    fn contradicting_database_names_are_refused() {
        let e = err("postgres://db1/app_test?dbname=app");
        match &e {
            TargetError::ConflictingDatabases {
                first,
                second,
                first_in,
                second_in,
                ..
            } => {
                assert_eq!(first, "app_test");
                assert_eq!(second, "app");
                assert_eq!(*first_in, DatabasePlace::UrlPath);
                assert_eq!(*second_in, DatabasePlace::UrlParameter);
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("names two different databases"));

        for input in [
            "postgres://db1/a%5Fb?dbname=a_c",
            "postgres://db1?dbname=a&dbname=b",
            "host=db1 dbname=a dbname=b",
        ] {
            let e = err(input);
            assert!(
                matches!(e, TargetError::ConflictingDatabases { .. }),
                "{input}: {e:?}"
            );
        }
        // The same name written twice, once encoded, is fine.
        assert_eq!(ok("postgres://db1/a%5Fb?dbname=a_b").database(), "a_b");
    }

    #[test]
    fn unparseable_strings_are_refused() {
        for input in [
            "mysql://app@db1/orders",
            "postgres://db1/orders?sslmode",
            "postgres://db1/orders?sslmode=sometimes",
            "postgres://db1:notaport/orders",
            "host=db1 dbname",
            "host=db1 dbname='orders",
            "host=db1 colour=blue dbname=orders",
            "host=db1 dbname=orders =junk",
            "postgres://db1/%FF",
        ] {
            let e = err(input);
            assert!(
                matches!(e, TargetError::Unparseable { .. }),
                "{input}: {e:?}"
            );
            assert!(e
                .to_string()
                .starts_with("cannot parse the connection string"));
        }
    }

    #[test]
    fn at_sign_in_host_part_is_refused() {
        let e = err(&format!("postgres://app:{PW}@x@db1/orders"));
        assert!(matches!(e, TargetError::Unparseable { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("%40"), "{msg}");
        assert!(!msg.contains(PW), "{msg}");
        assert!(!msg.contains("x@db1"), "over-redaction expected: {msg}");
    }

    #[test]
    fn redacted_url_forms() {
        for (input, want) in [
            (
                format!("postgres://app:{PW}@db1:5432/orders"),
                "postgres://app:***@db1:5432/orders".to_owned(),
            ),
            (
                format!("postgres://app@db1/orders?password={PW}&sslmode=disable"),
                "postgres://app@db1/orders?password=***&sslmode=disable".to_owned(),
            ),
            (
                format!("postgres://db1/orders?p%61ssword={PW}"),
                "postgres://db1/orders?p%61ssword=***".to_owned(),
            ),
            (
                "postgres://app:p%40ss@db1/orders".to_owned(),
                "postgres://app:***@db1/orders".to_owned(),
            ),
            (
                "postgres://app@db1/orders".to_owned(),
                "postgres://app@db1/orders".to_owned(),
            ),
        ] {
            assert_eq!(ok(&input).redacted(), want);
        }
    }

    #[test]
    fn redacted_key_value_forms() {
        for (input, want) in [
            (
                format!("host=db1 password={PW} dbname=orders"),
                "host=db1 password=*** dbname=orders".to_owned(),
            ),
            (
                format!("host=db1 password = '{PW} x\\'y' dbname=orders"),
                "host=db1 password = *** dbname=orders".to_owned(),
            ),
            (
                "host=db1 dbname=orders".to_owned(),
                "host=db1 dbname=orders".to_owned(),
            ),
        ] {
            assert_eq!(ok(&input).redacted(), want);
        }
    }

    #[test]
    fn display_and_accessors() {
        let t = Target::parse(
            &format!("postgres://app:{PW}@db1/orders"),
            Source::ConfigFile(PathBuf::from("./wdh.toml")),
        )
        .expect("valid");
        assert_eq!(
            t.to_string(),
            "postgres://app:***@db1/orders (from database_url in ./wdh.toml)"
        );
        assert_eq!(t.source(), &Source::ConfigFile(PathBuf::from("./wdh.toml")));
        assert_eq!(t.config().get_password(), Some(PW.as_bytes()));
        assert_eq!(t.config().get_user(), Some("app"));
    }

    #[test]
    fn hosts_display() {
        for (input, want) in [
            ("postgres://db1/orders", "db1:5432"),
            ("postgres://db1:6543/orders", "db1:6543"),
            ("postgres://db1,db2:5433/orders", "db1:5432, db2:5433"),
            ("postgres://[::1]:5433/orders", "[::1]:5433"),
            (
                "postgres:///orders?host=%2Fdev%2Fshm%2Fx",
                "/dev/shm/x (unix socket)",
            ),
            (
                "host=/dev/shm/x port=5433 dbname=orders",
                "/dev/shm/x (unix socket, port 5433)",
            ),
            (
                "host=db1 hostaddr=10.0.0.1 dbname=orders",
                "db1:5432 (address 10.0.0.1)",
            ),
            ("hostaddr=10.0.0.1 dbname=orders", "10.0.0.1:5432"),
            ("dbname=orders", "no host given"),
        ] {
            assert_eq!(ok(input).hosts_display(), want, "{input}");
        }
    }

    #[test]
    fn password_never_shown() {
        let valid = [
            format!("postgres://app:{PW}@db1/orders"),
            format!("postgresql://app:{PW}@db1/orders?password={PW}"),
            format!("host=db1 user=app password={PW} dbname=orders"),
            format!("host=db1 password='{PW}' dbname=orders"),
        ];
        for input in &valid {
            let t = ok(input);
            for text in [
                t.to_string(),
                format!("{t:?}"),
                format!("{t:#?}"),
                t.redacted(),
                t.scrub(&format!("server said: password {PW} is wrong")),
            ] {
                assert!(!text.contains(PW), "{input} leaked in {text}");
            }
        }

        let invalid = [
            format!("postgres://app:{PW}@db1"),
            format!("postgres://app:{PW}@db1/a?dbname=b"),
            format!("postgres://app:{PW}@db1/orders?sslmode=sometimes"),
            format!("postgres://app:{PW}@db1/orders?sslmode"),
            format!("postgres://app:{PW}@h@db1/orders"),
            format!("postgres://app@db1/orders?password={PW}&colour=blue"),
            format!("postgres://app@db1/orders?PASSWORD={PW}"),
            format!("  postgres://app:{PW}@db1/orders?x"),
            format!("host=db1 password={PW} colour=blue dbname=orders"),
            format!("host=db1 password={PW}"),
            format!("host=db1 password='{PW}"),
            format!("host=db1 PASSWORD={PW} dbname=orders"),
            format!("host=db1 password = '{PW} x' dbname"),
            format!("host=db1 dbname=orders =x password={PW}"),
            format!("mysql://app:{PW}@db1/orders"),
            format!("app:{PW}@db1/orders"),
        ];
        for input in &invalid {
            let e = err(input);
            for text in [e.to_string(), format!("{e:?}")] {
                assert!(!text.contains(PW), "{input} leaked in {text}");
            }
        }
    }

    #[test]
    fn redact_helper() {
        assert_eq!(
            redact(&format!("FATAL: password {PW} rejected"), PW),
            "FATAL: password *** rejected"
        );
        assert_eq!(redact("nothing to hide", ""), "nothing to hide");
        assert_eq!(
            redact(&format!("could not connect to postgres://u:{PW}@h/db"), ""),
            "could not connect to postgres://u:***@h/db"
        );
        assert_eq!(
            redact(&format!("conninfo: host=h password={PW} dbname=d"), ""),
            "conninfo: host=h password=*** dbname=d"
        );
        assert_eq!(
            redact(&format!("password = '{PW} with spaces' dbname=d"), ""),
            "password = *** dbname=d"
        );
    }

    #[test]
    fn scrub_also_removes_encoded_password() {
        let t = ok("postgres://app:p%40ssw0rd@db1/orders");
        assert_eq!(t.scrub("p@ssw0rd and p%40ssw0rd"), "*** and ***".to_owned());
    }
}
