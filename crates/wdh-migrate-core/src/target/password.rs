//! Where a host's password comes from, in libpq's order: the connection
//! string, then the caller's `PGPASSWORD`, then the password file (the
//! string's `passfile`, else the caller's `PGPASSFILE` or `~/.pgpass`),
//! looked up for each host. The library reads no environment variable:
//! the caller says what `PGPASSWORD` and the password file are
//! ([`PasswordSources`]).

use std::fmt;
use std::path::{Path, PathBuf};

use super::hosts::HostEntry;
use super::passfile::{self, Key, Skipped};

/// What libpq would read from its environment to find a password, given
/// explicitly by the caller: a password to use when the connection string
/// has none (`PGPASSWORD`), and the password file to read when neither
/// has one and the string names no `passfile` (`PGPASSFILE`, else
/// `~/.pgpass`). `Debug` never shows the password.
#[derive(Clone, Default)]
pub struct PasswordSources {
    password: Option<(String, String)>,
    passfile: Option<(PathBuf, String)>,
}

impl PasswordSources {
    /// No source besides the connection string.
    pub fn none() -> PasswordSources {
        PasswordSources::default()
    }

    /// The password to send when the string has none, and what messages
    /// call it (`PGPASSWORD`). An empty one counts as none, as in libpq.
    pub fn password(mut self, value: impl Into<String>, called: impl Into<String>) -> Self {
        let value = value.into();
        self.password = (!value.is_empty()).then(|| (value, called.into()));
        self
    }

    /// The password file to read when the string names none, and what
    /// messages call its place (`PGPASSFILE`, `~/.pgpass`).
    pub fn passfile(mut self, path: impl Into<PathBuf>, called: impl Into<String>) -> Self {
        self.passfile = Some((path.into(), called.into()));
        self
    }
}

impl fmt::Debug for PasswordSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordSources")
            .field("password", &self.password.as_ref().map(|(_, c)| c))
            .field("passfile", &self.passfile)
            .finish()
    }
}

/// Where the password sent to a host came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordOrigin {
    /// The connection string.
    ConnectionString,
    /// A value the caller gave, by the name it gave (`PGPASSWORD`).
    Given(String),
    /// A line of a password file.
    Passfile {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
    },
}

impl fmt::Display for PasswordOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordOrigin::ConnectionString => f.write_str("the connection string"),
            PasswordOrigin::Given(name) => f.write_str(name),
            PasswordOrigin::Passfile { path, line } => {
                write!(f, "{} line {line}", path.display())
            }
        }
    }
}

/// The password of one host: what to send, and what was looked for.
#[derive(Clone, Default)]
pub(crate) struct HostPassword {
    /// A password that is not the string's own, to send to this host.
    pub(crate) password: Option<Vec<u8>>,
    /// Where the password sent comes from (none: no password).
    pub(crate) origin: Option<PasswordOrigin>,
    /// The password file searched without a match, for messages.
    pub(crate) searched: Option<(PathBuf, String)>,
}

/// What resolving the passwords found.
pub(crate) struct Resolved {
    /// One per host (one for a target that names none).
    pub(crate) hosts: Vec<HostPassword>,
    /// Every password found, as sent and as written, to scrub text with.
    pub(crate) secrets: Vec<String>,
    /// Warnings: a password file that was ignored.
    pub(crate) warnings: Vec<String>,
}

/// Finds each host's password by libpq's order. `string_password` tells
/// whether the connection string has one; `string_passfile` is its
/// `passfile`.
pub(crate) fn resolve(
    hosts: &[HostEntry],
    database: &str,
    user: Option<&str>,
    string_password: bool,
    string_passfile: Option<&Path>,
    sources: &PasswordSources,
) -> Resolved {
    let count = hosts.len().max(1);
    let mut out = Resolved {
        hosts: vec![HostPassword::default(); count],
        secrets: Vec::new(),
        warnings: Vec::new(),
    };
    if let Some((value, _)) = &sources.password {
        // Never printed, even where the string's own password is used.
        out.secrets.push(value.clone());
    }
    if string_password {
        for h in &mut out.hosts {
            h.origin = Some(PasswordOrigin::ConnectionString);
        }
        return out;
    }
    if let Some((value, called)) = &sources.password {
        for h in &mut out.hosts {
            h.password = Some(value.clone().into_bytes());
            h.origin = Some(PasswordOrigin::Given(called.clone()));
        }
        return out;
    }
    let (path, called) = match (string_passfile, &sources.passfile) {
        (Some(path), _) => (path.to_path_buf(), "passfile".to_owned()),
        (None, Some((path, called))) => (path.clone(), called.clone()),
        (None, None) => return out,
    };
    let text = match passfile::read(&path) {
        Ok(text) => text,
        Err(Skipped::Unreadable) => return out,
        Err(Skipped::Warned(w)) => {
            out.warnings.push(w);
            return out;
        }
    };
    // libpq looks the driver's default user up the same way: the user
    // this process runs as.
    let user = match user {
        Some(u) => u.to_owned(),
        None => whoami::username().unwrap_or_default(),
    };
    let lone = [HostEntry {
        host: None,
        hostaddr: None,
        port: super::hosts::DEFAULT_PORT,
    }];
    let entries = if hosts.is_empty() { &lone[..] } else { hosts };
    for (h, entry) in out.hosts.iter_mut().zip(entries) {
        let key = Key::new(&entry.passfile_host(), entry.port, database, &user);
        match passfile::lookup(&text, &key) {
            Some(found) if !found.password.is_empty() => {
                out.secrets
                    .push(String::from_utf8_lossy(&found.password).into_owned());
                if let Some(written) = written_field(&text, found.line) {
                    out.secrets.push(written);
                }
                h.password = Some(found.password);
                h.origin = Some(PasswordOrigin::Passfile {
                    path: path.clone(),
                    line: found.line,
                });
            }
            _ => {
                h.searched = Some((
                    path.clone(),
                    format!(
                        "{called} has no line for {}:{}:{}:{}",
                        key.host, key.port, key.database, key.user
                    ),
                ));
            }
        }
    }
    out
}

/// The password field of line `line` as written (escapes and all).
fn written_field(text: &[u8], line: usize) -> Option<String> {
    let raw = text.split(|b| *b == b'\n').nth(line.checked_sub(1)?)?;
    let mut colons = 0;
    let mut escaped = false;
    for (i, b) in raw.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if *b == b'\\' {
            escaped = true;
        } else if *b == b':' {
            colons += 1;
            if colons == 4 {
                let rest = String::from_utf8_lossy(&raw[i + 1..]);
                return Some(rest.trim_end_matches(['\r', '\n']).to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use postgres::config::Host;

    use super::*;

    fn host(name: &str, port: u16) -> HostEntry {
        HostEntry {
            host: Some(Host::Tcp(name.into())),
            hostaddr: None,
            port,
        }
    }

    fn file(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn the_string_then_the_variable_then_the_file() {
        let (_d, path) = file("*:*:*:*:from-file\n", 0o600);
        let sources = PasswordSources::none()
            .password("from-var", "PGPASSWORD")
            .passfile(&path, "PGPASSFILE");
        let hosts = [host("db1", 5432)];
        let r = resolve(&hosts, "app", Some("app"), true, None, &sources);
        assert_eq!(r.hosts[0].origin, Some(PasswordOrigin::ConnectionString));
        assert_eq!(r.hosts[0].password, None);
        assert_eq!(r.secrets, ["from-var"]);
        let r = resolve(&hosts, "app", Some("app"), false, None, &sources);
        assert_eq!(r.hosts[0].password.as_deref(), Some(&b"from-var"[..]));
        assert_eq!(
            r.hosts[0].origin,
            Some(PasswordOrigin::Given("PGPASSWORD".into()))
        );
        let sources = PasswordSources::none()
            .password("", "PGPASSWORD")
            .passfile(&path, "PGPASSFILE");
        let r = resolve(&hosts, "app", Some("app"), false, None, &sources);
        assert_eq!(r.hosts[0].password.as_deref(), Some(&b"from-file"[..]));
        assert_eq!(
            r.hosts[0].origin,
            Some(PasswordOrigin::Passfile { path, line: 1 })
        );
        assert!(r.secrets.contains(&"from-file".to_string()));
    }

    #[test]
    fn the_strings_passfile_wins_and_each_host_looks_up_its_own_line() {
        let (_a, theirs) = file("*:*:*:*:theirs\n", 0o600);
        let (_b, mine) = file("db1:5432:app:app:one\ndb2:6432:app:app:tw\\:o\n", 0o600);
        let sources = PasswordSources::none().passfile(&theirs, "~/.pgpass");
        let hosts = [host("db1", 5432), host("db2", 6432), host("db3", 5432)];
        let r = resolve(&hosts, "app", Some("app"), false, Some(&mine), &sources);
        assert_eq!(r.hosts[0].password.as_deref(), Some(&b"one"[..]));
        assert_eq!(r.hosts[1].password.as_deref(), Some(&b"tw:o"[..]));
        assert_eq!(r.hosts[2].password, None);
        let (_, why) = r.hosts[2].searched.clone().unwrap();
        assert_eq!(why, "passfile has no line for db3:5432:app:app");
        for s in ["one", "tw:o", "tw\\:o"] {
            assert!(r.secrets.contains(&s.to_string()), "{s}: {:?}", r.secrets);
        }
    }

    #[test]
    fn a_file_others_may_read_is_ignored_with_a_warning() {
        let (_d, path) = file("*:*:*:*:from-file\n", 0o644);
        let sources = PasswordSources::none().passfile(&path, "~/.pgpass");
        let r = resolve(
            &[host("db1", 5432)],
            "app",
            Some("app"),
            false,
            None,
            &sources,
        );
        assert_eq!(r.hosts[0].password, None);
        assert!(r.secrets.is_empty());
        assert_eq!(r.warnings.len(), 1);
        assert!(
            r.warnings[0].contains("group or world access"),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn debug_shows_no_password() {
        let s = PasswordSources::none().password("hunter2", "PGPASSWORD");
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("PGPASSWORD"), "{text}");
    }
}
