//! Reading the parts of a connection string that matter for safety: the
//! URL and key=value structure, the database names, the password values,
//! and percent-decoding.

use super::redact::MASK;
use super::DatabasePlace;

/// One place in the connection string that names a database.
#[derive(Debug)]
pub(super) struct Mention {
    pub(super) name: String,
    pub(super) place: DatabasePlace,
}

/// What we read from a connection string that the driver accepted.
#[derive(Debug)]
pub(super) struct Structure {
    /// The string with password values replaced by `***`.
    pub(super) redacted: String,
    /// Every database name, in the order the driver applies them.
    pub(super) mentions: Vec<Mention>,
    /// Password values exactly as written.
    pub(super) secrets: Vec<String>,
}

/// Reads the parts of a connection string that matter for safety, following
/// the same rules as `postgres::Config::from_str`.
pub(super) fn structure(conn: &str) -> Result<Structure, String> {
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

pub(super) fn percent_decode_lossy(text: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(text)).into_owned()
}
