//! Reading a connection string as libpq reads it: the URL and key=value
//! structure, the database names, the user and the password, with libpq's
//! strict percent-decoding.
//!
//! Whatever libpq refuses, or would read differently from the driver
//! (`postgres::Config`), is a [`Refusal`]. A refusal quotes no part of the
//! string, except a setting name that the caller shows only where it cannot
//! be part of a password.

use std::ops::Range;

use super::keys::{self, Known};
use super::redact::MASK;
use super::DatabasePlace;

/// The two schemes of the URL form; libpq spells them in lower case only.
pub(super) const URL_PREFIXES: [&str; 2] = ["postgresql://", "postgres://"];

/// One place in the connection string that names a database.
#[derive(Debug)]
pub(super) struct Mention {
    pub(super) name: String,
    pub(super) place: DatabasePlace,
}

/// What libpq reads from a connection string it accepts.
#[derive(Debug, Default)]
pub(super) struct Structure {
    /// The string with the password replaced by `***`.
    pub(super) redacted: String,
    /// Every database name, in the order the driver applies them.
    pub(super) mentions: Vec<Mention>,
    /// The user name, if a non-empty one is given.
    pub(super) user: Option<String>,
    /// The password as sent to the server, if a non-empty one is given.
    pub(super) password: Option<Vec<u8>>,
    /// The password as written and as decoded.
    pub(super) secrets: Vec<String>,
    /// The TLS settings, decoded, in order: read by [`crate::tls`].
    pub(super) tls: Vec<(&'static str, String)>,
    /// The string without its TLS settings, for the driver.
    pub(super) driver: String,
}

impl Structure {
    fn password(&mut self, written: &str, value: Vec<u8>) {
        self.secrets.push(written.to_owned());
        self.secrets
            .push(String::from_utf8_lossy(&value).into_owned());
        self.password = Some(value).filter(|v| !v.is_empty());
    }
}

/// Why a string is refused.
#[derive(Debug)]
pub(super) enum Refusal {
    /// A sentence that quotes nothing from the string.
    Plain(String),
    /// The driver's own message, which may quote the string.
    Driver(String),
    /// A setting name that neither libpq nor the driver knows, at these
    /// bytes of the string.
    UnknownName { at: Range<usize>, query: bool },
    /// Text with no `=` after it where a setting should be.
    NoEquals { at: Range<usize>, query: bool },
}

fn plain(reason: impl Into<String>) -> Refusal {
    Refusal::Plain(reason.into())
}

/// The string without the white space around it (ASCII white space only,
/// which libpq ignores there too), keeping a trailing character that a
/// backslash escapes.
pub(super) fn trim(conn: &str) -> &str {
    let conn = conn.trim_start_matches(libpq_space);
    let mut end = conn.trim_end_matches(libpq_space).len();
    let backslashes = conn[..end].chars().rev().take_while(|c| *c == '\\').count();
    if backslashes % 2 == 1 {
        end += conn[end..].chars().next().map_or(0, char::len_utf8);
    }
    &conn[..end]
}

/// Reads a connection string by libpq's rules.
pub(super) fn structure(conn: &str) -> Result<Structure, Refusal> {
    for prefix in URL_PREFIXES {
        if let Some(rest) = conn.strip_prefix(prefix) {
            return structure_url(conn, prefix, rest);
        }
    }
    let first_word = conn.split(|c: char| c.is_whitespace() || c == '=').next();
    if first_word.is_some_and(|w| w.contains("://")) {
        return Err(plain(
            "only `postgresql://` and `postgres://` URLs (in lower case) are connection \
             strings; other schemes are not",
        ));
    }
    structure_key_value(conn)
}

/// The URL form: `postgresql://[user[:password]@][hosts][/dbname][?params]`.
fn structure_url(conn: &str, prefix: &str, rest: &str) -> Result<Structure, Refusal> {
    let total = prefix.len() + rest.len();
    // Byte offset in the whole string of a suffix of it.
    let offset = |suffix: &str| total - suffix.len();
    if rest.contains(char::is_whitespace) {
        return Err(plain(
            "the URL contains a space or other white space, which libpq refuses; \
             write a space as %20",
        ));
    }
    if rest.matches('@').count() > 1 {
        return Err(plain(
            "the URL contains more than one `@`, so libpq and the driver would not read \
             the same user name and password; write an `@` that belongs to the user name, \
             the password or the database name as %40",
        ));
    }

    let mut out = Structure {
        redacted: String::from(prefix),
        ..Structure::default()
    };
    let mut passwords = 0;
    let mut rest = rest;
    if let Some(at) = rest.find('@') {
        let credentials = &rest[..at];
        if credentials.contains(['/', '?']) {
            return Err(plain(
                "a `/` or `?` comes before the URL's `@`, so libpq would read no user name \
                 or password there and the driver would; write `/` as %2F, `?` as %3F and \
                 `@` as %40 where they belong to the user name, the password or the \
                 database name",
            ));
        }
        let (user, password) = match credentials.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (credentials, None),
        };
        let user_name = decode_utf8(user, "the user name")?;
        out.user = Some(user_name).filter(|u| !u.is_empty());
        out.redacted.push_str(user);
        if let Some(password) = password {
            let value = decode(password, "the password")?;
            out.redacted.push(':');
            out.redacted.push_str(MASK);
            out.password(password, value);
            passwords += 1;
        }
        out.redacted.push('@');
        rest = &rest[at + 1..];
    }

    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let hosts = &rest[..host_end];
    decode(hosts, "the host list")?;
    out.redacted.push_str(hosts);
    rest = &rest[host_end..];

    if let Some(path) = rest.strip_prefix('/') {
        let end = path.find('?').unwrap_or(path.len());
        let raw = &path[..end];
        out.redacted.push('/');
        out.redacted.push_str(raw);
        if !raw.is_empty() {
            out.mentions.push(Mention {
                name: decode_utf8(raw, "the database name")?,
                place: DatabasePlace::UrlPath,
            });
        }
        rest = &path[end..];
    }

    out.driver = conn.to_owned();
    if let Some(mut params) = rest.strip_prefix('?') {
        let query_at = offset(rest);
        let mut kept: Vec<&str> = Vec::new();
        out.redacted.push('?');
        while !params.is_empty() {
            let (pair, next, more) = match params.find('&') {
                Some(amp) => (&params[..amp], &params[amp + 1..], true),
                None => (params, "", false),
            };
            let start = offset(params);
            let Some((raw_key, raw_value)) = pair.split_once('=') else {
                return Err(if pair.is_empty() {
                    plain("the URL has an empty query parameter (`&&`, or `&` right after `?`)")
                } else {
                    Refusal::NoEquals {
                        at: start..start + pair.len(),
                        query: true,
                    }
                });
            };
            if raw_value.contains('=') {
                return Err(plain(
                    "a query parameter has a second `=`, which libpq refuses; write an `=` \
                     that belongs to a value as %3D",
                ));
            }
            let key = decode_utf8(raw_key, "a query parameter's name")?;
            let name = match keys::known(&key) {
                Known::Supported(name) => name,
                Known::Tls(name) => {
                    let value = decode_utf8(raw_value, &format!("the `{name}` parameter"))?;
                    out.tls.push((name, value));
                    out.redacted.push_str(pair);
                    if more {
                        out.redacted.push('&');
                    }
                    params = next;
                    continue;
                }
                Known::LibpqOnly(name) => return Err(unsupported(name)),
                Known::Unknown => {
                    return Err(Refusal::UnknownName {
                        at: start..start + raw_key.len(),
                        query: true,
                    })
                }
            };
            out.redacted.push_str(raw_key);
            out.redacted.push('=');
            match name {
                "password" => {
                    let value = decode(raw_value, "the `password` parameter")?;
                    out.redacted.push_str(MASK);
                    out.password(raw_value, value);
                    passwords += 1;
                }
                "dbname" => {
                    out.redacted.push_str(raw_value);
                    out.mentions.push(Mention {
                        name: decode_utf8(raw_value, "the `dbname` parameter")?,
                        place: DatabasePlace::UrlParameter,
                    });
                }
                "host" => {
                    decode(raw_value, "the `host` parameter")?;
                    out.redacted.push_str(raw_value);
                }
                _ => {
                    decode_utf8(raw_value, &format!("the `{name}` parameter"))?;
                    out.redacted.push_str(raw_value);
                }
            }
            if more {
                out.redacted.push('&');
            }
            kept.push(pair);
            params = next;
        }
        out.driver = conn[..query_at].to_owned();
        if !kept.is_empty() {
            out.driver.push('?');
            out.driver.push_str(&kept.join("&"));
        }
    }
    if passwords > 1 {
        return Err(twice());
    }
    Ok(out)
}

/// The key=value form: `host=db1 password='it\'s' dbname=app`.
fn structure_key_value(conn: &str) -> Result<Structure, Refusal> {
    let mut out = Structure::default();
    let mut passwords = 0;
    let mut copied = 0;
    let mut dropped: Vec<Range<usize>> = Vec::new();
    let mut cursor = Cursor::new(conn);

    loop {
        cursor.skip_spaces()?;
        if cursor.at_end() {
            break;
        }
        let key_start = cursor.pos();
        cursor.take_name()?;
        let key_range = key_start..cursor.pos();
        if key_range.is_empty() {
            return Err(plain(format!(
                "the `=` at byte {key_start} has no setting name before it"
            )));
        }
        cursor.skip_spaces()?;
        if !cursor.eat('=') {
            return Err(Refusal::NoEquals {
                at: key_range,
                query: false,
            });
        }
        let (name, tls) = match keys::known(&conn[key_range.clone()]) {
            Known::Supported(name) => (name, false),
            Known::Tls(name) => (name, true),
            Known::LibpqOnly(name) => return Err(unsupported(name)),
            Known::Unknown => {
                return Err(Refusal::UnknownName {
                    at: key_range,
                    query: false,
                })
            }
        };
        cursor.skip_spaces()?;
        if cursor.at_end() {
            return Err(plain(format!(
                "the setting `{name}` has no value; write an empty value as ''"
            )));
        }
        let value_start = cursor.pos();
        let value = cursor.value()?;
        let value_end = cursor.pos();
        if tls {
            out.tls.push((name, value));
            dropped.push(key_start..value_end);
            continue;
        }
        match name {
            "password" => {
                out.redacted.push_str(&conn[copied..value_start]);
                out.redacted.push_str(MASK);
                copied = value_end;
                out.password(&conn[value_start..value_end], value.into_bytes());
                passwords += 1;
            }
            "dbname" => out.mentions.push(Mention {
                name: value,
                place: DatabasePlace::KeyValue,
            }),
            "user" => out.user = Some(value).filter(|u| !u.is_empty()),
            _ => {}
        }
    }
    if passwords > 1 {
        return Err(twice());
    }
    out.redacted.push_str(&conn[copied..]);
    let mut at = 0;
    for range in dropped {
        out.driver.push_str(&conn[at..range.start]);
        at = range.end;
    }
    out.driver.push_str(&conn[at..]);
    Ok(out)
}

fn unsupported(name: &str) -> Refusal {
    plain(format!(
        "the setting `{name}` is one that libpq knows but wdh-migrate's driver does not \
         support; remove it"
    ))
}

fn twice() -> Refusal {
    plain("the password is given more than once; give it once")
}

/// White space as libpq's key=value parser sees it (C's `isspace`).
pub(super) fn libpq_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// White space that the driver sees and libpq does not (`U+00A0` and the
/// like): outside quotes they would split a value for one and not the other.
fn other_space() -> Refusal {
    plain(
        "a setting contains a non-ASCII space character outside quotes, which libpq reads \
         as part of the value and the driver as its end; put the value in quotes",
    )
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

    /// Skips libpq's white space; other white space is refused.
    fn skip_spaces(&mut self) -> Result<(), Refusal> {
        while let Some(c) = self.peek() {
            if libpq_space(c) {
                self.pos += 1;
            } else if c.is_whitespace() {
                return Err(other_space());
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Reads a setting name: up to white space or `=`.
    fn take_name(&mut self) -> Result<(), Refusal> {
        while let Some(c) = self.peek() {
            if libpq_space(c) || c == '=' {
                break;
            }
            if c.is_whitespace() {
                return Err(other_space());
            }
            self.pos += c.len_utf8();
        }
        Ok(())
    }

    /// Reads a value: `'quoted'` or bare, with backslash escapes.
    fn value(&mut self) -> Result<String, Refusal> {
        let mut value = String::new();
        if self.eat('\'') {
            loop {
                match self.bump() {
                    None => {
                        return Err(plain(
                            "a quoted value is not terminated (inside quotes, write `'` as \
                             \\' and `\\` as \\\\)",
                        ))
                    }
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
            if libpq_space(c) {
                break;
            }
            if c.is_whitespace() {
                return Err(other_space());
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
        Ok(value)
    }
}

/// Decodes `%XX` escapes as libpq does: a `%` must start one, and `%00`
/// is refused. `part` names what is decoded, for the message.
fn decode(text: &str, part: &str) -> Result<Vec<u8>, Refusal> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hi = bytes.get(i + 1).copied().and_then(hex_value);
        let lo = bytes.get(i + 2).copied().and_then(hex_value);
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(plain(format!(
                "{part} has a `%` that is not followed by two hex digits, which libpq \
                 refuses; write a `%` as %25"
            )));
        };
        let byte = hi << 4 | lo;
        if byte == 0 {
            return Err(plain(format!("{part} contains %00, which libpq refuses")));
        }
        out.push(byte);
        i += 3;
    }
    Ok(out)
}

/// Decodes a part that the driver needs as UTF-8.
fn decode_utf8(text: &str, part: &str) -> Result<String, Refusal> {
    String::from_utf8(decode(text, part)?)
        .map_err(|_| plain(format!("{part} is not valid UTF-8 once percent-decoded")))
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes the `%XX` escapes there are and keeps everything else, for text
/// that may not be valid.
pub(super) fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_value);
            let lo = bytes.get(i + 2).copied().and_then(hex_value);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
