//! libpq's password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`): lines of
//! `hostname:port:database:username:password`, read as libpq reads them.
//!
//! - A line whose first character is `#` is a comment; trailing `\r` and
//!   `\n` are not part of a line; an empty line matches nothing.
//! - Each of the first four fields is `*` (the whole field), which matches
//!   anything, or a literal value in which `\` escapes the next character
//!   (`\:` and `\\`). The first line that matches wins.
//! - The password runs to the next unescaped `:` or the end of the line.
//! - The host field is matched to the host name, else the address; a unix
//!   socket in the default socket directory (`/tmp`, where libpq puts it,
//!   or `/var/run/postgresql` and `/run/postgresql`, where Debian's and Red
//!   Hat's libpq do) is matched as `localhost`, any other as its path.
//! - A file that is not a regular file, or that its group or others may
//!   read, write or execute, is ignored with a warning; a file that does
//!   not exist or cannot be read is ignored.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The socket directories that libpq builds use by default.
const DEFAULT_SOCKET_DIRS: &[&str] = &["/tmp", "/var/run/postgresql", "/run/postgresql"];

/// What one connection looks up: libpq's four keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) host: String,
    pub(crate) port: String,
    pub(crate) database: String,
    pub(crate) user: String,
}

impl Key {
    /// The key of a connection to `host` (a name, an address or a socket
    /// directory; empty for none) on `port`.
    pub(crate) fn new(host: &str, port: u16, database: &str, user: &str) -> Key {
        let host = if host.is_empty() || DEFAULT_SOCKET_DIRS.contains(&host) {
            "localhost".to_owned()
        } else {
            host.to_owned()
        };
        Key {
            host,
            port: port.to_string(),
            database: database.to_owned(),
            user: user.to_owned(),
        }
    }
}

/// A password found in a file, and its line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) password: Vec<u8>,
    pub(crate) line: usize,
}

/// Why a password file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// It does not exist or cannot be read: ignored silently, as libpq does.
    Unreadable,
    /// Ignored with this warning.
    Warned(String),
}

/// Reads `path` if libpq would: a regular file that only its owner may use.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Skipped> {
    let meta = std::fs::metadata(path).map_err(|_| Skipped::Unreadable)?;
    if !meta.is_file() {
        return Err(Skipped::Warned(format!(
            "password file \"{}\" is not a plain file; it is ignored",
            path.display()
        )));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(Skipped::Warned(format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) \
             or less; it is ignored (chmod 600 {})",
            path.display(),
            path.display()
        )));
    }
    std::fs::read(path).map_err(|_| Skipped::Unreadable)
}

/// The password of the first line of `text` that matches `key`.
pub(crate) fn lookup(text: &[u8], key: &Key) -> Option<Found> {
    if key.database.is_empty() || key.user.is_empty() {
        return None;
    }
    for (i, raw) in text.split(|b| *b == b'\n').enumerate() {
        if raw.first() == Some(&b'#') {
            continue;
        }
        let mut line = raw;
        while let Some(rest) = line
            .strip_suffix(b"\r")
            .or_else(|| line.strip_suffix(b"\n"))
        {
            line = rest;
        }
        if line.is_empty() {
            continue;
        }
        let rest = [&key.host, &key.port, &key.database, &key.user]
            .iter()
            .try_fold(line, |rest, want| field_matches(rest, want.as_bytes()));
        if let Some(rest) = rest {
            return Some(Found {
                password: unescape_password(rest),
                line: i + 1,
            });
        }
    }
    None
}

/// libpq's `pwdfMatchesString`: the rest of the line after a field that
/// matches `token`, or none.
fn field_matches<'a>(buf: &'a [u8], token: &[u8]) -> Option<&'a [u8]> {
    if buf.starts_with(b"*:") {
        return Some(&buf[2..]);
    }
    let mut i = 0;
    let mut t = 0;
    let mut escaped = false;
    while i < buf.len() {
        if buf[i] == b'\\' && !escaped {
            i += 1;
            escaped = true;
            if i == buf.len() {
                return None;
            }
        }
        if buf[i] == b':' && t == token.len() && !escaped {
            return Some(&buf[i + 1..]);
        }
        escaped = false;
        if t == token.len() || buf[i] != token[t] {
            return None;
        }
        i += 1;
        t += 1;
    }
    None
}

/// The password field: up to the next unescaped `:`, escapes removed.
fn unescape_password(rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rest.len());
    let mut i = 0;
    while i < rest.len() && rest[i] != b':' {
        if rest[i] == b'\\' && i + 1 < rest.len() {
            i += 1;
        }
        out.push(rest[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str, port: u16, db: &str, user: &str) -> Key {
        Key::new(host, port, db, user)
    }

    fn pw(text: &str, key: &Key) -> Option<(String, usize)> {
        lookup(text.as_bytes(), key).map(|f| (String::from_utf8(f.password).unwrap(), f.line))
    }

    #[test]
    fn the_first_matching_line_wins() {
        let file = "db1:5432:app:app:first\n*:*:*:app:second\ndb1:5432:app:app:third\n";
        assert_eq!(
            pw(file, &key("db1", 5432, "app", "app")),
            Some(("first".into(), 1))
        );
        assert_eq!(
            pw(file, &key("db2", 5432, "app", "app")),
            Some(("second".into(), 2))
        );
        assert_eq!(pw(file, &key("db2", 5432, "app", "other")), None);
    }

    #[test]
    fn every_field_must_match_and_a_star_is_a_whole_field() {
        let file = "db1:5433:app:app:p1\ndb*:*:*:*:p2\n\\*:*:*:*:p3\n";
        assert_eq!(pw(file, &key("db1", 5432, "app", "app")), None);
        assert_eq!(
            pw(file, &key("db1", 5433, "app", "app")),
            Some(("p1".into(), 1))
        );
        // `db*` is literal; `\*` is a literal star.
        assert_eq!(pw(file, &key("db*", 1, "x", "y")), Some(("p2".into(), 2)));
        assert_eq!(pw(file, &key("*", 1, "x", "y")), Some(("p3".into(), 3)));
        assert_eq!(pw(file, &key("dbz", 1, "x", "y")), None);
    }

    #[test]
    fn escapes_hold_colons_and_backslashes() {
        let file = "h\\:1:5432:d\\\\b:u:pa\\:ss\\\\w\\rd:ignored\n";
        assert_eq!(
            pw(file, &key("h:1", 5432, "d\\b", "u")),
            Some(("pa:ss\\wrd".into(), 1))
        );
        assert_eq!(pw(file, &key("h", 5432, "d\\b", "u")), None);
    }

    #[test]
    fn comments_blank_lines_and_line_ends() {
        let file = "# db1:5432:app:app:commented\n\n   \r\ndb1:5432:app:app:secret\r\n";
        assert_eq!(
            pw(file, &key("db1", 5432, "app", "app")),
            Some(("secret".into(), 4))
        );
        // A `#` that is not the first character does not make a comment.
        let file = " #:5432:app:app:x\n";
        assert_eq!(
            pw(file, &key(" #", 5432, "app", "app")),
            Some(("x".into(), 1))
        );
    }

    #[test]
    fn a_line_with_too_few_fields_matches_nothing() {
        assert_eq!(
            pw("db1:5432:app:app\n", &key("db1", 5432, "app", "app")),
            None
        );
        assert_eq!(pw("db1:5432:app\n", &key("db1", 5432, "app", "app")), None);
        // An empty password field is a password (empty).
        assert_eq!(
            pw("db1:5432:app:app:\n", &key("db1", 5432, "app", "app")),
            Some((String::new(), 1))
        );
    }

    #[test]
    fn localhost_is_the_default_socket_directory_and_no_host() {
        let file = "localhost:5432:app:app:local\n/srv/sock:5432:app:app:sock\n";
        for host in [
            "",
            "/tmp",
            "/var/run/postgresql",
            "/run/postgresql",
            "localhost",
        ] {
            assert_eq!(
                pw(file, &key(host, 5432, "app", "app")),
                Some(("local".into(), 1)),
                "{host}"
            );
        }
        assert_eq!(
            pw(file, &key("/srv/sock", 5432, "app", "app")),
            Some(("sock".into(), 2))
        );
        assert_eq!(pw(file, &key("/elsewhere", 5432, "app", "app")), None);
    }

    #[test]
    fn no_database_or_user_looks_nothing_up() {
        assert_eq!(pw("*:*:*:*:x\n", &key("h", 1, "", "u")), None);
        assert_eq!(pw("*:*:*:*:x\n", &key("h", 1, "d", "")), None);
    }

    #[test]
    fn a_file_others_may_read_is_refused_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:x\n").unwrap();
        for mode in [0o640, 0o604, 0o610, 0o601, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            match read(&path) {
                Err(Skipped::Warned(w)) => assert!(w.contains("group or world access"), "{w}"),
                other => panic!("{mode:o}: {other:?}"),
            }
        }
        for mode in [0o600, 0o400, 0o700] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(read(&path), Ok(b"*:*:*:*:x\n".to_vec()), "{mode:o}");
        }
        assert_eq!(read(&dir.path().join("none")), Err(Skipped::Unreadable));
        match read(dir.path()) {
            Err(Skipped::Warned(w)) => assert!(w.contains("not a plain file"), "{w}"),
            other => panic!("{other:?}"),
        }
    }
}
