//! Snapshots: before a destructive step runs, `pg_dump` (custom format)
//! keeps what it destroys, so that `pg_restore` gives it back.
//!
//! What is kept: the schemas that hold a table the run drops, truncates,
//! deletes rows from or drops a column of — their definitions whole, and
//! the rows of those tables only (`--exclude-table-data` for the schemas'
//! other tables). So a snapshot restores into an empty database by itself
//! (its schemas, types and tables are there), and a dropped column comes
//! back with its table's key and every other column.
//!
//! `pg_dump` is chosen from the programs the caller names, in order: the
//! first whose major version is at least the server's (a `pg_dump` can dump
//! servers up to its own version). It connects to the host the run
//! reached, with the run's TLS settings; the password goes in its
//! environment (`PGPASSWORD`), never on its command line. The file is
//! written under a temporary name, readable by its owner only, and renamed
//! once `pg_dump` succeeded: a snapshot that exists is whole.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sql::quote_ident;
use crate::target::LibpqConnection;

/// When a destructive run takes a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotMode {
    /// On a protected database only (the default).
    #[default]
    Protected,
    /// On every database (`--snapshot`).
    Always,
    /// Never (`--no-snapshot`; on a protected database only with the
    /// override).
    Never,
}

/// Where snapshots go and which `pg_dump` writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// When one is taken.
    pub mode: SnapshotMode,
    /// The directory (created if missing).
    pub dir: PathBuf,
    /// The `pg_dump` programs to choose from, in order of preference.
    pub pg_dump: Vec<PathBuf>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            mode: SnapshotMode::Protected,
            dir: PathBuf::from("wdh-snapshots"),
            pg_dump: Vec::new(),
        }
    }
}

/// A snapshot could not be written; the step it was for does not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// No `pg_dump` that can dump the server.
    #[error("no pg_dump of version {server} or later was found ({})", found_text(.found))]
    NoPgDump {
        /// The server's major version.
        server: u32,
        /// What was found: program and version (or why it could not be run).
        found: Vec<(PathBuf, String)>,
    },
    /// The directory could not be made or written.
    #[error("could not write a snapshot to {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// `pg_dump` failed.
    #[error("{} failed ({status}): {stderr}", .program.display())]
    PgDump {
        /// The program.
        program: PathBuf,
        /// How it ended.
        status: String,
        /// What it printed on standard error (its connection string holds
        /// no password).
        stderr: String,
    },
}

fn found_text(found: &[(PathBuf, String)]) -> String {
    if found.is_empty() {
        return "none was given".into();
    }
    found
        .iter()
        .map(|(p, v)| format!("{}: {v}", p.display()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A `pg_dump` program and its major version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDump {
    /// The program.
    pub program: PathBuf,
    /// Its major version.
    pub major: u32,
}

/// The major version in `pg_dump --version`'s line:
/// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)` → 15;
/// `pg_dump (PostgreSQL) 9.6.24` → 9.
pub fn major_of(version_line: &str) -> Option<u32> {
    let word = version_line
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The first of `candidates` whose major version is at least
/// `server_major`.
pub fn find_pg_dump(candidates: &[PathBuf], server_major: u32) -> Result<PgDump, SnapshotError> {
    let mut found = Vec::new();
    for program in candidates {
        if !program.is_file() {
            continue;
        }
        match Command::new(program).arg("--version").output() {
            Ok(out) if out.status.success() => {
                let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
                match major_of(&line) {
                    Some(major) if major >= server_major => {
                        return Ok(PgDump {
                            program: program.clone(),
                            major,
                        })
                    }
                    _ => found.push((program.clone(), line)),
                }
            }
            Ok(out) => found.push((
                program.clone(),
                format!("--version ended with {}", out.status),
            )),
            Err(e) => found.push((program.clone(), format!("could not be run: {e}"))),
        }
    }
    Err(SnapshotError::NoPgDump {
        server: server_major,
        found,
    })
}

/// A snapshot's file name: `<database>-<operation>-<UTC time>.dump`, the
/// database's characters other than letters, digits, `_`, `-` and `.`
/// replaced by `_`: `app-downgrade-20261201T101500Z.dump`.
pub fn file_name(database: &str, operation: &str, epoch_secs: u64) -> String {
    let safe: String = database
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = crate::ledger::rfc3339(epoch_secs as f64);
    // 2026-12-01T10:15:00.000Z → 20261201T101500Z
    let compact: String = stamp
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{safe}-{operation}-{compact}Z.dump")
}

/// A `pg_dump` pattern that names exactly one object: each part in double
/// quotes (where pattern characters are taken literally).
fn pattern(schema: &str, table: Option<&str>) -> String {
    let part = |s: &str| {
        let q = quote_ident(s);
        if q.starts_with('"') {
            q
        } else {
            format!("\"{q}\"")
        }
    };
    match table {
        Some(t) => format!("{}.{}", part(schema), part(t)),
        None => part(schema),
    }
}

/// What a snapshot keeps: the schemas (whole definitions) and, of their
/// tables, the ones whose rows it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// Each schema holding a kept table.
    pub schemas: Vec<String>,
    /// The schemas' tables whose rows are not kept.
    pub other_tables: Vec<(String, String)>,
}

/// `pg_dump`'s arguments (the connection string last): custom format,
/// `--strict-names` (every schema must be there), the schemas, the other
/// tables' data left out.
pub fn arguments(contents: &Contents, file: &Path, conninfo: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--format=custom".into(),
        "--strict-names".into(),
        "--no-sync".into(),
    ];
    let mut f = OsString::from("--file=");
    f.push(file.as_os_str());
    args.push(f);
    for s in &contents.schemas {
        args.push(format!("--schema={}", pattern(s, None)).into());
    }
    for (s, t) in &contents.other_tables {
        args.push(format!("--exclude-table-data={}", pattern(s, Some(t))).into());
    }
    args.push(format!("--dbname={conninfo}").into());
    args
}

/// Writes a snapshot of `contents` to `dir/name` with `pg_dump`, and
/// returns its path.
pub fn write(
    pg_dump: &PgDump,
    connection: &LibpqConnection,
    contents: &Contents,
    dir: &Path,
    name: &str,
) -> Result<PathBuf, SnapshotError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SnapshotError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // Two runs in the same second keep both snapshots.
    let stem = name.strip_suffix(".dump").unwrap_or(name);
    let mut path = dir.join(name);
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{stem}-{n}.dump"));
    }
    let name = path
        .file_name()
        .map_or_else(|| name.to_string(), |f| f.to_string_lossy().into_owned());
    let partial = dir.join(format!(".{name}.partial"));
    let mut command = Command::new(&pg_dump.program);
    command
        .args(arguments(contents, &partial, &connection.conninfo()))
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env_remove("PGSERVICEFILE")
        .stdin(std::process::Stdio::null());
    if let Some(p) = connection.password() {
        use std::os::unix::ffi::OsStrExt;
        command.env("PGPASSWORD", std::ffi::OsStr::from_bytes(p));
    }
    let out = command.output().map_err(io(&pg_dump.program))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        return Err(SnapshotError::PgDump {
            program: pg_dump.program.clone(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
            .map_err(io(&partial))?;
    }
    std::fs::rename(&partial, &path).map_err(io(&path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_major_version_is_read_from_pg_dumps_line() {
        assert_eq!(
            major_of("pg_dump (PostgreSQL) 15.18 (Debian 15.18-1.pgdg120+1)"),
            Some(15)
        );
        assert_eq!(major_of("pg_dump (PostgreSQL) 9.6.24"), Some(9));
        assert_eq!(major_of("pg_dump (PostgreSQL) 17devel"), Some(17));
        assert_eq!(major_of("nonsense"), None);
    }

    #[test]
    fn file_names_say_database_operation_and_time() {
        assert_eq!(
            file_name("app", "downgrade", 1_795_590_514),
            "app-downgrade-20261125T070834Z.dump"
        );
        assert_eq!(
            file_name("we/ird name", "upgrade", 0),
            "we_ird_name-upgrade-19700101T000000Z.dump"
        );
    }

    #[test]
    fn arguments_name_each_object_exactly() {
        let c = Contents {
            schemas: vec!["business".into(), "Odd*".into()],
            other_tables: vec![("business".into(), "keep me".into())],
        };
        let args: Vec<String> = arguments(&c, Path::new("/s/x.dump"), "host='h' dbname='d'")
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--format=custom",
                "--strict-names",
                "--no-sync",
                "--file=/s/x.dump",
                "--schema=\"business\"",
                "--schema=\"Odd*\"",
                "--exclude-table-data=\"business\".\"keep me\"",
                "--dbname=host='h' dbname='d'",
            ]
        );
    }

    #[test]
    fn no_pg_dump_found_says_what_was_looked_at() {
        let e = find_pg_dump(&[PathBuf::from("/nonexistent/pg_dump")], 15).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no pg_dump of version 15 or later was found (none was given)"
        );
    }
}
